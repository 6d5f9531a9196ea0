/**
 * The packed package, installed the way a user installs it: `npm pack` of the repository,
 * then `npm install <tarball>` into scratch apps in a temporary folder outside the
 * repository, next to the bundlers the apps use. The installs share the machine's npm
 * cache (the repository's own `npm ci` filled it), so they take seconds.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository's root. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** What `npm pack` produced. */
export interface Packed {
  tarball: string;
  /** Bytes of the .tgz. */
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

/** A scratch folder with every app and the installed package. */
export interface Scratch {
  root: string;
  packed: Packed;
  /** The folder of one app. */
  app(name: string): string;
  /** Runs a command in an app's folder (or the root), failing with its output. */
  exec(cwd: string, command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string>;
  remove(): void;
}

/** Packs the repository, installs the tarball into a fresh scratch folder and copies the apps there. */
export async function prepareScratch(): Promise<Scratch> {
  const root = mkdtempSync(join(tmpdir(), 'cairn-scratch-'));
  // `npm pack` runs the `prepack` script, which builds dist/ from scratch.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', root], { cwd: REPO, maxBuffer: 32 << 20 });
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
    filename: string;
    size: number;
    unpackedSize: number;
    files: { path: string; size: number }[];
  }[];
  const packed: Packed = {
    tarball: join(root, info!.filename),
    size: info!.size,
    unpackedSize: info!.unpackedSize,
    files: info!.files.map((f) => ({ path: f.path, size: f.size })),
  };
  cpSync(fileURLToPath(new URL('./apps', import.meta.url)), root, { recursive: true });
  // The bundlers at the repository's own versions, so the install is served from the cache.
  const dev = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> })
    .devDependencies;
  const pick = (name: string): string => {
    const version = dev[name];
    if (version === undefined) throw new Error(`package.json has no devDependency ${name}`);
    return version;
  };
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify(
      {
        name: 'cairn-scratch',
        private: true,
        type: 'module',
        dependencies: {
          cairndb: `file:./${info!.filename}`,
          vite: pick('vite'),
          webpack: pick('webpack'),
          'webpack-cli': pick('webpack-cli'),
          typescript: pick('typescript'),
          react: pick('react'),
          'react-dom': pick('react-dom'),
        },
      },
      null,
      2,
    ),
  );
  const exec = async (cwd: string, command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> => {
    try {
      // Playwright forces colours in its workers; the apps' output is read as plain text.
      const out = await run(command, args, { cwd, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...env }, maxBuffer: 32 << 20 });
      return out.stdout + out.stderr;
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${err.stdout ?? ''}${err.stderr ?? ''}\n${err.message}`);
    }
  };
  await exec(root, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']);
  const quickstart = readmeQuickStart();
  writeFileSync(join(root, 'vite-quickstart', 'quickstart.ts'), quickstart);
  writeFileSync(join(root, 'webpack-quickstart', 'src', 'quickstart.js'), quickstart);
  writeFileSync(join(root, 'node', 'quickstart.js'), quickstart);
  return {
    root,
    packed,
    app: (name) => join(root, name),
    exec,
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** The first code block of the README's "Quick start" section. */
export function readmeQuickStart(): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (match === null) throw new Error('The README has no Quick start code block');
  return match[1]!;
}

/** A dev or preview server of an app, started as a user would from its folder. */
export interface AppServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts `vite` (dev) or `vite preview` in an app's folder on a free port of 127.0.0.1. */
export async function startVite(cwd: string, mode: 'dev' | 'preview'): Promise<AppServer> {
  const bin = join(cwd, '..', 'node_modules', '.bin', 'vite');
  const args = mode === 'dev' ? ['--host', '127.0.0.1', '--port', '0', '--strictPort'] : ['preview', '--host', '127.0.0.1', '--port', '0'];
  // Port 0 is not accepted by every vite command: ask the OS for a free port first.
  const port = await freePort();
  args[args.indexOf('0')] = String(port);
  const child = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`vite ${mode} did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      // eslint-disable-next-line no-control-regex
      const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
      const found = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(plain);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`vite ${mode} exited with ${code}:\n${output}`)));
  });
  return { url, stop: () => stopChild(child) };
}

/** Serves a built folder as plain static files from 127.0.0.1 (what any static host does). */
export async function serveStatic(dir: string): Promise<AppServer> {
  const types: Record<string, string> = {
    '.html': 'text/html',
    '.js': 'text/javascript',
    '.mjs': 'text/javascript',
    '.wasm': 'application/wasm',
    '.json': 'application/json',
  };
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The `node` binary of a given major version: this one if it matches, else the official
 * build from the npm registry (the `node-<platform>-<arch>` package), kept in `.cache/`.
 */
export async function nodeBinary(major: number): Promise<string> {
  if (Number(process.versions.node.split('.')[0]) === major) return process.execPath;
  const pkg = `node-${process.platform}-${process.arch}`;
  const prefix = join(REPO, '.cache', `node${major}`);
  const bin = join(prefix, 'node_modules', pkg, 'bin', 'node');
  try {
    const { stdout } = await run(bin, ['--version']);
    if (stdout.startsWith(`v${major}.`)) return bin;
  } catch {
    // Not there yet.
  }
  await run('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `${pkg}@${major}`], {
    cwd: REPO,
  });
  return bin;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address !== null && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    // Already gone.
  }
  await exited;
}
