/**
 * Large targets (issue 8): the embedded shapes model's output post-processed to a 12 MP phone
 * photo size (4032 x 3024) for all three tasks. Memory must grow with H x W, not Q x H x W, and
 * the result must equal HF's routine computed at that size (test/ref/post-hf.ts, row by row on
 * the CPU). Printed: pixels differing from the reference, GPU bytes of the post-processing
 * graphs vs the [Q, H, W] float32 map HF (and the earlier path) materialises. The 8000 x 8000
 * and 200-query cases live in bench/post-large.bench.ts (slow on SwiftShader).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { SegmentationModel } from '../../src/models/session.ts';
import { PostProcessor, type LogitsOnGpu, type Task } from '../../src/post/segment.ts';
import { checkpointFromDir, readImage } from '../../src/cli/node-io.ts';
import { hfInstanceRef, hfPanopticRef, hfSemanticRef, type HfPostInput } from '../ref/post-hf.ts';
import { REPO } from '../fixture-files.ts';

const [H, W] = [3024, 4032];
const MB = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

let ctx: GpuContext;
let model: SegmentationModel;
let logits: LogitsOnGpu;
let input: HfPostInput;
beforeAll(async () => {
  ctx = await requestNodeGpu();
  const dir = join(REPO, 'weights', 'shapes');
  model = await SegmentationModel.load(ctx, await checkpointFromDir(dir));
  const fwd = await model.forward({ images: [readImage(join(dir, 'example-0.png'))] });
  const cls = fwd.outputs.get('class_queries_logits')!;
  const masks = fwd.outputs.get('masks_queries_logits')!;
  const buf = fwd.graph.outputBuffer('masks_queries_logits');
  logits = { classLogits: { shape: cls.shape, data: cls.data as Float32Array }, maskLogits: { shape: masks.shape, buffer: buf.buffer, byteOffset: buf.byteOffset } };
  const [, Q, L1] = cls.shape as [number, number, number];
  const [, , hm, wm] = masks.shape as [number, number, number, number];
  input = { cls: cls.data as Float32Array, masks: masks.data as Float32Array, Q, L: L1 - 1, hm, wm, intermediate: 384 };
});
afterAll(() => {
  model?.dispose();
  ctx?.dispose();
});

describe(`shapes model, target ${W}x${H}`, () => {
  for (const task of ['semantic', 'instance', 'panoptic'] as Task[]) {
    it(`${task}: equals HF's routine at ${W}x${H} (maps, segments and areas identical); GPU memory grows with H x W`, async () => {
      const pp = new PostProcessor(ctx);
      const t0 = performance.now();
      const [r] = await pp[task](logits, { target_sizes: [[H, W]] });
      const ms = performance.now() - t0;
      const map = await r!.labelMap();
      const ref = task === 'semantic' ? { map: hfSemanticRef(input, H, W), segments: undefined } : task === 'instance' ? hfInstanceRef(input, H, W) : hfPanopticRef(input, H, W);
      let diff = 0;
      for (let p = 0; p < map.length; p++) if (map[p] !== ref.map[p]) diff++;
      const mem = pp.memory.bytes;
      const materialised = input.Q * H * W * 4;
      console.log(`${task} ${W}x${H}: ${diff} of ${map.length} pixels differ from HF's routine; ${r!.segments.length} segments; post-processing ${(ms / 1000).toFixed(1)} s on ${ctx.adapterName}; GPU memory of the post graphs ${MB(mem)} (${(mem / (H * W)).toFixed(1)} bytes/pixel; [Q, H, W] f32 alone would be ${MB(materialised)})`);
      // Semantic: the reference sums sum_q prob * sigmoid in another order than the GPU matmul (and torch's einsum), so a
      // pixel where two labels tie to float32 rounding may flip: at most 1 in 10^6. Instance / panoptic: identical.
      expect(diff).toBeLessThanOrEqual(task === 'semantic' ? Math.floor(1e-6 * H * W) : 0);
      if (ref.segments) {
        expect(r!.segments.map((s) => ({ id: s.id, labelId: s.labelId, area: s.area }))).toEqual(ref.segments.map((s) => ({ id: s.id, labelId: s.labelId, area: s.area })));
        const err = Math.max(0, ...r!.segments.map((s, k) => Math.abs(s.score - ref.segments[k]!.score)));
        console.log(`${task}: max score error ${err.toExponential(2)}`);
        expect(err).toBeLessThanOrEqual(2e-6);
      } else {
        const areas = new Map<number, number>();
        for (const v of map) areas.set(v, (areas.get(v) ?? 0) + 1);
        expect(r!.segments.map((s) => [s.labelId, s.area])).toEqual([...areas].sort((a, b) => a[0] - b[0]));
        expect(new Set(ref.map)).toEqual(new Set(areas.keys()));
      }
      // Linear in H x W: the label map(s), row partials and the fixed 384x384 planes; far below [Q, H, W].
      expect(mem).toBeLessThan(materialised / 2);
      pp.dispose();
    });
  }
});
