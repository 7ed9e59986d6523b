/**
 * The npm package as a user gets it: `npm pack` (its prepack builds dist/), the tarball's file
 * list (no tests, demo or fixtures), then a fresh Vite app in a temp folder that installs the
 * tarball (`npm ci --offline`: the tarball plus maskgpu's dependencies from the npm cache, no
 * registry), imports `{ Segmenter } from 'maskgpu'` with its types (tsc on the app, strict, no
 * skipLibCheck), is built by Vite and segments the tiny fixture in Chromium, equal to HF.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import { launchChromium, serveStatic, type Chromium, type StaticServer } from './browser.ts';
import { mapDiff } from './demo-helpers.ts';
import { FIXTURES, readJson, readTensors } from '../fixture-files.ts';
import { FAMILIES } from '../../src/models/registry.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TINY = join(FIXTURES, 'mask2former/tiny');

/** What the consumer app (APP_MAIN) leaves on its window. */
type AppResult = { width: number; height: number; segments: { id: number; labelId: number; wasFused: boolean; score: number }[]; labelMap: number[]; adapter: string } | { error: string };
declare global {
  interface Window {
    __app?: AppResult;
  }
}

let work: string;
let tarball: string;
let server: StaticServer | undefined;
let chromium: Chromium | undefined;

