/**
 * The PGlite worker of the pglite target, as PGlite's documentation writes one: `worker()`
 * from `@electric-sql/pglite/worker` with an `init` that creates the database on the data
 * directory the page asks for (`opfs-ahp://…`, OPFS through sync access handles).
 */
import { PGlite } from '@electric-sql/pglite';
import { worker } from '@electric-sql/pglite/worker';

void worker({
  async init(options) {
    return new PGlite(options.dataDir);
  },
});
