/**
 * The import rules of the layout (README "Layout"), checked in `npm test` by
 * dependency-cruiser: no cycles, and no layer importing one above it or beside it.
 *
 *   core  <-  protocol  <-  sync  <-  client, worker, server
 *     ^
 *   domain  <-  client                         (react and devtools sit on the client)
 *
 *   storage (the device storages an in-memory engine is kept in: IndexedDB) sits on core,
 *   and is used by the worker and by the client's in-process store (shared and service workers).
 */
const layer = (name, allowed) => ({
  name: `${name}-imports-only-${allowed.join('-')}`,
  comment: `${name} may import only ${allowed.join(', ')} (and npm packages)`,
  severity: 'error',
  from: { path: `^src/${name}/` },
  to: { path: '^(src|worker|server)/', pathNot: allowed.map((a) => `^src/${a}/`) },
});

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'Modules form no import cycle, types included', from: {}, to: { circular: true } },
    layer('core', ['core']),
    layer('protocol', ['core', 'protocol']),
    layer('sync', ['core', 'protocol', 'sync']),
    layer('domain', ['core', 'domain']),
    layer('storage', ['core', 'storage']),
    layer('client', ['core', 'protocol', 'domain', 'sync', 'storage', 'client']),
    layer('react', ['core', 'client', 'react']),
    layer('devtools', ['core', 'client', 'devtools']),
    {
      name: 'worker-imports-no-page-code',
      comment: 'The worker runtime imports the core, the protocol and sync, never the page side or the server',
      severity: 'error',
      from: { path: '^worker/' },
      to: { path: '^(src/(client|domain|react|devtools)|server)/' },
    },
    {
      name: 'server-imports-no-browser-code',
      comment: 'The server imports the core, the protocol and sync, never the page side or the worker',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^(src/(client|domain|react|devtools)|worker)/' },
    },
    {
      name: 'browser-code-imports-no-node',
      comment: 'What ships to browsers never imports Node built-ins or server drivers',
      severity: 'error',
      from: { path: '^(src|worker)/' },
      to: { dependencyTypes: ['core'], path: '^(node:|fs$|path$|http$|crypto$|child_process$)' },
    },
    {
      name: 'browser-code-imports-no-server-drivers',
      severity: 'error',
      from: { path: '^(src|worker)/' },
      to: { path: 'node_modules/(pg|pg-[a-z-]+|@electric-sql/pglite)/' },
    },
    {
      name: 'shipped-code-imports-no-tests',
      severity: 'error',
      from: { path: '^(src|worker|server)/' },
      to: { path: '^(test|bench|demo|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
