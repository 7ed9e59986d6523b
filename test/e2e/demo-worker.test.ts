/**
 * The demo page with the model in a Web Worker (`?worker`): the page transfers its WebGPU canvas
 * to demo/model-worker.ts, which loads the checkpoint, segments and draws; the page keeps the UI.
 *  - shapes example-0 (panoptic, label_ids_to_fuse [1, 2]) equals HF (weights/shapes/examples.json);
 *  - the main thread's long tasks and animation frames during two passes (the first compiles the
 *    kernels) are measured: no long task over 500 ms, long tasks under 5% of the pass, frames come;
 *  - the transferred canvas shows the overlay, hover hit-testing works from the label map sent back;
 *  - the same image with the model on the main thread gives the same segments (and its long
 *    tasks are printed beside the worker's, for comparison: WebGPU work runs in Chromium's GPU
 *    process in both modes, so what the worker takes off the main thread is maskgpu's JS work).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serveStatic, type Chromium, type OpenedPage, type StaticServer } from './browser.ts';
import { buildDemoSite } from './demo-helpers.ts';
import type { MaskgpuHooks, SegmentReport } from '../../demo/test-hooks.ts';
import { readJson } from '../fixture-files.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SITE = join(REPO, 'out/e2e-demo-worker/site');
const SHOTS = join(REPO, 'out/e2e');
const CANVAS_FLAGS = ['--use-vulkan=swiftshader', '--use-angle=vulkan'];
/** Upper bound for the page's longest main-thread task while the worker runs a pass (see the test). */
const LONGEST_TASK_MS = 500;

interface Probe { long: number[]; scripts: string[]; frames: number; maxGap: number; last: number; stop: boolean }
/** Long Animation Frames API entries (Chromium 123+), for what ran in a long frame. */
interface LoafScript { invoker: string; sourceURL: string; sourceFunctionName: string; duration: number }
declare global {
  interface Window {
    __pageProbe?: Probe;
  }
}

let server: StaticServer | undefined;
let chromium: Chromium | undefined;
let workerSegments: SegmentReport['segments'] | undefined;

