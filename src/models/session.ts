/**
 * A loaded checkpoint of any supported family on a device: the family picked from config.json's
 * model_type, weights in GPU buffers, planned graphs cached per input shape (the last few), one
 * submit per forward pass. `dispose()` frees everything.
 */
import { parsePreprocessorConfig, type PreprocessorConfig } from '../config/index.ts';
import type { CheckpointSource } from '../checkpoint.ts';
import { GpuError, ShapeError } from '../errors.ts';
import type { GpuContext } from '../gpu/device.ts';
import { checkFootprint, extrapolateFootprint, type Footprint, type MemoryBudget } from '../graph/footprint.ts';
import { CompiledGraph, type HostArray, type StepTiming } from '../graph/runner.ts';
import { GpuImage } from '../gpu/external-image.ts';
import { checkRgba, rgbaPixels, type RgbaImage } from '../image.ts';
import type { LoadProgress } from '../weights/safetensors.ts';
import { WeightStore, type LoadWeightsOptions } from '../weights/store.ts';
import { batchGeometry, type BatchGeometry } from './common/preprocess.ts';
import type { ModelConfigBase, ModelInput, ModelSpec } from './family.ts';
import { resolveModel } from './registry.ts';
import type { Task } from '../post/segment.ts';

export interface LoadOptions {
  readonly onProgress?: (p: LoadProgress) => void;
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
  /** Per-stage GPU timestamps (when the adapter has `timestamp-query`). */
  readonly profile?: boolean;
  /** Planned graphs kept for reuse (one per input shape); the oldest is freed beyond this. */
  readonly maxCachedGraphs?: number;
  /** Largest checkpoint tensor accepted, in file bytes (default 1 GiB; the header is untrusted). */
  readonly maxTensorBytes?: number;
  /** Largest preprocessor_config.json size in pixels per side (default 4096). */
  readonly maxPreprocessEdge?: number;
  /**
   * Host and GPU bytes one planned graph (one input size) may take, weights not included
   * (default 1 GiB host, 4 GiB GPU). Estimated before a graph is built, checked exactly before
   * it is allocated; over it, forward() rejects with a ResourceError.
   */
  readonly memoryBudget?: MemoryBudget;
}

export type ForwardInput =
  | { readonly pixelValues: Float32Array; readonly shape: readonly [number, 3, number, number] }
  /** RGBA8 pixels from the host, or frames already on the GPU (GpuImage: copied in the model's encoder). */
  | { readonly images: readonly (RgbaImage | GpuImage)[] };

export interface ForwardOptions {
  /** Also read back every intermediate (named as HF's outputs). */
  readonly intermediates?: boolean;
  /** Read back these outputs (default: class_queries_logits, masks_queries_logits); [] reads nothing (the outputs stay on the GPU, in `graph`). */
  readonly outputs?: readonly string[];
  /** The task prompt, for families whose model takes one (OneFormer; required there). */
  readonly task?: Task;
}

export interface OutputTensor {
  readonly shape: readonly number[];
  readonly data: HostArray;
}

export interface ForwardResult {
  readonly outputs: Map<string, OutputTensor>;
  /** GPU ms per top-level stage (preprocess, backbone, pixel_decoder, ...) when profiling; always 'total' (wall). */
  readonly timings: Readonly<Record<string, number>>;
  readonly steps?: readonly StepTiming[];
  /** Original / resized / padded sizes when images were given. */
  readonly geometry?: BatchGeometry;
  /** The planned graph this pass ran on (its GPU buffers hold the outputs until the next pass). */
  readonly graph: CompiledGraph;
}

/** Sums step timings by the first label segment (the stage). */
export function stageTimings(steps: readonly StepTiming[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of steps) {
    const stage = s.label.split('/')[0] ?? s.label;
    out[stage] = (out[stage] ?? 0) + s.ms;
  }
  return out;
}

/**
 * Load options that store each checkpoint tensor the way the device's kernels read it fastest,
 * decided from a build on the header's shapes (unknown, missing or mis-shaped keys fail there,
 * before any upload): tensors read only by matmul's B are kept f16 on shader-f16 adapters
 * (ctx.weightDtype), and nn.Linear weights read only as matmul's B rows are packed K-major for
 * the vec4 matmul under policy.packedMatmul. Graphs bind them through the WeightBinder, which
 * declares each tensor as stored.
 */
export function weightLayoutOptions(
  ctx: Pick<GpuContext, 'weightDtype' | 'policy' | 'limits'>,
  spec: Pick<ModelSpec, 'build'>,
): Required<Pick<LoadWeightsOptions, 'checkHeader' | 'half' | 'pack'>> {
  const halfKeys = new Set<string>();
  const packK = new Map<string, number>();
  return {
    checkHeader: (shapes) => {
      const built = spec.build(shapes, { kind: 'pixel-values', shape: [1, 3, 64, 64] }, { policy: ctx.policy }, ctx.limits.maxComputeWorkgroupsPerDimension);
      if (ctx.weightDtype === 'f16') for (const k of built.graph.f16WeightKeys()) halfKeys.add(k);
      if (ctx.policy.packedMatmul) for (const [k, K] of built.graph.packableWeights()) packK.set(k, K);
    },
    half: (k) => halfKeys.has(k),
    pack: (k) => packK.get(k),
  };
}

