/**
 * Test hooks of the demo page, loaded only with `?test` in the URL (test/e2e/demo.test.ts):
 * `window.__maskgpu` drives the page (load a checkpoint, segment an image URL through the same
 * path as the UI), reads back what it shows, counts live GPU buffers, and runs a batch through
 * SegmentationModel + PostProcessor directly (the public Segmenter takes one image at a time, while the
 * HF fixtures post-processed their batch together).
 */
import { SegmentationModel, PostProcessor, checkpointFromUrl, type ImageSegmentation, type Task } from '../src/index.ts';
import { rgbaFromUrl } from './images.ts';
import type { Controls, DemoApp, DemoResult } from './state.ts';
import { generateShapes } from './shapes-generator.ts';

export interface BufferTracker {
  live(): LiveBuffers;
}

export interface LiveBuffers {
  readonly count: number;
  readonly bytes: number;
  /** Live buffers per label (numbers stripped), for diagnosing a leak. */
  readonly byLabel?: Readonly<Record<string, number>>;
}

/**
 * Counts buffers created and not yet destroyed, by wrapping GPUDevice.prototype.createBuffer and
 * GPUBuffer.prototype.destroy. Must run before any device creates a buffer.
 */
export function trackBuffers(): BufferTracker | undefined {
  if (typeof GPUDevice === 'undefined' || typeof GPUBuffer === 'undefined') return undefined;
  const live = new Map<GPUBuffer, { size: number; label: string }>();
  const create = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function createBuffer(this: GPUDevice, descriptor: GPUBufferDescriptor): GPUBuffer {
    const b = create.call(this, descriptor);
    live.set(b, { size: descriptor.size, label: descriptor.label ?? '' });
    return b;
  };
  const destroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function destroyBuffer(this: GPUBuffer): undefined {
    live.delete(this);
    return destroy.call(this);
  };
  return {
    live: () => {
      let bytes = 0;
      const byLabel: Record<string, number> = {};
      for (const { size, label } of live.values()) {
        bytes += size;
        const key = label.replace(/\d+/g, '#');
        byLabel[key] = (byLabel[key] ?? 0) + 1;
      }
      return { count: live.size, bytes, byLabel };
    },
  };
}

export interface SegmentUrlOptions {
  readonly task?: Task;
  readonly threshold?: number;
  readonly mask_threshold?: number;
  readonly overlap_mask_area_threshold?: number;
  readonly label_ids_to_fuse?: readonly number[];
  readonly targetSize?: readonly [number, number];
  /** Return the label map (row-major ids). */
  readonly labelMap?: boolean;
  /** Present the result on the page (default true). */
  readonly show?: boolean;
}

export interface SegmentJson {
  readonly id: number;
  readonly labelId: number;
  readonly label: string;
  /** null for semantic (NaN does not survive JSON). */
  readonly score: number | null;
  readonly wasFused: boolean;
  readonly area: number;
  readonly cx: number | null;
  readonly cy: number | null;
}

export interface SegmentReport {
  readonly task: Task;
  readonly width: number;
  readonly height: number;
  readonly background: number;
  readonly segments: SegmentJson[];
  readonly labelMap?: number[];
  readonly timings: Record<string, number>;
  readonly adapter: string;
}

export interface BatchReport {
  readonly sizes: [number, number][];
  readonly results: Record<Task, { width: number; height: number; segments: SegmentJson[]; labelMap: number[] }[]>;
  readonly timings: Record<string, number>;
}

export interface LogitsReport {
  /** config.json's family (model_type). */
  readonly family: string;
  readonly outputs: Record<'class_queries_logits' | 'masks_queries_logits', { shape: number[]; data: number[] }>;
}

export interface ViewReport {
  /** image -> canvas pixels, column-major mat3. */
  readonly matrix: number[];
  readonly canvasWidth: number;
  readonly canvasHeight: number;
  /** The canvas's CSS box in the viewport. */
  readonly rect: { x: number; y: number; width: number; height: number };
  readonly dpr: number;
}

export interface PixelsReport {
  readonly width: number;
  readonly height: number;
  /** RGBA of the overlay as composed on the GPU (read back), of the input image, and the label map. */
  readonly overlay: number[];
  readonly image: number[];
  readonly labelMap: number[];
  readonly background: number;
}

