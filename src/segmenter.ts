/**
 * The main entry point: load a checkpoint, segment images (semantic / instance / panoptic, HF's
 * thresholds), get label maps and segments with names, compose overlays on the GPU, run on video.
 */
import { checkpointFetch, checkpointFromFiles, checkpointFromUrl, type CheckpointSource } from './checkpoint.ts';
export { cachingFetch } from './checkpoint.ts';
import { toCoco, type CocoInstances, type CocoOptions, type CocoPanoptic } from './coco.ts';
import { GpuError, ImageError, StaleResultError } from './errors.ts';
import { assertFiniteHost, GpuFiniteCheck } from './finite-check.ts';
import { requestGpu, type GpuContext } from './gpu/device.ts';
import { GpuImage, isExternalImage } from './gpu/external-image.ts';
import { GraphBuilder } from './graph/builder.ts';
import { CompiledGraph } from './graph/runner.ts';
import { rgbaPixels, toRgba, type ImageSource, type RgbaImage } from './image.ts';
import { SegmentationModel, type LoadOptions } from './models/session.ts';
import * as ops from './ops/index.ts';
import { PostProcessor, type ImageSegmentation, type LogitsOnGpu, type PostProcessOptions, type Task } from './post/segment.ts';
import { labelColour, packRgba } from './render/palette.ts';
import { SerialQueue } from './serial-queue.ts';

export interface SegmenterLoadOptions extends LoadOptions {
  /** An existing device; by default one is requested (and destroyed by dispose()). */
  readonly gpu?: GpuContext;
  /** Keep downloaded weights in the Cache API under this name (true: 'maskgpu-weights'). */
  readonly cache?: boolean | string;
}

export interface SegmentOptions extends Omit<PostProcessOptions, 'target_sizes'> {
  readonly task?: Task;
  /** [height, width] of the label map; default: the image's own size. */
  readonly targetSize?: readonly [number, number];
}

export interface SegmentInfo {
  readonly id: number;
  readonly labelId: number;
  /** config.id2label name. */
  readonly label: string;
  /** Semantic: NaN (HF reports none). */
  readonly score: number;
  readonly wasFused: boolean;
  readonly area: number;
  /** Centre of the segment in label-map pixels. */
  readonly cx: number;
  readonly cy: number;
}

export interface OverlayStyle {
  readonly opacity?: number;
  readonly borders?: boolean;
}

export interface SegmentationResult {
  readonly task: Task;
  readonly width: number;
  readonly height: number;
  readonly segments: readonly SegmentInfo[];
  /** Id of unassigned pixels in the label map. */
  readonly background: number;
  /** ms per stage: preprocess, backbone, pixel_decoder, transformer_decoder (when profiled), post, total. */
  readonly timings: Readonly<Record<string, number>>;
  /** The input image (RGBA8). */
  readonly image: RgbaImage;
  /** The label map on the GPU: i32 [height, width]; valid until the next segment()/resegment() of the same task (then labelMap(), overlay() and segmentAt() throw StaleResultError unless the map was read before). */
  readonly gpuBuffer: ImageSegmentation['gpu'];
  labelMap(): Promise<Int32Array>;
  /** True once a later segment()/resegment() of the same task reused the label map's GPU buffer. */
  isStale(): boolean;
  /** The label map colour-coded with the palette (background transparent). */
  labelImage(): Promise<RgbaImage>;
  /** Image + coloured segments composed on the GPU, read back as RGBA8. */
  overlay(style?: OverlayStyle): Promise<RgbaImage>;
  /** The segment under label-map pixel (x, y), if any. */
  segmentAt(x: number, y: number): Promise<SegmentInfo | undefined>;
  /** COCO form (src/coco.ts): panoptic PNG + segments_info (panoptic, semantic) or RLE instance results; categories named from id2label. */
  toCOCO(options?: CocoOptions): Promise<CocoPanoptic | CocoInstances>;
}

const DEFAULT_CACHE = 'maskgpu-weights';

