/**
 * The demo's model worker (`?worker`): the Segmenter and the SegmentationView live here, on a
 * device of the worker's own, drawing on the page's transferred canvas; the page keeps the UI and
 * gets back segments and label maps. Requests run one at a time, in the order they came.
 */
import { SegmentationView, Segmenter, requestGpu, type GpuContext, type SegmentationResult } from '../src/index.ts';
import { copyMatrix, type ExportReply, type InitReply, type LoadReply, type ModelReply, type ModelRequest, type SegmentReply } from './model-protocol.ts';

const post = (m: ModelReply, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(m, transfer);

let gpu: GpuContext | undefined;
let view: SegmentationView | undefined;
let seg: Segmenter | undefined;
let last: SegmentationResult | undefined;

function need<T>(x: T | undefined, what: string): T {
  if (x === undefined) throw new Error(`model worker: ${what} first`);
  return x;
}

async function handle(m: ModelRequest): Promise<{ value: InitReply | LoadReply | SegmentReply | ExportReply | null; transfer?: Transferable[] }> {
  switch (m.kind) {
    case 'init': {
      gpu = await requestGpu();
      view = new SegmentationView(gpu, m.canvas);
      return { value: { adapter: gpu.adapterName, description: gpu.adapterInfo.description, timestampQuery: gpu.features.timestampQuery } };
    }
    case 'load': {
      const g = need(gpu, 'init');
      const next = await Segmenter.load(m.source, { gpu: g, profile: g.features.timestampQuery, ...(m.cache ? { cache: true } : {}), onProgress: (progress) => post({ id: m.id, kind: 'progress', progress }) });
      view?.clear();
      seg?.dispose();
      seg = next;
      last = undefined;
      return { value: { labels: next.labels, tensors: next.model.weights.count, bytes: next.model.weights.bytes } };
    }
    case 'segment': {
      const s = need(seg, 'load');
      const r = m.again ? await s.resegment(m.options) : await s.segment(m.image, m.options);
      if (m.show) await need(view, 'init').show(s, r, m.style);
      const labelMap = (await r.labelMap()).slice();
      last = r;
      const value: SegmentReply = {
        task: r.task, width: r.width, height: r.height, background: r.background, segments: r.segments, timings: r.timings, labelMap,
        matrix: Array.from(need(view, 'init').view.matrix),
      };
      return { value, transfer: [labelMap.buffer] };
    }
    case 'restyle': {
      if (seg && last) await need(view, 'init').show(seg, last, m.style);
      return { value: null };
    }
    case 'draw': {
      const v = need(view, 'init');
      const canvas = v.canvas;
      if (canvas.width !== m.width || canvas.height !== m.height) {
        canvas.width = m.width;
        canvas.height = m.height;
      }
      copyMatrix(v.view.matrix, m.matrix);
      v.view.pan(0, 0); // recomputes the inverse the shader draws with
      v.draw();
      return { value: null };
    }
    case 'export': {
      const r = need(last, 'segment');
      const img = m.what === 'overlay' ? await r.overlay(m.style) : await r.labelImage();
      const data = new Uint8ClampedArray(img.data);
      const value: ExportReply = { width: img.width, height: img.height, data };
      return { value, transfer: [data.buffer] };
    }
  }
}

let chain: Promise<void> = Promise.resolve();
self.addEventListener('message', (e: MessageEvent<ModelRequest>) => {
  const m = e.data;
  chain = chain.then(() =>
    handle(m).then(
      ({ value, transfer }) => post({ id: m.id, kind: 'done', value }, transfer ?? []),
      (err: unknown) => post({ id: m.id, kind: 'error', name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) }),
    ),
  );
});