function run(cmd: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', fail);
    child.on('close', (rc) => (rc === 0 ? ok(out) : fail(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited with ${rc}:\n${out}`))));
  });
}

interface LockEntry { version: string; integrity?: string; resolved?: string; dependencies?: Record<string, string>; [k: string]: unknown }

/**
 * A lockfile for the app: maskgpu from the tarball, its dependencies pinned to the versions and
 * integrities of this repository's lockfile, so `npm ci --offline` finds them in the npm cache.
 */
function appLockfile(pkg: { dependencies?: Record<string, string> }, tarballRef: string): unknown {
  const repoLock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, unknown> = {
    '': { name: 'maskgpu-consumer', version: '0.0.0', dependencies: { maskgpu: tarballRef } },
    'node_modules/maskgpu': { version: '0.1.0', resolved: tarballRef, dependencies: pkg.dependencies ?? {} },
  };
  const todo = Object.keys(pkg.dependencies ?? {});
  while (todo.length > 0) {
    const name = todo.pop() as string;
    const key = `node_modules/${name}`;
    if (packages[key]) continue;
    const entry = repoLock.packages[key];
    if (!entry) throw new Error(`package-lock.json has no ${key}`);
    const { dev: _dev, ...rest } = entry as LockEntry & { dev?: boolean };
    packages[key] = rest;
    todo.push(...Object.keys(entry.dependencies ?? {}));
  }
  return { name: 'maskgpu-consumer', version: '0.0.0', lockfileVersion: 3, requires: true, packages };
}

const APP_MAIN = `import { Segmenter, SegmentationView, DownloadError, type SegmentOptions, type SegmentationResult } from 'maskgpu';

declare global {
  interface Window {
    __app?: { width: number; height: number; segments: { id: number; labelId: number; wasFused: boolean; score: number }[]; labelMap: number[]; adapter: string } | { error: string };
  }
}

// Types are real: a wrong task does not compile.
// @ts-expect-error 'everything' is not a Task
const wrong: SegmentOptions = { task: 'everything' };
void wrong;

async function main(): Promise<void> {
  const canvas = document.querySelector('canvas');
  if (!canvas) throw new Error('no canvas');
  const seg: Segmenter = await Segmenter.load(new URL('./tiny/', location.href).href);
  const blob = await (await fetch('./tiny/image0.png')).blob();
  const image = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const options: SegmentOptions = { task: 'panoptic', threshold: 0.5 };
  const r: SegmentationResult = await seg.segment(image, options);
  await new SegmentationView(seg.gpu, canvas).show(seg, r, { opacity: 0.55 });
  const labelMap = Array.from(await r.labelMap());
  window.__app = { width: r.width, height: r.height, segments: r.segments.map((s) => ({ id: s.id, labelId: s.labelId, wasFused: s.wasFused, score: s.score })), labelMap, adapter: seg.gpu.adapterName };
}

main().catch((e: unknown) => {
  window.__app = { error: e instanceof DownloadError ? \`download: \${e.message}\` : e instanceof Error ? \`\${e.name}: \${e.message}\` : String(e) };
});
`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'maskgpu-package-'));
  console.log(`package test in ${work}`);
});
afterAll(async () => {
  await chromium?.close();
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('npm pack: dist, types, CLI and the embedded model; no tests, demo or fixtures', async () => {
    const t0 = performance.now();
    const out = await run('npm', ['pack', '--pack-destination', work, '--json'], REPO);
    const info = JSON.parse(out.slice(out.indexOf('[\n'))) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
    const pack = info[0];
    if (!pack) throw new Error(`npm pack printed no JSON:\n${out}`);
    tarball = join(work, pack.filename);
    const files = pack.files.map((f) => f.path).sort();
    console.log(`npm pack in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${pack.filename}, ${(pack.size / 2 ** 20).toFixed(2)} MiB packed, ${(pack.unpackedSize / 2 ** 20).toFixed(2)} MiB unpacked, ${files.length} files`);
    console.log(files.filter((f) => !f.startsWith('dist/types/')).join(', '));
    for (const f of ['package.json', 'README.md', 'bin/maskgpu.mjs', 'dist/maskgpu.js', 'dist/maskgpu.js.map', 'dist/node.js', 'dist/cli.js', 'dist/types/index.d.ts', 'dist/types/node.d.ts', 'weights/shapes/model.safetensors', 'weights/shapes/config.json']) expect(files).toContain(f);
    const unwanted = files.filter((f) => /(^|\/)(test|tests|demo|demo-dist|fixtures|bench|scripts|shaders|src)\//.test(f) || /\.test\.|examples\.json$|metrics\.json$/.test(f));
    expect(unwanted).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { description: string };
    // It names exactly the families the registry supports.
    const supported = Object.values(FAMILIES).filter((f) => f.parse !== undefined).map((f) => f.displayName);
    console.log(`description: ${pkg.description}; registry: ${supported.join(', ')}`);
    for (const name of supported) expect(pkg.description).toContain(name);
  });

  it('a fresh Vite app installs the tarball offline, typechecks against its types, builds, and segments in Chromium equal to HF', async () => {
    const app = join(work, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    mkdirSync(join(app, 'public/tiny'), { recursive: true });
    const packed = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    const ref = `file:../${tarball.split('/').pop() ?? ''}`;
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'maskgpu-consumer', private: true, version: '0.0.0', type: 'module', dependencies: { maskgpu: ref } }, null, 2)}\n`);
    writeFileSync(join(app, 'package-lock.json'), `${JSON.stringify(appLockfile(packed, ref), null, 2)}\n`);
    writeFileSync(join(app, 'index.html'), '<!doctype html>\n<html><head><meta charset="utf-8"><title>maskgpu consumer</title><link rel="icon" href="data:,"></head>\n<body><canvas width="240" height="180"></canvas><script type="module" src="/src/main.ts"></script></body></html>\n');
    writeFileSync(join(app, 'src/main.ts'), APP_MAIN);
    writeFileSync(join(app, 'tsconfig.json'), `${JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', strict: true, noEmit: true, lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [], skipLibCheck: false, isolatedModules: true },
      include: ['src'],
    }, null, 2)}\n`);
    for (const f of ['config.json', 'preprocessor_config.json', 'model.safetensors', 'image0.png']) cpSync(join(TINY, f), join(app, 'public/tiny', f));

    let t0 = performance.now();
    const installed = await run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], app);
    console.log(`npm ci --offline in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${installed.trim().split('\n').pop() ?? ''}; node_modules: ${readdirSync(join(app, 'node_modules')).join(', ')}`);
    expect(readdirSync(join(app, 'node_modules/maskgpu/dist'))).toContain('maskgpu.js');

    // The app's typecheck sees only the installed package (and the @webgpu/types it references).
    t0 = performance.now();
    await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(app, 'tsconfig.json')], app);
    console.log(`tsc on the app (strict, skipLibCheck false): clean in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    t0 = performance.now();
    await build({ root: app, configFile: false, logLevel: 'warn', build: { outDir: join(app, 'dist'), emptyOutDir: true, target: 'es2022', reportCompressedSize: false } });
    const assets = readdirSync(join(app, 'dist/assets'));
    console.log(`vite build of the app in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${assets.join(', ')}`);
    const bundle = assets.filter((a) => a.endsWith('.js')).map((a) => readFileSync(join(app, 'dist/assets', a), 'utf8')).join('\n');
    expect(bundle).toContain('@compute'); // the WGSL kernels came with the package
    expect(bundle).not.toMatch(/from ['"]node:|require\(['"]node:/);

    server = await serveStatic(join(app, 'dist'));
    chromium = await launchChromium({ extraArgs: ['--use-vulkan=swiftshader', '--use-angle=vulkan'] });
    const opened = await chromium.open(`${server.url}index.html`);
    t0 = performance.now();
    await opened.page.waitForFunction(() => window.__app !== undefined, undefined, { timeout: 300_000, polling: 500 });
    const got = await opened.page.evaluate(() => window.__app);
    if (!got || 'error' in got) throw new Error(`the app failed: ${got ? got.error : 'no result'}; page errors: ${opened.errors.join('; ')}`);
    interface SegInfo { id: number; label_id: number; was_fused: boolean; score: number }
    const post = readJson(join(TINY, 'expected_post.json')) as { post_process_panoptic_segmentation: { segments_info: SegInfo[] }[] };
    const expected = (await readTensors(join(TINY, 'expected.safetensors'))).get('post_process_panoptic_segmentation.0.segmentation');
    if (!expected) throw new Error('fixture has no panoptic map');
    const diff = mapDiff(got.labelMap, expected.data as Int32Array);
    const info = post.post_process_panoptic_segmentation[0]?.segments_info ?? [];
    const scoreErr = Math.max(0, ...got.segments.map((s, k) => Math.abs(s.score - (info[k]?.score ?? Number.NaN))));
    console.log(`the app in Chromium ('${got.adapter}'): load + panoptic in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${diff} of ${got.width * got.height} pixels differ from HF, ${got.segments.length} segments, max score error ${scoreErr.toExponential(2)}`);
    expect([got.height, got.width]).toEqual(expected.shape);
    expect(1 - diff / (got.width * got.height)).toBeGreaterThanOrEqual(0.999);
    expect(got.segments.map((s) => ({ id: s.id, label_id: s.labelId, was_fused: s.wasFused }))).toEqual(info.map((s) => ({ id: s.id, label_id: s.label_id, was_fused: s.was_fused })));
    expect(scoreErr).toBeLessThanOrEqual(1e-5);
    expect(opened.errors.filter((e) => !/model\.safetensors net::ERR_ABORTED$/.test(e))).toEqual([]);
  });
});