function checkTask(task: Task | undefined): Task {
  const t = task ?? 'panoptic';
  if (t !== 'semantic' && t !== 'instance' && t !== 'panoptic') throw new ImageError(`unknown task '${String(t)}' (semantic, instance or panoptic)`);
  return t;
}

export class Segmenter {
  private readonly post: PostProcessor;
  /** The last segment()'s image and model output (valid until the next model pass). */
  private last: { image: RgbaImage; task: Task; logits: LogitsOnGpu; timings: Record<string, number> } | undefined;
  /** Overlay graphs by shape, with the label-map buffer each one reads. */
  private readonly overlays = new Map<string, { graph: CompiledGraph; source: GPUBuffer; image: GPUBuffer | undefined }>();
  /** NaN / Inf count over the model's mask logits, on the GPU. */
  private readonly finite: GpuFiniteCheck;
  private disposed = false;
  /** segment(), resegment() and overlays share GPU buffers: one at a time, in call order. */
  private readonly queue = new SerialQueue();
  /** The image last written to each model graph's input, and the graph each image went to: the overlay reads it there. */
  private readonly uploads = new WeakMap<CompiledGraph, RgbaImage>();
  private readonly uploadedTo = new WeakMap<RgbaImage, CompiledGraph>();

  private constructor(
    readonly gpu: GpuContext,
    readonly model: SegmentationModel,
    private readonly ownsGpu: boolean,
  ) {
    this.post = new PostProcessor(gpu, model.spec.post);
    this.finite = new GpuFiniteCheck(gpu);
  }

  /**
   * From a folder URL (hub: `https://huggingface.co/<repo>/resolve/<rev>/`), picked / dropped
   * Files, or a CheckpointSource of buffers.
   */
  static async load(source: string | URL | Iterable<File> | CheckpointSource, options: SegmenterLoadOptions = {}): Promise<Segmenter> {
    // A lost device fails here with DeviceLostError, not later with a wrong or empty result.
    if (options.gpu) await options.gpu.checkAlive('Segmenter.load');
    const gpu = options.gpu ?? (await requestGpu());
    try {
      const cacheName = options.cache === true ? DEFAULT_CACHE : typeof options.cache === 'string' ? options.cache : undefined;
      const f = checkpointFetch({ ...(options.fetch ? { fetch: options.fetch } : {}), cacheName });
      let ckpt: CheckpointSource;
      if (typeof source === 'string' || source instanceof URL) ckpt = await checkpointFromUrl(String(source), { ...(f ? { fetch: f } : {}), ...(options.signal ? { signal: options.signal } : {}) });
      else if ('config' in (source as object) && 'weights' in (source as object)) ckpt = source as CheckpointSource;
      else ckpt = await checkpointFromFiles(source as Iterable<File>);
      const model = await SegmentationModel.load(gpu, ckpt, { ...options, ...(f ? { fetch: f } : {}) });
      try {
        await gpu.checkAlive('Segmenter.load'); // uploads to a device lost meanwhile are dropped silently
        return new Segmenter(gpu, model, options.gpu === undefined);
      } catch (e) {
        model.dispose(); // the device was lost while loading
        throw e;
      }
    } catch (e) {
      if (options.gpu === undefined) gpu.dispose();
      throw e;
    }
  }

  get labels(): Readonly<Record<number, string>> {
    return this.model.config.id2label;
  }

  /**
   * Segments one image. Masks stay on the GPU; segments and timings come back. Calls made while
   * another is in flight wait for it (one queue per Segmenter), so each returns its own image's
   * result. A lost device rejects with DeviceLostError: dispose() this Segmenter and load() a
   * new one (on a new device) to recover.
   */
  async segment(source: ImageSource, options: SegmentOptions = {}): Promise<SegmentationResult> {
    if (this.disposed) throw new GpuError('Segmenter', 'segment() after dispose()');
    const t0 = performance.now();
    const task = checkTask(options.task);
    // The pixels are taken now: a canvas or video frame may change while the call waits its turn.
    // ImageBitmap / VideoFrame / <video> are copied into a texture (copyExternalImageToTexture),
    // other sources are read as RGBA bytes.
    if (isExternalImage(source) && typeof this.gpu.device.queue.copyExternalImageToTexture === 'function') {
      const frame = GpuImage.fromExternal(this.gpu, source);
      return this.queue.run(() => this.segmentNow(frame, task, options, t0)).finally(() => frame.dispose());
    }
    const image = toRgba(source);
    return this.queue.run(() => this.segmentNow(image, task, options, t0));
  }