export interface MaskgpuHooks {
  readonly ready: Promise<void>;
  adapter(): string;
  status(): { text: string; checkpoint: string; progress: { loaded: number; total: number } | null; controls: Controls };
  loadCheckpoint(url: string): Promise<{ labels: Record<number, string> }>;
  segmentUrl(imageUrl: string, options?: SegmentUrlOptions): Promise<SegmentReport>;
  /** Segments a generated shapes scene (shapes-generator.ts) and shows it. */
  segmentGenerated(seed: number, options?: SegmentUrlOptions): Promise<SegmentReport & { truth: { sky: number; ground: number; objects: number } }>;
  /** One forward pass over several images (padded together, as HF batches) and HF post-processing of each. */
  batched(folderUrl: string, imageUrls: readonly string[]): Promise<BatchReport>;
  /** Loads a checkpoint folder of any family and runs one forward pass over the images: the logits. */
  logits(folderUrl: string, imageUrls: readonly string[]): Promise<LogitsReport>;
  liveBuffers(): LiveBuffers;
  /** Resolves when the GPU jobs queued so far (loads, segmentations started from the UI) are done. */
  idle(): Promise<{ status: string; image: string | null; segments: number }>;
  view(): ViewReport | null;
  pixels(): Promise<PixelsReport>;
  /** Client (CSS px) position of an image pixel centre under the current view. */
  imageToClient(x: number, y: number): [number, number] | null;
}

declare global {
  interface Window {
    __maskgpu?: MaskgpuHooks;
  }
}

const toJson = (s: { id: number; labelId: number; label?: string; score: number; wasFused: boolean; area: number; cx: number; cy: number }, labels: Readonly<Record<number, string>>): SegmentJson => ({
  id: s.id, labelId: s.labelId, label: s.label ?? labels[s.labelId] ?? `LABEL_${s.labelId}`,
  score: Number.isNaN(s.score) ? null : s.score, wasFused: s.wasFused, area: s.area,
  cx: Number.isNaN(s.cx) ? null : s.cx, cy: Number.isNaN(s.cy) ? null : s.cy,
});

/** Controls for a hook call: HF's defaults where the call says nothing (no fusion). */
function controlsFor(o: SegmentUrlOptions, current: Controls): Partial<Controls> {
  return {
    task: o.task ?? 'panoptic', threshold: o.threshold ?? 0.5, maskThreshold: o.mask_threshold ?? 0.5,
    overlap: o.overlap_mask_area_threshold ?? 0.8, fuse: (o.label_ids_to_fuse?.length ?? 0) > 0,
    fuseIds: o.label_ids_to_fuse ? [...o.label_ids_to_fuse] : current.fuseIds,
  };
}

