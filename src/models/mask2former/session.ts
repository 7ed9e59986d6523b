/**
 * A loaded Mask2Former checkpoint on a device: weights in GPU buffers, planned graphs cached per
 * input shape (the last few), one submit per forward pass. `dispose()` frees everything.
 */
import { parseMask2FormerConfig, parsePreprocessorConfig, type Mask2FormerConfig, type PreprocessorConfig } from '../../config/index.ts';
import type { CheckpointSource } from '../../checkpoint.ts';
import { GpuError, ShapeError } from '../../errors.ts';
import type { GpuContext } from '../../gpu/device.ts';
import { CompiledGraph, type HostArray, type StepTiming } from '../../graph/runner.ts';
import { checkRgba, rgbaPixels, type RgbaImage } from '../../image.ts';
import type { LoadProgress } from '../../weights/safetensors.ts';
import { WeightStore } from '../../weights/store.ts';
import { buildMask2Former, type ModelInput } from './model.ts';
import type { BatchGeometry } from './preprocess.ts';

export interface LoadOptions {
  readonly onProgress?: (p: LoadProgress) => void;
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
  /** Per-stage GPU timestamps (when the adapter has `timestamp-query`). */
  readonly profile?: boolean;
  /** Planned graphs kept for reuse (one per input shape); the oldest is freed beyond this. */
  readonly maxCachedGraphs?: number;
}

export type ForwardInput =
  | { readonly pixelValues: Float32Array; readonly shape: readonly [number, 3, number, number] }
  | { readonly images: readonly RgbaImage[] };

export interface ForwardOptions {
  /** Also read back every intermediate (named as HF's outputs). */
  readonly intermediates?: boolean;
  /** Read back these outputs (default: class_queries_logits, masks_queries_logits). */
  readonly outputs?: readonly string[];
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

export class Mask2Former {
  private readonly graphs = new Map<string, { graph: CompiledGraph; geometry: BatchGeometry | undefined; names: readonly string[] }>();
  private disposed = false;

  private constructor(
    readonly ctx: GpuContext,
    readonly config: Mask2FormerConfig,
    readonly preprocessor: PreprocessorConfig | undefined,
    readonly weights: WeightStore,
    private readonly options: LoadOptions,
  ) {}

  /** Parses the configs (typed errors), streams the weights into GPU buffers, checks them against the config. */
  static async load(ctx: GpuContext, source: CheckpointSource, options: LoadOptions = {}): Promise<Mask2Former> {
    const config = parseMask2FormerConfig(source.config);
    const preprocessor = source.preprocessor === undefined ? undefined : parsePreprocessorConfig(source.preprocessor);
    const weights = await WeightStore.load(ctx, source.weights, {
      file: typeof source.weights === 'string' ? source.weights : `${source.name}`,
      skip: (k) => k.startsWith('criterion.'),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const model = new Mask2Former(ctx, config, preprocessor, weights, options);
    try {
      // Bind every tensor once on a small input so a wrong checkpoint fails at load, not at first use.
      buildMask2Former(config, weights, { kind: 'pixel-values', shape: [1, 3, 64, 64] });
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
    const built = buildMask2Former(this.config, this.weights, input, { intermediates }, this.ctx.limits.maxComputeWorkgroupsPerDimension, this.ctx.policy);
    const graph = await CompiledGraph.compile(this.ctx, built.graph, this.ctx.pipelines, { weights: this.weights, profile: this.options.profile ?? false, label: 'mask2former' });
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

  /** Runs the model: class_queries_logits [B, Q, L+1] and masks_queries_logits [B, Q, H/4, W/4]. */
  async forward(input: ForwardInput, options: ForwardOptions = {}): Promise<ForwardResult> {
    if (this.disposed) throw new GpuError('Mask2Former', 'forward() after dispose()');
    const t0 = performance.now();
    let modelInput: ModelInput;
    const feeds: Record<string, HostArray> = {};
    if ('pixelValues' in input) {
      const [B, C, H, W] = input.shape;
      if (C !== 3 || input.pixelValues.length !== B * C * H * W) throw new ShapeError('Mask2Former', 'pixel_values', `[B, 3, H, W] with ${B * 3 * H * W} values`, `${input.pixelValues.length} values for [${input.shape.join(', ')}]`);
      modelInput = { kind: 'pixel-values', shape: input.shape };
      feeds.pixel_values = input.pixelValues;
    } else {
      if (!this.preprocessor) throw new GpuError('Mask2Former', 'this checkpoint has no preprocessor_config.json: pass pixelValues, or a checkpoint with one');
      input.images.forEach((img, i) => {
        checkRgba(img, `image ${i}`);
        feeds[`image.${i}`] = rgbaPixels(img);
      });
      modelInput = { kind: 'images', sizes: input.images.map((im) => [im.height, im.width] as const), preprocessor: this.preprocessor };
    }
    const intermediates = options.intermediates ?? false;
    const { graph, geometry, names } = await this.graphFor(modelInput, intermediates);
    const info = await graph.run(feeds);
    const want = options.outputs ?? (intermediates ? names.filter((n) => !n.startsWith('debug.attention_mask_raw')) : ['class_queries_logits', 'masks_queries_logits']);
    const read = await graph.read(want);
    const outputs = new Map<string, OutputTensor>();
    for (const [k, v] of read) outputs.set(k, { shape: graph.tensor(k).shape, data: v });
    const timings: Record<string, number> = { ...(info.steps ? stageTimings(info.steps) : {}), gpu_pass_wall: info.wallMs, total: performance.now() - t0 };
    return { outputs, timings, ...(info.steps ? { steps: info.steps } : {}), ...(geometry ? { geometry } : {}), graph };
  }

  get id2label(): Readonly<Record<number, string>> {
    return this.config.id2label;
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