  private async segmentNow(input: RgbaImage | GpuImage, task: Task, options: SegmentOptions, t0: number): Promise<SegmentationResult> {
    if (this.disposed) throw new GpuError('Segmenter', 'segment() after dispose()');
    // OneFormer: the task prompt is a model input (same planned graph and weights for every task).
    // The model pass and the NaN / Inf count over its mask logits are submitted without a wait;
    // the class logits and the counts (and a GPU frame's pixels) come back in one readback.
    const tPass = performance.now();
    const fwd = await this.model.forward({ images: [input] }, { outputs: [], task });
    const masks = fwd.graph.outputBuffer('masks_queries_logits');
    const finite = await this.finite.run('masks_queries_logits', masks);
    const fromGpu = input instanceof GpuImage;
    const [read, counts] = await CompiledGraph.readMany(this.gpu, [{ graph: fwd.graph, names: fromGpu ? ['class_queries_logits', 'image.0'] : ['class_queries_logits'] }, { graph: finite, names: ['counts'] }]);
    const image: RgbaImage = fromGpu ? { width: input.width, height: input.height, data: new Uint8ClampedArray((read?.get('image.0') as Uint32Array).buffer) } : input;
    this.uploads.set(fwd.graph, image);
    this.uploadedTo.set(image, fwd.graph);
    const clsData = read?.get('class_queries_logits') as Float32Array | undefined;
    if (!clsData) throw new GpuError('Segmenter', 'model produced no class logits');
    const cls = { shape: fwd.graph.tensor('class_queries_logits').shape, data: clsData };
    assertFiniteHost('class_queries_logits', cls.data, cls.shape);
    this.finite.check('masks_queries_logits', masks.shape, counts?.get('counts') as Uint32Array);
    const logits = { classLogits: { shape: cls.shape, data: cls.data as Float32Array }, maskLogits: { shape: masks.shape, buffer: masks.buffer, byteOffset: masks.byteOffset } };
    // forward() read nothing, so its gpu_pass_wall is the submit alone: the pass ends with this readback.
    this.last = { image, task, logits, timings: { ...fwd.timings, gpu_pass_wall: performance.now() - tPass, model: performance.now() - t0 } };
    return this.postProcess(task, options, t0);
  }

  /**
   * Post-processing again on the last segment()'s model output, with other options (task,
   * thresholds, fused labels, target size): no model pass, except for a model that takes the task
   * as input (OneFormer) when the task changes: then the same image is segmented again (same
   * weights and planned graph, new task prompt). Valid until the next segment().
   */
  async resegment(options: SegmentOptions = {}): Promise<SegmentationResult> {
    if (this.disposed) throw new GpuError('Segmenter', 'resegment() after dispose()');
    const task = checkTask(options.task);
    // A model whose output depends on the task (OneFormer's prompt) needs a new pass for another
    // task: segment() queues it like any call.
    const last = this.last;
    if (last && this.model.spec.feeds && task !== last.task) return this.segment(last.image, options);
    return this.queue.run(async () => {
      if (this.disposed) throw new GpuError('Segmenter', 'resegment() after dispose()');
      if (!this.last) throw new GpuError('Segmenter', 'resegment() needs a segment() first');
      return this.postProcess(task, options, performance.now(), true);
    });
  }

  private async postProcess(task: Task, options: SegmentOptions, t0: number, again = false): Promise<SegmentationResult> {
    const { image, logits, timings: model } = this.last as NonNullable<Segmenter['last']>;
    const t1 = performance.now();
    const target = options.targetSize ?? [image.height, image.width];
    const post = { ...options, target_sizes: [target] as const };
    const [seg] = task === 'semantic' ? await this.post.semantic(logits, post) : task === 'instance' ? await this.post.instance(logits, post) : await this.post.panoptic(logits, post);
    if (!seg) throw new GpuError('Segmenter', 'post-processing returned nothing');
    const timings = { ...(again ? {} : model), post: performance.now() - t1, total: performance.now() - t0 };
    return this.result(seg, image, timings);
  }

