/**
 * Real-size benchmark: the exact shapes of facebook/mask2former-swin-tiny-coco-panoptic (Swin-T,
 * 133 labels, 100 queries, 47.4M parameters) with random weights, one 384x384 image, in Node on
 * whatever adapter Dawn finds (SwiftShader on a machine without a GPU).
 *
 * Reports the parameter count (from the generated file's header), load time, the first forward
 * (pipeline compilation included) vs a second one, GPU time per stage when the adapter has
 * `timestamp-query`, and GPU memory: weight buffers + the planned graph's buffers.
 *
 * Imports WGSL with `?raw`, so it runs under vite: see bench/README.md.
 */
import type { GpuContext } from '../src/gpu/device.ts';
import { SegmentationModel, type ForwardResult } from '../src/models/session.ts';
import { parseSafetensorsHeader } from '../src/weights/safetensors.ts';
import { hfConfigJson, hubShapeConfig, randomCheckpoint } from '../test/ref/hf-checkpoint.ts';
import { makeRng, randn } from '../test/ref/random.ts';

export interface RealSizeOptions {
  /** Input height and width (default 384 x 384). */
  readonly size?: readonly [number, number];
  readonly seed?: number;
  readonly log?: (line: string) => void;
}

export interface RealSizeReport {
  readonly adapter: string;
  readonly parameters: number;
  readonly tensors: number;
  readonly fileBytes: number;
  readonly generateMs: number;
  readonly loadMs: number;
  readonly firstMs: number;
  readonly secondMs: number;
  readonly stages: Readonly<Record<string, number>>;
  readonly weightBytes: number;
  readonly graphBytes: number;
  readonly tempBytes: number;
  readonly unsharedTempBytes: number;
  readonly steps: number;
}

const MB = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
const S = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** GPU ms summed by the first `depth` segments of the step labels, largest first. */
function groupSteps(result: ForwardResult, depth: number): [string, number][] {
  const out = new Map<string, number>();
  for (const s of result.steps ?? []) {
    const k = s.label.split('/').slice(0, depth).join('/');
    out.set(k, (out.get(k) ?? 0) + s.ms);
  }
  return [...out].sort((a, b) => b[1] - a[1]);
}

