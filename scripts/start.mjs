#!/usr/bin/env node
// `npm start`: segments the embedded model's first example with the CLI. The CLI runs from the
// Vite-built dist/, so the library is built first, but only when dist/ is missing or older than
// a source file (WGSL is inlined at build time), and without type declarations (`npm run
// build:lib` adds those): the JavaScript build takes about a second, the declarations several.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'dist', 'cli.js');

/** Newest modification time under `dir` (files only), 0 when it does not exist. */
function newest(dir) {
  if (!existsSync(dir)) return 0;
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const sources = Math.max(
  newest(join(root, 'src')),
  newest(join(root, 'shaders')),
  ...['vite.config.ts', 'package.json', 'package-lock.json'].map((f) => statSync(join(root, f)).mtimeMs),
);
if (!existsSync(built) || statSync(built).mtimeMs < sources) {
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const args = ['segment', '--image', 'weights/shapes/example-0.png', '--task', 'panoptic', '--fuse', '1,2', '--out-dir', 'out', ...process.argv.slice(2)];
process.chdir(root);
const { main } = await import(new URL('../dist/cli.js', import.meta.url).href);
process.exitCode = await main(args);
