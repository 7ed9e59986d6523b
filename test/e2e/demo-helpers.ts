/**
 * Helpers for test/e2e/demo.test.ts: build the demo site (vite --mode demo) with the fixture
 * checkpoints beside it, build and run the Node CLI for comparison, decode PNGs, compare maps.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { build } from 'vite';

/**
 * `vite build --mode demo` into `outDir` (not demo-dist/, so a test run leaves the real build
 * alone), plus test/fixtures/mask2former/* under `outDir/fixtures/` and test/fixtures/maskformer
 * under `outDir/fixtures/maskformer/`.
 */
export async function buildDemoSite(repo: string, outDir: string): Promise<void> {
  await build({ configFile: join(repo, 'vite.config.ts'), mode: 'demo', logLevel: 'warn', build: { outDir, emptyOutDir: true, reportCompressedSize: false } });
  mkdirSync(join(outDir, 'fixtures'), { recursive: true });
  cpSync(join(repo, 'test/fixtures/mask2former'), join(outDir, 'fixtures'), { recursive: true });
  cpSync(join(repo, 'test/fixtures/maskformer'), join(outDir, 'fixtures/maskformer'), { recursive: true });
}

export interface CliRun {
  readonly json: unknown;
  readonly stdout: string;
  readonly seconds: number;
}

/**
 * `vite build` (the library + CLI, as `npx vite build` does, but into `outDir` instead of the
 * shared dist/), then `maskgpu segment ...` in a child Node process on Dawn + SwiftShader.
 */
export async function runCli(repo: string, outDir: string, args: readonly string[], jsonPath: string): Promise<CliRun> {
  const t0 = performance.now();
  await build({ configFile: join(repo, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true, reportCompressedSize: false } });
  const cli = pathToFileURL(join(outDir, 'cli.js')).href;
  const code = 'const { main } = await import(process.argv[1]); process.exitCode = await main(process.argv.slice(2));';
  const env = { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json', XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
  const stdout = await new Promise<string>((ok, fail) => {
    // One image: its NAME-segments.json lands in the --out-dir; jsonPath is that file's copy.
    const child = spawn(process.execPath, ['--input-type=module', '-e', code, cli, 'segment', ...args, '--out-dir', `${jsonPath}.out`], { cwd: repo, env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', fail);
    child.on('close', (rc) => (rc === 0 ? ok(out) : fail(new Error(`maskgpu CLI exited with ${rc}:\n${out}`))));
  });
  const image = args[args.indexOf('--image') + 1] ?? '';
  copyFileSync(join(`${jsonPath}.out`, `${basename(image, extname(image))}-segments.json`), jsonPath);
  return { json: JSON.parse(readFileSync(jsonPath, 'utf8')) as unknown, stdout, seconds: (performance.now() - t0) / 1000 };
}

export function decodePng(bytes: Buffer): { width: number; height: number; data: Buffer } {
  const png = PNG.sync.read(bytes);
  return { width: png.width, height: png.height, data: png.data };
}

/** Pixels that differ between two label maps. */
export function mapDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`label maps of ${a.length} and ${b.length} pixels`);
  let diff = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
  return diff;
}

/** 2D affine part of a column-major gl-matrix mat3 applied to (x, y). */
export function apply(m: readonly number[], x: number, y: number): [number, number] {
  return [(m[0] as number) * x + (m[3] as number) * y + (m[6] as number), (m[1] as number) * x + (m[4] as number) * y + (m[7] as number)];
}
