/**
 * Browser page for test/e2e/library.test.ts: the library as an application uses it.
 * `window.__lib.load` runs Segmenter.load(url) on the page's own device (hub stand-in, Cache API);
 * `window.__lib.runWorker` runs Segmenter in a Web Worker (worker.ts) on a transferred
 * OffscreenCanvas and an ImageBitmap while the main thread records long tasks and frames.
 */
import { DownloadError, Segmenter, WeightError, type LoadProgress } from '../../../src/index.ts';
import type { LibraryPage, PageLoad, WorkerReply, WorkerRequest, WorkerRun } from './protocol.ts';

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

window.__lib = {
  load,
  clearCache: (name) => caches.delete(name),
  runWorker,
  disposeWorker,
};