  private result(seg: ImageSegmentation, image: RgbaImage, timings: Record<string, number>): SegmentationResult {
    const names = this.labels;
    const segments = seg.segments.map((s) => ({ ...s, label: names[s.labelId] ?? `LABEL_${s.labelId}` }));
    let cached: Promise<Int32Array> | undefined;
    const labelMap = (): Promise<Int32Array> => (cached ??= seg.labelMap());
    const result: SegmentationResult = {
      task: seg.task, width: seg.width, height: seg.height, segments, background: seg.background, timings, image, gpuBuffer: seg.gpu,
      labelMap,
      isStale: seg.isStale,
      labelImage: async () => {
        const map = await labelMap();
        const byId = new Map(segments.map((s) => [s.id, labelColour(s.labelId)]));
        const data = new Uint8ClampedArray(map.length * 4);
        map.forEach((id, p) => {
          const c = byId.get(id);
          if (!c || id === seg.background) return;
          data.set([c[0], c[1], c[2], 255], p * 4);
        });
        return { width: seg.width, height: seg.height, data };
      },
      overlay: (style = {}) => this.overlay(seg, image, segments, style),
      segmentAt: async (x, y) => {
        if (x < 0 || y < 0 || x >= seg.width || y >= seg.height) return undefined;
        const id = (await labelMap())[Math.floor(y) * seg.width + Math.floor(x)];
        return id === seg.background ? undefined : segments.find((s) => s.id === id);
      },
      toCOCO: (options = {}) => toCoco(result, { labels: names, ...options }),
    };
    return result;
  }

  /**
   * Colour table indexed by segment id (ids are < labels for semantic, < queries for instance,
   * <= queries for panoptic): a fixed size per task, so one overlay graph serves every frame.
   */
  private colours(seg: ImageSegmentation, segments: readonly SegmentInfo[]): Uint32Array {
    const size = seg.task === 'semantic' ? Object.keys(this.labels).length : this.model.config.numQueries + 1;
    const table = new Uint32Array(Math.max(size, 1));
    for (const s of segments) if (s.id >= 0 && s.id < table.length) table[s.id] = packRgba(labelColour(s.labelId));
    return table;
  }

  /** Compiles (once per shape) and runs the overlay graph; returns its GPU output (valid until the next call). */
  overlayBuffer(seg: ImageSegmentation, image: RgbaImage, segments: readonly SegmentInfo[], style: OverlayStyle = {}): Promise<{ graph: CompiledGraph; name: string; width: number; height: number }> {
    return this.queue.run(() => this.overlayBufferNow(seg, image, segments, style));
  }

  /** The model-input buffer (u32 [h, w]) that still holds `image`'s pixels, if any: the overlay reads them there. */
  private uploadedImage(image: RgbaImage): { buffer: GPUBuffer; byteOffset: number; byteLength: number } | undefined {
    const graph = this.uploadedTo.get(image);
    if (!graph || graph.isDisposed || this.uploads.get(graph) !== image) return undefined;
    const input = graph.inputBuffer('image.0');
    return input.shape[0] === image.height && input.shape[1] === image.width ? input : undefined;
  }