export async function realSizeBench(ctx: GpuContext, options: RealSizeOptions = {}): Promise<RealSizeReport> {
  const log = options.log ?? ((l: string) => console.log(l));
  const [H, W] = options.size ?? [384, 384];
  const seed = options.seed ?? 1;
  const cfg = hubShapeConfig('swin-tiny', 'coco-panoptic');

  const t0 = performance.now();
  const weights = randomCheckpoint(cfg, seed);
  const generateMs = performance.now() - t0;
  const header = parseSafetensorsHeader(weights, weights.byteLength, 'random swin-tiny-coco-panoptic');
  let parameters = 0;
  for (const t of header.tensors.values()) {
    // Parameters as model.num_parameters() counts them: float tensors, not buffers.
    if (t.dtype === 'F32' && t.name !== 'criterion.empty_weight') parameters += t.shape.reduce((a, b) => a * b, 1);
  }
  log(`adapter: ${ctx.adapterName}; timestamp-query: ${ctx.features.timestampQuery}`);
  log(`checkpoint: mask2former-swin-tiny-coco-panoptic shapes, ${header.tensors.size} tensors, ${parameters.toLocaleString('en-US')} parameters (${(parameters / 1e6).toFixed(1)}M), file ${MB(weights.byteLength)}, generated in ${S(generateMs)} (seed ${seed})`);

  const t1 = performance.now();
  const source = { config: hfConfigJson(cfg), weights, name: 'swin-tiny-coco-panoptic (random)' };
  const model = await SegmentationModel.load(ctx, source);
  const loadMs = performance.now() - t1;
  log(`load (upload + binding check): ${S(loadMs)}; weight buffers ${MB(model.weights.bytes)} in ${model.weights.count} tensors`);

  // A second load with per-step timestamps (disposed with the first).
  let profiled: SegmentationModel | undefined;
  try {
    const pixelValues = randn(makeRng(seed), 3 * H * W);
    const shape = [1, 3, H, W] as const;
    const first = await model.forward({ pixelValues, shape });
    const firstMs = first.timings.total as number;
    const second = await model.forward({ pixelValues, shape });
    const secondMs = second.timings.total as number;
    log(`input 1x3x${H}x${W}: first forward ${S(firstMs)} (graph build + pipeline compilation + pass), second ${S(secondMs)} (the pass, submit to logits read back: ${(1000 / secondMs).toFixed(3)} passes/s)`);
    // Per-step GPU times: the same graph on a model loaded with profiling (timestamps, one pass
    // per step, so its total exceeds the plain pass). MASKGPU_REAL_SIZE_PROFILE=0 skips it.
    profiled = process.env.MASKGPU_REAL_SIZE_PROFILE === '0' ? undefined : await SegmentationModel.load(ctx, source, { profile: true });
    const third = profiled ? await profiled.forward({ pixelValues, shape }) : second;
    const same = [second, third].every((r) => (first.outputs.get('class_queries_logits')?.data as Float32Array).every((v, i) => v === (r.outputs.get('class_queries_logits')?.data as Float32Array)[i]));
    for (const [k, t] of second.outputs) {
      let bad = 0;
      for (const v of t.data) if (!Number.isFinite(v)) bad++;
      log(`output ${k} [${t.shape.join(', ')}]: ${bad} non-finite values`);
    }
    log(`runs identical (logits of every pass): ${same}`);

    const stages = Object.fromEntries(Object.entries(third.timings).filter(([k]) => k !== 'total' && k !== 'gpu_pass_wall'));
    if (third.steps) {
      const gpu = third.steps.reduce((a, s) => a + s.ms, 0);
      log(`GPU time per stage (profiled pass, timestamps, one pass per step; sum ${S(gpu)} over ${third.steps.length} steps):`);
      for (const [k, ms] of groupSteps(third, 1)) log(`  ${k.padEnd(28)} ${S(ms).padStart(9)}  ${((100 * ms) / gpu).toFixed(1).padStart(5)}%`);
      log('largest sub-stages:');
      for (const [k, ms] of groupSteps(third, 2).slice(0, 12)) log(`  ${k.padEnd(40)} ${S(ms).padStart(9)}`);
      log('by op (the last label segment), largest first:');
      const byOp = new Map<string, number>();
      for (const s of third.steps ?? []) {
        const op = s.label.split('/').pop() ?? s.label;
        byOp.set(op, (byOp.get(op) ?? 0) + s.ms);
      }
      for (const [k, ms] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 15)) log(`  ${k.padEnd(40)} ${S(ms).padStart(9)}  ${((100 * ms) / gpu).toFixed(1).padStart(5)}%`);
    } else {
      log('no per-stage GPU times: not profiled, or the adapter lacks timestamp-query (wall times above)');
    }

    const stats = second.graph.stats;
    log(
      `GPU memory: weights ${MB(model.weights.bytes)} + graph ${MB(stats.bytes)} (${stats.buffers} buffers; temporaries ${MB(stats.tempBytes)}, ` +
        `${MB(stats.unsharedTempBytes)} without reuse) = ${MB(model.weights.bytes + stats.bytes)} peak for this graph`,
    );
    return {
      adapter: ctx.adapterName,
      parameters,
      tensors: header.tensors.size,
      fileBytes: weights.byteLength,
      generateMs,
      loadMs,
      firstMs,
      secondMs,
      stages,
      weightBytes: model.weights.bytes,
      graphBytes: stats.bytes,
      tempBytes: stats.tempBytes,
      unsharedTempBytes: stats.unsharedTempBytes,
      steps: stats.steps,
    };
  } finally {
    profiled?.dispose();
    model.dispose();
  }
}