export class SegmentationModel {
  private readonly graphs = new Map<string, { graph: CompiledGraph; geometry: BatchGeometry | undefined; names: readonly string[] }>();
  /** Footprints of two small builds per `intermediates` flag, for estimates at other sizes. */
  private readonly samples = new Map<boolean, readonly { pixels: number; fp: Footprint }[]>();
  private disposed = false;

  private constructor(
    readonly ctx: GpuContext,
    /** The family and its parsed config.json. */
    readonly spec: ModelSpec,
    readonly preprocessor: PreprocessorConfig | undefined,
    readonly weights: WeightStore,
    private readonly options: LoadOptions,
  ) {}

  /** Parses the configs (typed errors), streams the weights into GPU buffers, checks them against the config. */
  static async load(ctx: GpuContext, source: CheckpointSource, options: LoadOptions = {}): Promise<SegmentationModel> {
    const spec = resolveModel(source.config, 'config.json', source);
    const parseOptions = options.maxPreprocessEdge !== undefined ? { maxEdge: options.maxPreprocessEdge } : {};
    const parsePre = (json: unknown): PreprocessorConfig => (spec.parsePreprocessor ? spec.parsePreprocessor(json, parseOptions) : parsePreprocessorConfig(json, 'preprocessor_config.json', parseOptions));
    const preprocessor = source.preprocessor === undefined ? undefined : parsePre(source.preprocessor);
    const weights = await WeightStore.load(ctx, source.weights, {
      file: typeof source.weights === 'string' ? source.weights : `${source.name}`,
      skip: (k) => spec.skipWeight(k),
      // Unknown, missing or mis-shaped keys fail from the header, before any upload. The
      // header-time build (with the device's policy) also names the tensors kept f16 on
      // shader-f16 adapters and, under the gpu policy, the linear weights packed K-major.
      ...weightLayoutOptions(ctx, spec),
      ...(options.maxTensorBytes !== undefined ? { maxTensorBytes: options.maxTensorBytes } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const model = new SegmentationModel(ctx, spec, preprocessor, weights, options);
    try {
      // Bind every tensor once on a small input so a wrong checkpoint fails at load, not at first use.
      spec.build(weights, { kind: 'pixel-values', shape: [1, 3, 64, 64] }, { policy: ctx.policy }, ctx.limits.maxComputeWorkgroupsPerDimension);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }

  private async graphFor(input: ModelInput, intermediates: boolean): Promise<{ graph: CompiledGraph; geometry: BatchGeometry | undefined; names: readonly string[] }> {
    const key = JSON.stringify([input.kind === 'pixel-values' ? input.shape : input.sizes, intermediates]);
    const hit = this.graphs.get(key);
    if (hit) {
      this.graphs.delete(key);
      this.graphs.set(key, hit); // most recently used last
      return hit;
    }
    // Building a graph for a huge input already allocates its host constants: estimate first.
    const estimate = this.estimate(input, intermediates);
    checkFootprint(estimate.fp, `${this.spec.displayName} on ${estimate.what} (estimated before building)`, this.ctx.limits, this.options.memoryBudget);
    const built = this.spec.build(this.weights, input, { intermediates, policy: this.ctx.policy }, this.ctx.limits.maxComputeWorkgroupsPerDimension);
    const graph = await CompiledGraph.compile(this.ctx, built.graph, this.ctx.pipelines, {
      weights: this.weights,
      profile: this.options.profile ?? false,
      label: `${this.spec.displayName} on ${estimate.what}`,
      ...(this.options.memoryBudget ? { budget: this.options.memoryBudget } : {}),
    });
    const entry = { graph, geometry: built.geometry, names: built.outputNames };
    this.graphs.set(key, entry);
    const max = this.options.maxCachedGraphs ?? 2;
    while (this.graphs.size > max) {
      const [oldest, old] = this.graphs.entries().next().value as [string, { graph: CompiledGraph }];
      old.graph.dispose();
      this.graphs.delete(oldest);
    }
    return entry;
  }

  /**
   * The graph's footprint for `input`, extrapolated (linearly in model-input pixels) from builds
   * at 128x128 and 256x256, plus the preprocessing buffers at the images' own sizes.
   */
  estimate(input: ModelInput, intermediates = false): { fp: Footprint; what: string } {
    let samples = this.samples.get(intermediates);
    if (!samples) {
      samples = [128, 256].map((side) => {
        const b = this.spec.build(this.weights, { kind: 'pixel-values', shape: [1, 3, side, side] }, { intermediates, policy: this.ctx.policy }, this.ctx.limits.maxComputeWorkgroupsPerDimension);
        return { pixels: side * side, fp: CompiledGraph.footprint(this.ctx, b.graph, { profile: this.options.profile ?? false }) };
      });
      this.samples.set(intermediates, samples);
    }
    const [a, b] = samples as [{ pixels: number; fp: Footprint }, { pixels: number; fp: Footprint }];
    if (input.kind === 'pixel-values') {
      const [B, , H, W] = input.shape;
      return { fp: extrapolateFootprint(a, b, B * H * W), what: `pixel_values [${input.shape.join(', ')}]` };
    }
    const geo = batchGeometry(input.sizes, input.preprocessor);
    const [H, W] = geo.padded;
    const fp = extrapolateFootprint(a, b, geo.original.length * H * W);
    // Preprocessing: the RGBA input, both resize passes and the resized image, 4 bytes a pixel.
    let extra = 0;
    let largest = fp.largestBuffer;
    geo.original.forEach(([h, w], i) => {
      const [rh, rw] = geo.resized[i] as readonly [number, number];
      extra += 4 * (h * w + h * rw + rh * w + rh * rw);
      largest = Math.max(largest, 4 * h * w, 4 * h * rw, 4 * rh * w);
    });
    const sizes = geo.original.map(([h, w]) => `${w}x${h}`).join(', ');
    return { fp: { ...fp, gpuBytes: fp.gpuBytes + extra, largestBuffer: largest }, what: `${sizes} image${geo.original.length > 1 ? 's' : ''} (model input ${W}x${H})` };
  }

  /** Runs the model: class_queries_logits [B, Q, L+1] and masks_queries_logits [B, Q, H/4, W/4]. */
  async forward(input: ForwardInput, options: ForwardOptions = {}): Promise<ForwardResult> {
    if (this.disposed) throw new GpuError(this.spec.displayName, 'forward() after dispose()');
    const t0 = performance.now();
    let modelInput: ModelInput;
    const feeds: Record<string, HostArray> = {};
    const encodeInputs: Record<string, (encoder: GPUCommandEncoder, target: GPUBuffer) => void> = {};
    if ('pixelValues' in input) {
      const [B, C, H, W] = input.shape;
      if (C !== 3 || input.pixelValues.length !== B * C * H * W) throw new ShapeError(this.spec.displayName, 'pixel_values', `[B, 3, H, W] with ${B * 3 * H * W} values`, `${input.pixelValues.length} values for [${input.shape.join(', ')}]`);
      modelInput = { kind: 'pixel-values', shape: input.shape };
      feeds.pixel_values = input.pixelValues;
    } else {
      if (!this.preprocessor) throw new GpuError(this.spec.displayName, 'this checkpoint has no preprocessor_config.json: pass pixelValues, or a checkpoint with one');
      input.images.forEach((img, i) => {
        if (img instanceof GpuImage) {
          encodeInputs[`image.${i}`] = (encoder, target) => img.encodeInto(encoder, target);
          return;
        }
        checkRgba(img, `image ${i}`);
        feeds[`image.${i}`] = rgbaPixels(img);
      });
      modelInput = { kind: 'images', sizes: input.images.map((im) => [im.height, im.width] as const), preprocessor: this.preprocessor };
    }
    const batch = 'pixelValues' in input ? input.shape[0] : input.images.length;
    const extra = this.spec.feeds ? this.spec.feeds({ task: options.task, batch }) : {};
    Object.assign(feeds, extra);
    const intermediates = options.intermediates ?? false;
    const { graph, geometry, names } = await this.graphFor(modelInput, intermediates);
    const tRun = performance.now();
    const info = await graph.run(feeds, { encodeInputs });
    const want = options.outputs ?? (intermediates ? names.filter((n) => !n.startsWith('debug.attention_mask_raw')) : ['class_queries_logits', 'masks_queries_logits']);
    const read = await graph.read(want);
    const outputs = new Map<string, OutputTensor>();
    for (const [k, v] of read) outputs.set(k, { shape: graph.tensor(k).shape, data: v });
    // The family's extra inputs are part of HF's processor output (OneFormer: task_inputs, ids as floats).
    if (intermediates) for (const [k, v] of Object.entries(extra)) outputs.set(k, { shape: [batch, v.length / batch], data: v });
    const timings: Record<string, number> = { ...(info.steps ? stageTimings(info.steps) : {}), gpu_pass_wall: info.steps ? info.wallMs : performance.now() - tRun, total: performance.now() - t0 };
    return { outputs, timings, ...(info.steps ? { steps: info.steps } : {}), ...(geometry ? { geometry } : {}), graph };
  }

  /** The family's parsed config.json (narrow `spec.family` to read family-specific fields). */
  get config(): ModelConfigBase {
    return this.spec.config;
  }

  get id2label(): Readonly<Record<number, string>> {
    return this.spec.config.id2label;
  }

  /** Frees every graph and weight buffer (the device itself belongs to the caller). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const { graph } of this.graphs.values()) graph.dispose();
    this.graphs.clear();
    this.weights.dispose();
  }
}
