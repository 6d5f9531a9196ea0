/**
 * What the bindings may pull in: the core entry points never reach React, the bindings or
 * the inspector; the inspector's tiny entry reaches none of its views, CodeMirror or uPlot;
 * the inspector reaches CodeMirror and uPlot only through `import()`, when the views that
 * need them open. Checked on the static import graph of the sources.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The static imports of a file (`import … from`, `export … from`), resolved when relative. */
function staticImports(file: string): string[] {
  // Without comments: an @example's import is not one.
  const text = readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...text.matchAll(/^\s*(?:import|export)\s(?!type\s)[^'";]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)].map((m) => {
    const spec = m[1] ?? m[2]!;
    return spec.startsWith('.') ? relative(root, normalize(join(root, dirname(file), spec))) : spec;
  });
}

/** Every module a file reaches through static imports (packages by name). */
function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (file.endsWith('.ts')) todo.push(...staticImports(file));
  }
  return seen;
}

const heavy = (m: string): boolean => m === 'react' || m.startsWith('react/') || m.startsWith('react-dom') || m.startsWith('@codemirror/') || m === 'uplot';

describe('binding boundaries', () => {
  it.each(['src/client/index.ts', 'worker/index.ts', 'src/core/index.ts'])('%s reaches no React, bindings or inspector', (entry) => {
    const reached = [...closure(entry)];
    expect(reached.length).toBeGreaterThan(3);
    expect(reached.filter((m) => heavy(m) || m.startsWith('src/react/') || m.startsWith('src/devtools/'))).toEqual([]);
  });

  it('the inspector’s entry is tiny: none of its views, CodeMirror or uPlot', () => {
    const reached = [...closure('src/devtools/index.ts')].filter((m) => !m.startsWith('src/core/') && !m.startsWith('src/client/'));
    expect(reached.filter((m) => heavy(m) || m.includes('/views/') || m.endsWith('inspector-app.ts'))).toEqual([]);
    expect(reached.sort()).toEqual(['src/devtools/index.ts', 'src/devtools/inspector-element.ts', 'src/devtools/mount-inspector.ts']);
  });

  it('the inspector loads CodeMirror and uPlot only with import(), from the views that need them', () => {
    const app = [...closure('src/devtools/inspector-app.ts')];
    expect(app).toContain('src/devtools/views/sql-view.ts');
    expect(app.filter(heavy)).toEqual([]);
    expect([...closure('src/devtools/sql-editor.ts')].some((m) => m.startsWith('@codemirror/'))).toBe(true);
    expect([...closure('src/devtools/commit-chart.ts')]).toContain('uplot');
  });

  it('the React bindings import React, and nothing of the inspector', () => {
    const reached = [...closure('src/react/index.ts')];
    expect(reached).toContain('react');
    expect(reached.filter((m) => m.startsWith('src/devtools/') || m.startsWith('@codemirror/') || m === 'uplot')).toEqual([]);
  });
});