export function expose(app: DemoApp, tracker: BufferTracker | undefined): void {
  const { state } = app;
  const labels = (): Readonly<Record<number, string>> => state.segmenter?.labels ?? state.remote?.labels ?? {};
  const report = async (r: DemoResult, withMap: boolean): Promise<SegmentReport> => ({
    task: r.task, width: r.width, height: r.height, background: r.background,
    segments: r.segments.map((s) => toJson(s, labels())),
    ...(withMap ? { labelMap: Array.from(await r.labelMap()) } : {}),
    timings: { ...r.timings }, adapter: state.gpu?.adapterName ?? state.remote?.info.adapter ?? '',
  });
  const segmentImage = async (img: Parameters<DemoApp['segment']>[0], name: string, o: SegmentUrlOptions): Promise<SegmentReport> => {
    app.setControls(controlsFor(o, state.controls));
    return app.enqueue(async () => {
      const r = await app.segmentNow(img, name, { ...(o.targetSize ? { targetSize: o.targetSize } : {}), show: o.show ?? true });
      return report(r, o.labelMap ?? false); // inside the job: the label map is read before anything reuses it
    });
  };
  const view = (): ViewReport | null => {
    const v = state.view;
    if (!v) return null;
    const rect = app.canvas.getBoundingClientRect();
    return {
      matrix: Array.from(v.view.matrix), canvasWidth: app.canvas.width, canvasHeight: app.canvas.height,
      rect: { x: rect.x, y: rect.y, width: rect.width, height: rect.height }, dpr: globalThis.devicePixelRatio || 1,
    };
  };

  window.__maskgpu = {
    ready: app.ready,
    adapter: () => state.gpu?.adapterName ?? state.remote?.info.adapter ?? '',
    status: () => ({
      text: state.status, checkpoint: state.checkpoint,
      progress: state.progress ? { loaded: state.progress.loaded, total: state.progress.total } : null,
      controls: { ...state.controls, fuseIds: [...state.controls.fuseIds] },
    }),
    loadCheckpoint: async (url) => {
      await app.loadCheckpoint(url);
      return { labels: { ...labels() } };
    },
    segmentUrl: async (url, o = {}) => segmentImage(await rgbaFromUrl(url), url.split('/').pop() ?? url, o),
    segmentGenerated: async (seed, o = {}) => {
      const scene = generateShapes(seed);
      const r = await segmentImage(scene.image, `shapes seed ${seed}`, o);
      return { ...r, truth: { sky: scene.sky, ground: scene.ground, objects: scene.objects.length } };
    },
    batched: async (folder, urls) => {
      const gpu = state.gpu;
      if (!gpu) throw new Error('no GPU');
      const images = await Promise.all(urls.map(rgbaFromUrl));
      return app.enqueue(async () => {
        const t0 = performance.now();
        const model = await SegmentationModel.load(gpu, await checkpointFromUrl(new URL(folder, location.href).href));
        const post = new PostProcessor(gpu, model.spec.post);
        try {
          const t1 = performance.now();
          const fwd = await model.forward({ images }, { outputs: ['class_queries_logits'] });
          const cls = fwd.outputs.get('class_queries_logits');
          if (!cls) throw new Error('no class_queries_logits');
          const masks = fwd.graph.outputBuffer('masks_queries_logits');
          const logits = { classLogits: { shape: cls.shape, data: cls.data as Float32Array }, maskLogits: { shape: masks.shape, buffer: masks.buffer, byteOffset: masks.byteOffset } };
          const target_sizes = images.map((im) => [im.height, im.width] as [number, number]);
          const t2 = performance.now();
          const results = {} as BatchReport['results'];
          for (const task of ['semantic', 'instance', 'panoptic'] as const) {
            const segs: ImageSegmentation[] = await post[task](logits, { target_sizes });
            results[task] = [];
            for (const s of segs) {
              results[task].push({ width: s.width, height: s.height, segments: s.segments.map((x) => toJson(x, model.config.id2label)), labelMap: Array.from(await s.labelMap()) });
            }
          }
          return { sizes: target_sizes, results, timings: { load: t1 - t0, forward: t2 - t1, post: performance.now() - t2 } };
        } finally {
          post.dispose();
          model.dispose();
        }
      });
    },
    logits: async (folder, urls) => {
      const gpu = state.gpu;
      if (!gpu) throw new Error('no GPU');
      const images = await Promise.all(urls.map(rgbaFromUrl));
      return app.enqueue(async () => {
        const model = await SegmentationModel.load(gpu, await checkpointFromUrl(new URL(folder, location.href).href));
        try {
          const fwd = await model.forward({ images });
          const out = (name: 'class_queries_logits' | 'masks_queries_logits') => {
            const t = fwd.outputs.get(name);
            if (!t) throw new Error(`no ${name}`);
            return { shape: [...t.shape], data: Array.from(t.data as Float32Array) };
          };
          return { family: model.spec.family, outputs: { class_queries_logits: out('class_queries_logits'), masks_queries_logits: out('masks_queries_logits') } };
        } finally {
          model.dispose();
        }
      });
    },
    liveBuffers: () => tracker?.live() ?? { count: -1, bytes: -1 },
    idle: async () => {
      await app.enqueue(async () => undefined);
      return { status: state.status, image: state.image?.name ?? null, segments: state.result?.segments.length ?? 0 };
    },
    view,
    pixels: async () => {
      const r = state.result;
      const img = state.image;
      if (!r || !img) throw new Error('nothing shown');
      return app.enqueue(async () => {
        const o = await r.overlay(app.overlayStyle());
        return {
          width: r.width, height: r.height, overlay: Array.from(o.data), image: Array.from(img.pixels.data),
          labelMap: Array.from(await r.labelMap()), background: r.background,
        };
      });
    },
    imageToClient: (x, y) => {
      const v = state.view;
      if (!v) return null;
      const [sx, sy] = v.view.imageToScreen(x, y);
      const rect = app.canvas.getBoundingClientRect();
      const d = globalThis.devicePixelRatio || 1;
      return [rect.x + sx / d, rect.y + sy / d];
    },
  };
}