beforeAll(async () => {
  const t0 = performance.now();
  await buildDemoSite(REPO, SITE);
  server = await serveStatic(SITE);
  chromium = await launchChromium({ extraArgs: CANVAS_FLAGS });
  mkdirSync(SHOTS, { recursive: true });
  console.log(`built the demo into ${SITE} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});
afterAll(async () => {
  await chromium?.close();
  await server?.close();
});

async function openDemo(query: string): Promise<OpenedPage> {
  if (!chromium || !server) throw new Error('not started');
  const opened = await chromium.open(`${server.url}index.html?${query}`);
  await opened.page.waitForFunction(() => window.__maskgpu !== undefined, undefined, { timeout: 60_000 });
  await opened.page.evaluate(() => (window.__maskgpu as MaskgpuHooks).ready);
  return opened;
}

/** Long tasks and frames on the page's main thread while `run` goes on. */
async function probe<T>(page: OpenedPage['page'], run: () => Promise<T>): Promise<{ value: T; long: number[]; scripts: string[]; frames: number; maxGap: number; ms: number }> {
  await page.evaluate(() => {
    const p: Probe = { long: [], scripts: [], frames: 0, maxGap: 0, last: performance.now(), stop: false };
    window.__pageProbe = p;
    new PerformanceObserver((list) => {
      if (!p.stop) for (const e of list.getEntries()) p.long.push(e.duration);
    }).observe({ type: 'longtask' });
    // Which scripts ran in the long frames (attribution the longtask entries do not give).
    if (PerformanceObserver.supportedEntryTypes.includes('long-animation-frame')) {
      new PerformanceObserver((list) => {
        if (p.stop) return;
        for (const e of list.getEntries()) {
          for (const sc of ((e as unknown as { scripts?: LoafScript[] }).scripts ?? [])) {
            if (sc.duration >= 50) p.scripts.push(`${sc.duration.toFixed(0)} ms ${sc.invoker} ${sc.sourceFunctionName || ''} ${sc.sourceURL.split('/').pop() ?? ''}`.trim());
          }
        }
      }).observe({ type: 'long-animation-frame' });
    }
    const frame = (t: number): void => {
      p.frames++;
      p.maxGap = Math.max(p.maxGap, t - p.last);
      p.last = t;
      if (!p.stop) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  const t0 = performance.now();
  const value = await run();
  const ms = performance.now() - t0;
  await page.waitForTimeout(200); // long-task entries arrive after the task
  const p = await page.evaluate(() => {
    const q = window.__pageProbe as Probe;
    q.stop = true;
    return { long: q.long, scripts: q.scripts, frames: q.frames, maxGap: q.maxGap };
  });
  return { value, ...p, ms };
}

const segmentExample = (page: OpenedPage['page']): Promise<SegmentReport> =>
  page.evaluate(() => (window.__maskgpu as MaskgpuHooks).segmentUrl('./shapes/example-0.png', { task: 'panoptic', label_ids_to_fuse: [1, 2] }));

/**
 * Page errors less Chromium's spurious `requestfailed ERR_ABORTED` for a fully read weight stream
 * (playwright#42742; see demo.test.ts): the loads themselves are checked by the results.
 */
const errorsOf = (o: OpenedPage): string[] => o.errors.filter((e) => !/^requestfailed: \S+\/model\.safetensors net::ERR_ABORTED$/.test(e));

const fmt = (name: string, r: { long: number[]; scripts: string[]; frames: number; maxGap: number; ms: number }): string =>
  `${name}: ${(r.ms / 1000).toFixed(1)} s; main thread: ${r.long.length} long task(s), longest ${Math.max(0, ...r.long).toFixed(0)} ms, total ${r.long.reduce((a, b) => a + b, 0).toFixed(0)} ms; ${r.frames} frames, longest gap ${r.maxGap.toFixed(0)} ms; scripts >= 50 ms in long frames: ${r.scripts.join('; ') || 'none'}`;

describe('demo page with the model in a Web Worker', () => {
  it('segments example-0 equal to HF in the worker; the main thread stays responsive; canvas and hover work', async () => {
    const opened = await openDemo('worker&test');
    const { page } = opened;
    const adapter = await page.locator('#adapter').innerText();
    console.log(`adapter: '${adapter}'; link: '${await page.locator('#worker-mode').innerText()}'`);
    expect(adapter).toMatch(/\(model in a Web Worker\)$/);
    expect(await page.locator('#webcam').isDisabled()).toBe(true);

    const first = await probe(page, () => segmentExample(page));
    const second = await probe(page, () => segmentExample(page));
    console.log(fmt('worker, first pass (compiles kernels)', first));
    console.log(fmt('worker, second pass', second));
    const hf = (readJson(join(REPO, 'weights/shapes/examples.json')) as { file: string; hf_panoptic: { label: string; score: number; area: number }[] }[]).find((e) => e.file === 'example-0.png')?.hf_panoptic ?? [];
    const segs = second.value.segments;
    expect(segs.map((s) => s.label)).toEqual(hf.map((s) => s.label));
    const scoreErr = Math.max(...segs.map((s, i) => Math.abs((s.score ?? Number.NaN) - (hf[i]?.score ?? Number.NaN))));
    const areaErr = Math.max(...segs.map((s, i) => Math.abs(s.area - (hf[i]?.area ?? Number.NaN)) / (hf[i]?.area ?? Number.NaN)));
    console.log(`worker vs HF: ${segs.length} segments, max score error ${scoreErr.toExponential(2)} (tol 1e-4), max area error ${(100 * areaErr).toFixed(3)}% (tol 1%)`);
    expect(scoreErr).toBeLessThanOrEqual(1e-4);
    expect(areaErr).toBeLessThanOrEqual(0.01);
    expect(first.value.segments).toEqual(second.value.segments);
    workerSegments = segs;
    // Responsive: no main-thread task near a pass's length, and long tasks a small share of it. On a
    // CPU adapter SwiftShader saturates the cores, which stretches whatever the main thread runs
    // (image decoding, DOM updates): measured 57-394 ms for the longest task over four runs, the
    // longest on the first pass, attributed to the page's handling of the first result.
    for (const r of [first, second]) {
      expect(Math.max(0, ...r.long)).toBeLessThan(LONGEST_TASK_MS);
      expect(r.long.reduce((a, b) => a + b, 0) / r.ms).toBeLessThan(0.05);
      expect(r.frames).toBeGreaterThan(5);
    }

    // The transferred canvas shows the overlay; hover finds a segment from the label map sent back.
    const shot = PNG.sync.read(await page.locator('#gpu-canvas').screenshot({ path: join(SHOTS, 'demo-worker-canvas.png') }));
    const colours = new Set<number>();
    for (let i = 0; i < shot.data.length; i += 4) colours.add(shot.data.readUInt32BE(i));
    const box = await page.locator('#stage').boundingBox();
    if (!box) throw new Error('no #stage');
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForSelector('#tooltip:not([hidden])', { timeout: 10_000 });
    const tooltip = await page.locator('#tooltip').innerText();
    console.log(`worker canvas screenshot ${shot.width}x${shot.height}: ${colours.size} colours; tooltip at the centre: '${tooltip.replace(/\s+/g, ' ')}'; legend: ${(await page.locator('#legend li .name').allInnerTexts()).join(', ')}`);
    expect(colours.size).toBeGreaterThan(8);
    expect(tooltip).toMatch(/sky|ground|object/);
    expect(errorsOf(opened)).toEqual([]);
    await page.close();
  });

  it('the model on the main thread gives the same segments (long tasks printed for comparison)', async () => {
    expect(workerSegments, 'the worker test ran').toBeDefined();
    const opened = await openDemo('test');
    const { page } = opened;
    const first = await probe(page, () => segmentExample(page));
    const second = await probe(page, () => segmentExample(page));
    console.log(fmt('main thread, first pass (compiles kernels)', first));
    console.log(fmt('main thread, second pass', second));
    expect(second.value.segments).toEqual(workerSegments);
    expect(errorsOf(opened)).toEqual([]);
    await page.close();
  });
});
