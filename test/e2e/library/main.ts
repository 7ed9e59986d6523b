/**
 * Browser page for test/e2e/library.test.ts: the library as an application uses it.
 * `window.__lib.load` runs Segmenter.load(url) on the page's own device (hub stand-in, Cache API);
 * `window.__lib.runWorker` runs Segmenter in a Web Worker (worker.ts) on a transferred
 * OffscreenCanvas and an ImageBitmap while the main thread records long tasks and frames.
 */
import { DownloadError, Segmenter, WeightError, type ImageSource, type LoadProgress } from '../../../src/index.ts';
import type { GpuFramesRun, LibraryPage, PageLoad, WorkerReply, WorkerRequest, WorkerRun } from './protocol.ts';

declare global {
  interface Window {
    __lib?: LibraryPage;
  }
}

async function load(url: string, options: { cache?: string; token?: string }): Promise<PageLoad> {
  let progress = 0;
  let lastProgress: LoadProgress | undefined;
  const token = options.token;
  const withToken: typeof fetch | undefined = token === undefined ? undefined : (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
  try {
    const seg = await Segmenter.load(url, {
      ...(options.cache === undefined ? {} : { cache: options.cache }),
      ...(withToken ? { fetch: withToken } : {}),
      onProgress: (p) => {
        progress++;
        lastProgress = { ...p };
      },
    });
    const tensors = seg.model.weights.count;
    seg.dispose();
    return { ok: true, progress, lastProgress, tensors };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    return {
      ok: false, progress, lastProgress, tensors: 0,
      error: { name: err.name, message: err.message, status: e instanceof DownloadError ? e.status : undefined, file: e instanceof WeightError ? e.file : undefined },
    };
  }
}

let worker: Worker | undefined;

function runWorker(checkpoint: string, imageUrl: string, task: WorkerRequest['task'], targetSize: [number, number]): Promise<WorkerRun> {
  return (async () => {
    const blob = await (await fetch(imageUrl)).blob();
    const image = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const el = document.getElementById('worker-canvas') as HTMLCanvasElement;
    const canvas = el.transferControlToOffscreen();
    worker ??= new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'maskgpu-worker' });
    const w = worker;

    // Main-thread responsiveness while the worker loads and segments.
    const longTasks: { start: number; duration: number }[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const t of list.getEntries()) longTasks.push({ start: t.startTime, duration: t.duration });
    });
    observer.observe({ type: 'longtask', buffered: false });
    let frames = 0;
    let lastFrame = performance.now();
    let maxFrameGapMs = 0;
    let running = true;
    const frame = (t: number): void => {
      frames++;
      maxFrameGapMs = Math.max(maxFrameGapMs, t - lastFrame);
      lastFrame = t;
      if (running) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    let maxTimerLagMs = 0;
    const probe = setInterval(() => {
      const t = performance.now();
      setTimeout(() => (maxTimerLagMs = Math.max(maxTimerLagMs, performance.now() - t)), 0);
    }, 50);

    const t0 = performance.now();
    let adapter = '';
    let progressEvents = 0;
    try {
      const result = await new Promise<Extract<WorkerReply, { kind: 'result' }>>((resolve, reject) => {
        w.onmessage = (e: MessageEvent<WorkerReply>) => {
          const m = e.data;
          if (m.kind === 'progress') progressEvents++;
          else if (m.kind === 'loaded') adapter = m.adapter;
          else if (m.kind === 'result') resolve(m);
          else if (m.kind === 'error') reject(new Error(`worker: ${m.name}: ${m.message}`));
        };
        w.onerror = (e) => reject(new Error(`worker error: ${e.message}`));
        const req: WorkerRequest = { kind: 'run', checkpoint: new URL(checkpoint, location.href).href, image, canvas, task, targetSize };
        w.postMessage(req, [image, canvas]);
      });
      const passMs = performance.now() - t0;
      // Long-task entries are delivered asynchronously; give them a moment.
      await new Promise((r) => setTimeout(r, 200));
      return { result, adapter, progressEvents, longTasks: longTasks.filter((t) => t.start >= t0 && t.start <= t0 + passMs), frames, maxFrameGapMs, maxTimerLagMs, passMs };
    } finally {
      running = false;
      clearInterval(probe);
      observer.disconnect();
    }
  })();
}

function disposeWorker(): Promise<void> {
  const w = worker;
  if (!w) return Promise.resolve();
  return new Promise<void>((resolve) => {
    w.onmessage = (e: MessageEvent<WorkerReply>) => {
      if (e.data.kind === 'disposed' || e.data.kind === 'error') {
        w.terminate();
        worker = undefined;
        resolve();
      }
    };
    w.postMessage({ kind: 'dispose' });
  });
}

/**
 * The same RGBA bytes segmented as bytes, as an ImageBitmap and as a VideoFrame (the latter two go
 * to the GPU with copyExternalImageToTexture): label maps, segments and result.image of each.
 */
async function gpuFrames(checkpoint: string, images: readonly { width: number; height: number; rgba: number[] }[]): Promise<GpuFramesRun[]> {
  const seg = await Segmenter.load(new URL(checkpoint, location.href).href);
  try {
    const runs: GpuFramesRun[] = [];
    for (const { width, height, rgba } of images) {
      const data = new Uint8ClampedArray(rgba);
      const bitmap = await createImageBitmap(new ImageData(data, width, height), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
      const frame = new VideoFrame(data, { format: 'RGBA', codedWidth: width, codedHeight: height, timestamp: 0 });
      const sources: [string, ImageSource][] = [['bytes', { width, height, data }], ['ImageBitmap', bitmap], ['VideoFrame', frame]];
      for (const [kind, source] of sources) {
        for (const task of ['panoptic', 'semantic'] as const) {
          const r = await seg.segment(source, { task });
          const map = await r.labelMap();
          const imageEqual = r.image.data.length === data.length && r.image.data.every((v, i) => v === data[i]);
          runs.push({ kind, task, width, height, labelMap: Array.from(map), segments: r.segments.map((s) => ({ id: s.id, labelId: s.labelId, score: s.score, area: s.area })), imageEqual });
        }
      }
      frame.close();
      bitmap.close();
    }
    return runs;
  } finally {
    seg.dispose();
  }
}

window.__lib = {
  load,
  gpuFrames,
  clearCache: (name) => caches.delete(name),
  runWorker,
  disposeWorker,
};