  private async overlayBufferNow(seg: ImageSegmentation, image: RgbaImage, segments: readonly SegmentInfo[], style: OverlayStyle): Promise<{ graph: CompiledGraph; name: string; width: number; height: number }> {
    if (this.disposed) throw new GpuError('Segmenter', 'overlay after dispose()');
    if (seg.isStale()) throw new StaleResultError(`overlay of a ${seg.task} result (${seg.width}x${seg.height}) after a later ${seg.task} call reused its label map; draw it before the next segment()/resegment()`);
    const table = this.colours(seg, segments);
    // The image's pixels are on the GPU already (the model's input) unless a later segment() of
    // the same size replaced them: then they are uploaded again.
    const uploaded = this.uploadedImage(image);
    const key = `${seg.task}|${image.width}x${image.height}|${seg.width}x${seg.height}|${table.length}|${seg.gpu.byteOffset}|${seg.background}|${style.opacity ?? 0.55}|${style.borders ?? true}|${uploaded ? 'model-input' : 'upload'}`;
    const hit = this.overlays.get(key);
    let graph = hit?.source === seg.gpu.buffer && hit.image === uploaded?.buffer ? hit.graph : undefined;
    if (!graph) {
      for (const [k, old] of this.overlays) if (k.startsWith(`${seg.task}|`)) (old.graph.dispose(), this.overlays.delete(k));
      const g = GraphBuilder.forDevice(this.gpu);
      const map = g.external('label_map', seg.gpu, [seg.height, seg.width], 'i32');
      const pixels = uploaded ? g.external('image', uploaded, [image.height, image.width], 'u32') : g.input('image', [image.height, image.width], 'u32');
      const out = ops.overlay(g, pixels, map, g.input('colours', [table.length], 'u32'), {
        base: 0, background: seg.background, opacity: style.opacity ?? 0.55, borders: style.borders ?? true,
      });
      g.output('overlay', out);
      graph = await CompiledGraph.compile(this.gpu, g, this.gpu.pipelines, { label: 'overlay' });
      this.overlays.set(key, { graph, source: seg.gpu.buffer, image: uploaded?.buffer });
    }
    await graph.run(uploaded ? { colours: table } : { image: rgbaPixels(image), colours: table });
    return { graph, name: 'overlay', width: seg.width, height: seg.height };
  }

  private overlay(seg: ImageSegmentation, image: RgbaImage, segments: readonly SegmentInfo[], style: OverlayStyle): Promise<RgbaImage> {
    // Run and read back in one turn of the queue, so a later overlay cannot overwrite the output first.
    return this.queue.run(async () => {
      const { graph, name, width, height } = await this.overlayBufferNow(seg, image, segments, style);
      const px = (await graph.readOne(name)) as Uint32Array;
      return { width, height, data: new Uint8ClampedArray(px.buffer) };
    });
  }

  /**
   * Segments frames of a video / webcam as fast as the GPU allows, reusing the planned graphs.
   * A frame that arrives while one is in flight is dropped, never queued. `done` resolves once
   * stopped and no frame is in flight; an error stops the loop and rejects `done`.
   */
  video(
    video: HTMLVideoElement,
    onResult: (r: SegmentationResult) => void | Promise<void>,
    options: SegmentOptions = {},
  ): { stop(): void; readonly dropped: number; readonly done: Promise<void> } {
    let running = true;
    let inFlight: Promise<void> | undefined;
    let dropped = 0;
    let settle: { resolve: () => void; reject: (e: unknown) => void } | undefined;
    const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    const finish = (error?: unknown): void => {
      running = false;
      void (inFlight ?? Promise.resolve()).finally(() => (error === undefined ? settle?.resolve() : settle?.reject(error)));
    };
    const next = (): void => {
      const v = video as HTMLVideoElement & { requestVideoFrameCallback?: (cb: () => void) => number };
      if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(tick);
      else requestAnimationFrame(tick);
    };
    const tick = (): void => {
      if (!running) return;
      if (inFlight) dropped++;
      else if (video.readyState >= 2 && video.videoWidth > 0) {
        inFlight = this.segment(video, options)
          .then(onResult)
          .then(
            () => {
              inFlight = undefined;
            },
            (e: unknown) => {
              inFlight = undefined;
              finish(e);
            },
          );
      }
      next();
    };
    tick();
    return {
      stop: () => finish(),
      get dropped() {
        return dropped;
      },
      done,
    };
  }

  /** Frees every GPU resource (and the device, if load() created it). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const { graph } of this.overlays.values()) graph.dispose();
    this.overlays.clear();
    this.finite.dispose();
    this.post.dispose();
    this.model.dispose();
    if (this.ownsGpu) this.gpu.dispose();
  }
}
