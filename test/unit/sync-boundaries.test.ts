/**
 * What may import what: the browser side never reaches the server (nor pg or PGlite), and
 * the sync protocol stays free of Node so that the worker can import it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

function imports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? m[2]!);
}

describe('import boundaries', () => {
  it('nothing under src/ or worker/ imports the server, pg or PGlite', () => {
    const offenders: string[] = [];
    for (const file of [...sources('src'), ...sources('worker')]) {
      for (const spec of imports(file)) {
        if (/(^|\/)server\//.test(spec) || spec === 'pg' || spec.startsWith('@electric-sql/pglite') || spec === 'cairndb/server') {
          offenders.push(`${file} imports ${spec}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the sync protocol imports nothing of Node', () => {
    const files = sources('src/sync');
    expect(files.length).toBeGreaterThan(0);
    const offenders = files.flatMap((file) => imports(file).filter((s) => s.startsWith('node:')).map((s) => `${file} imports ${s}`));
    expect(offenders).toEqual([]);
  });
});
