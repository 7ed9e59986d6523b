/**
 * Post-processing vs HF Mask2FormerImageProcessor on both fixtures (tiny-odd: batch of 2), all
 * three tasks, target sizes = the original image sizes: label maps equal on >= 99.9% of pixels,
 * segments (id, label_id, was_fused) identical, scores within 1e-5. Also torch's unsorted top-k
 * order, reproduced exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { SegmentationModel } from '../../src/models/session.ts';
import { PostProcessor, type ImageSegmentation, type Task } from '../../src/post/segment.ts';
import { torchTopkUnsorted } from '../../src/post/topk.ts';
import { FIXTURES, readJson, readTensors, type RefTensor } from '../fixture-files.ts';

interface SegInfo { id: number; label_id: number; was_fused: boolean; score: number }
interface PostJson {
  target_sizes: [number, number][];
  post_process_instance_segmentation: { segments_info: SegInfo[] }[];
  post_process_panoptic_segmentation: { segments_info: SegInfo[] }[];
}

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpu({ precision: 'f32' }); // HF parity is the f32 contract (f16 weights: test/gpu/f16.test.ts)
});
afterAll(() => ctx?.dispose());

for (const name of ['tiny', 'tiny-odd']) {
  describe(`mask2former/${name} post-processing`, () => {
    const dir = join(FIXTURES, 'mask2former', name);
    let expected: Map<string, RefTensor>;
    let post: PostJson;
    let results: Record<Task, ImageSegmentation[]>;

    beforeAll(async () => {
      expected = await readTensors(join(dir, 'expected.safetensors'));
      post = readJson(join(dir, 'expected_post.json')) as PostJson;
      const bytes = readFileSync(join(dir, 'model.safetensors'));
      const model = await SegmentationModel.load(ctx, { config: readJson(join(dir, 'config.json')), weights: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), name });
      const pv = expected.get('pixel_values') as RefTensor;
      const out = await model.forward({ pixelValues: pv.data as Float32Array, shape: pv.shape as [number, 3, number, number] }, { outputs: ['class_queries_logits'] });
      const cls = out.outputs.get('class_queries_logits');
      const masks = out.graph.outputBuffer('masks_queries_logits');
      const logits = { classLogits: { shape: cls!.shape, data: cls!.data as Float32Array }, maskLogits: { shape: masks.shape, buffer: masks.buffer, byteOffset: masks.byteOffset } };
      const pp = new PostProcessor(ctx);
      const opts = { target_sizes: post.target_sizes };
      results = { semantic: await pp.semantic(logits, opts), instance: await pp.instance(logits, opts), panoptic: await pp.panoptic(logits, opts) };
      // Read maps before anything else reuses the buffers.
      for (const t of ['semantic', 'instance', 'panoptic'] as Task[]) {
        for (const r of results[t]) (r as { map?: Int32Array }).map = await r.labelMap();
      }
      pp.dispose();
      model.dispose();
    });

    it('torch topk(sorted=False) order on the fixture class scores', () => {
      const cls = expected.get('class_queries_logits') as RefTensor;
      const [B, Q, L1] = cls.shape as [number, number, number];
      for (let b = 0; b < B; b++) {
        const flat = new Float32Array(Q * (L1 - 1));
        for (let q = 0; q < Q; q++) {
          const row = (cls.data as Float32Array).subarray((b * Q + q) * L1, (b * Q + q + 1) * L1);
          const m = Math.max(...row);
          const e = [...row].map((v) => Math.exp(v - m));
          const s = e.reduce((a, v) => a + v, 0);
          for (let c = 0; c < L1 - 1; c++) flat[q * (L1 - 1) + c] = (e[c] as number) / s;
        }
        const ref = [...((expected.get(`debug.post_process_instance_segmentation.${b}.topk_indices`) as RefTensor).data as BigInt64Array)].map(Number);
        expect(torchTopkUnsorted(flat, Q).indices).toEqual(ref);
      }
    });

    for (const task of ['semantic', 'instance', 'panoptic'] as Task[]) {
      it(`${task}: label maps >= 99.9% equal, segments identical, scores within 1e-5`, () => {
        results[task].forEach((r, i) => {
          const ref = expected.get(task === 'semantic' ? `post_process_semantic_segmentation.${i}` : `post_process_${task}_segmentation.${i}.segmentation`) as RefTensor;
          expect([r.height, r.width]).toEqual(ref.shape);
          const map = (r as { map?: Int32Array }).map as Int32Array;
          let diff = 0;
          for (let p = 0; p < map.length; p++) if (map[p] !== (ref.data as Int32Array)[p]) diff++;
          const agree = 1 - diff / map.length;
          console.log(`${name} ${task} image ${i}: ${diff} of ${map.length} pixels differ (${(agree * 100).toFixed(3)}% equal), ${r.segments.length} segments`);
          expect(agree).toBeGreaterThanOrEqual(0.999);
          if (task === 'semantic') return;
          const info = (task === 'instance' ? post.post_process_instance_segmentation : post.post_process_panoptic_segmentation)[i]!.segments_info;
          expect(r.segments.map((s) => ({ id: s.id, label_id: s.labelId, was_fused: s.wasFused }))).toEqual(info.map((s) => ({ id: s.id, label_id: s.label_id, was_fused: s.was_fused })));
          const scoreErr = Math.max(0, ...r.segments.map((s, k) => Math.abs(s.score - info[k]!.score)));
          console.log(`${name} ${task} image ${i}: max score error ${scoreErr.toExponential(2)}`);
          expect(scoreErr).toBeLessThanOrEqual(1e-5);
        });
      });
    }
  });
}
