/**
 * Segmenter inside a dedicated Web Worker: the page transfers an OffscreenCanvas and an
 * ImageBitmap; the worker loads the checkpoint, segments, draws the result on the transferred
 * canvas with SegmentationView and posts the segments and the label map back. The Segmenter stays
 * alive (the canvas keeps showing the result) until the page sends `dispose`.
 */
import { SegmentationView, Segmenter } from '../../../src/index.ts';
import type { WorkerDispose, WorkerReply, WorkerRequest } from './protocol.ts';

const post = (m: WorkerReply, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(m, transfer);
let live: { seg: Segmenter; view: SegmentationView } | undefined;

async function run(req: WorkerRequest): Promise<void> {
  const t0 = performance.now();
  const seg = await Segmenter.load(req.checkpoint, { onProgress: (progress) => post({ kind: 'progress', progress }) });
  try {
    post({ kind: 'loaded', adapter: seg.gpu.adapterName, ms: performance.now() - t0 });
    const r = await seg.segment(req.image, { task: req.task, targetSize: req.targetSize });
    const view = new SegmentationView(seg.gpu, req.canvas);
    await view.show(seg, r, { opacity: 0.55, borders: true });
    const labelMap = (await r.labelMap()).slice();
    await seg.gpu.device.queue.onSubmittedWorkDone();
    live = { seg, view };
    post({
      kind: 'result', width: r.width, height: r.height, segments: r.segments, labelMap, timings: r.timings,
      canvas: { width: req.canvas.width, height: req.canvas.height }, scope: self.constructor.name,
    }, [labelMap.buffer]);
  } catch (e) {
    seg.dispose();
    throw e;
  } finally {
    req.image.close();
  }
}

self.addEventListener('message', (e: MessageEvent<WorkerRequest | WorkerDispose>) => {
  const m = e.data;
  const job = m.kind === 'run' ? run(m) : Promise.resolve().then(() => {
    live?.view.dispose();
    live?.seg.dispose();
    live = undefined;
    post({ kind: 'disposed' });
  });
  job.catch((err: unknown) => post({ kind: 'error', name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) }));
});
