// Module hooks that let a Node process run the server from its TypeScript sources, before any
// build exists (the crash and CLI tests run bin/cairndb-server as a real process, and
// `npm run demo:sync` starts the server beside the playground):
// `cairndb/server` resolves to server/index.ts, and .ts files are transpiled (types erased)
// with the project's own TypeScript compiler.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const entry = new URL('../server/index.ts', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === 'cairndb/server') return { url: entry, shortCircuit: true };
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const source = await readFile(fileURLToPath(url), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: fileURLToPath(url),
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2023,
      verbatimModuleSyntax: true,
      sourceMap: false,
    },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
