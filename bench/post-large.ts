/**
 * Post-processing at large target sizes (issue 8): time and GPU memory per task, for the embedded
 * shapes model (20 queries, 3 labels) and for a 200-query, 133-label configuration (a random
 * checkpoint with a small backbone and the query / label counts of mask2former-swin-large-coco;
 * thresholds 0 so every query competes at every pixel, the worst case). Optionally checks the
 * result against HF's routine restated in plain TS (test/ref/post-hf.ts), which is exact but slow
 * on the CPU for large Q x H x W.
 *
 * Memory reported: model weights + the model's planned graph + the post-processing graphs (every
 * GPU buffer maskgpu holds), next to the [Q, H, W] float32 map HF materialises.
 */
import { join } from 'node:path';
import type { GpuContext } from '../src/gpu/device.ts';
import { SegmentationModel } from '../src/models/session.ts';
import { PostProcessor, type LogitsOnGpu, type PostProcessOptions, type Task } from '../src/post/segment.ts';
import { checkpointFromDir, readImage } from '../src/cli/node-io.ts';
import { hfConfigJson, randomCheckpoint, type HfShapeConfig } from '../test/ref/hf-checkpoint.ts';
import { makeRng, randn } from '../test/ref/random.ts';
import { hfInstanceRef, hfPanopticRef, hfSemanticRef, type HfPostInput } from '../test/ref/post-hf.ts';

export type LargeConfig = 'shapes' | 'q200';

/** A small random Mask2Former with the query and label counts of mask2former-swin-large-coco-panoptic. */
export const Q200: HfShapeConfig = {
  embedDim: 16, depths: [1, 1, 1, 1], numHeads: [1, 1, 2, 2], windowSize: 7, mlpRatio: 2,
  featureSize: 32, maskFeatureSize: 32, hiddenDim: 32, encoderLayers: 1, encoderFfn: 32,
  decoderLayers: 2, decoderFfn: 32, heads: 2, queries: 200, labels: 133,
};

export interface LargeCase {
  readonly config: LargeConfig;
  readonly size: readonly [number, number];
  readonly tasks?: readonly Task[];
  /** Compare with test/ref/post-hf.ts (CPU, Q x H x W work). */
  readonly reference?: boolean;
  /** Threshold 1 (no query kept): the same graphs and GPU memory without the per-query work, for memory on slow adapters. */
  readonly memoryOnly?: boolean;
}

const MB = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

export async function postLargeBench(ctx: GpuContext, cases: readonly LargeCase[], log: (l: string) => void = console.log): Promise<string[]> {
  const rows: string[] = [];
  log(`adapter: ${ctx.adapterName}`);
  for (const config of [...new Set(cases.map((c) => c.config))]) {
    let model: SegmentationModel;
    let options: PostProcessOptions = {};
    let fwd;
    if (config === 'shapes') {
      const dir = join(import.meta.dirname, '..', 'weights', 'shapes');
      model = await SegmentationModel.load(ctx, await checkpointFromDir(dir));
      fwd = await model.forward({ images: [readImage(join(dir, 'example-0.png'))] });
    } else {
      model = await SegmentationModel.load(ctx, { config: hfConfigJson(Q200), weights: randomCheckpoint(Q200, 7), name: 'random 200-query' });
      fwd = await model.forward({ pixelValues: randn(makeRng(7), 3 * 96 * 128), shape: [1, 3, 96, 128] });
      options = { threshold: 0 };
    }
    try {
      const cls = fwd.outputs.get('class_queries_logits')!;
      const masks = fwd.outputs.get('masks_queries_logits')!;
      const buf = fwd.graph.outputBuffer('masks_queries_logits');
      const logits: LogitsOnGpu = { classLogits: { shape: cls.shape, data: cls.data as Float32Array }, maskLogits: { shape: masks.shape, buffer: buf.buffer, byteOffset: buf.byteOffset } };
      const [, Q, L1] = cls.shape as [number, number, number];
      const [, , hm, wm] = masks.shape as [number, number, number, number];
      const input: HfPostInput = { cls: cls.data as Float32Array, masks: masks.data as Float32Array, Q, L: L1 - 1, hm, wm, intermediate: 384 };
      const modelBytes = model.weights.bytes + fwd.graph.stats.bytes;
      log(`${config}: ${Q} queries, ${L1 - 1} labels, mask logits ${hm}x${wm}; model GPU memory ${MB(modelBytes)} (weights ${MB(model.weights.bytes)} + graph ${MB(fwd.graph.stats.bytes)})`);
      for (const c of cases.filter((x) => x.config === config)) {
        const [H, W] = c.size;
        for (const task of c.tasks ?? (['semantic', 'instance', 'panoptic'] as const)) {
          const pp = new PostProcessor(ctx);
          try {
            const t0 = performance.now();
            const [r] = await pp[task](logits, { ...options, ...(c.memoryOnly ? { threshold: 1 } : {}), target_sizes: [[H, W]] });
            const ms = performance.now() - t0;
            const t1 = performance.now();
            const map = await r!.labelMap();
            const readMs = performance.now() - t1;
            let check = '';
            if (c.reference) {
              const ref = task === 'semantic' ? hfSemanticRef(input, H, W) : task === 'instance' ? hfInstanceRef(input, H, W, options.threshold) : hfPanopticRef(input, H, W, options.threshold);
              const refMap = ref instanceof Int32Array ? ref : ref.map;
              let diff = 0;
              for (let p = 0; p < map.length; p++) if (map[p] !== refMap[p]) diff++;
              check = `, ${diff} pixels differ from HF's routine`;
            }
            const post = pp.memory.bytes;
            const row = `${config} ${task} ${W}x${H}${c.memoryOnly ? ' (threshold 1: memory only)' : ''}: post ${(ms / 1000).toFixed(1)} s (+ map readback ${(readMs / 1000).toFixed(1)} s), ${r!.segments.length} segments${check}; GPU memory: post graphs ${MB(post)} (${(post / (H * W)).toFixed(1)} B/pixel), peak with the model ${MB(post + modelBytes)}; HF's [Q, H, W] f32: ${MB(Q * H * W * 4)}`;
            log(row);
            rows.push(row);
          } finally {
            pp.dispose();
          }
        }
      }
    } finally {
      model.dispose();
    }
  }
  return rows;
}
