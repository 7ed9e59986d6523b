/**
 * MaskFormer and OneFormer post-processing (rules MASKFORMER_POST / ONEFORMER_POST) from the
 * fixtures' logits (uploaded as the model would leave them on the GPU) against HF's
 * MaskFormerImageProcessor / OneFormerImageProcessor: label maps identical (0 pixels differ),
 * segments (id, label_id, was_fused) identical, scores within 2e-6, areas = pixels of the map.
 * OneFormer's instance task also with task_type 'panoptic' (thing_ids) and is_demo false,
 * checked against a plain-TS re-statement of HF's routine (test/ref/post.ts has the per-pixel parts).
 * MaskFormer resnet-tiny (batch of 2) runs again on a device created with kernels 'gpu': the
 * post-processing graphs take the device's policy (tiled matmul, 256-wide reductions), checked
 * from the pipelines they ask for.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { PostProcessor, type ImageSegmentation, type LogitsOnGpu, type PostProcessOptions, type Task } from '../../src/post/segment.ts';
import { MASKFORMER_POST, ONEFORMER_POST, type PostRules } from '../../src/post/rules.ts';
import { FIXTURES, readJson, readTensors, type RefTensor } from '../fixture-files.ts';
import { torchTopkUnsorted } from '../../src/post/topk.ts';
import { resizeArgmaxRef } from '../ref/post.ts';

/** OneFormerImageProcessor.post_process_instance_segmentation for one image, restated in plain TS (float64 softmax rounded to float32). */
function oneformerInstanceRef(cls: Float32Array, masks: Float32Array, Q: number, L: number, hm: number, wm: number, H: number, W: number, o: PostProcessOptions): { map: Int32Array; segments: { id: number; label_id: number; score: number }[] } {
  const flat = new Float32Array(Q * L);
  for (let q = 0; q < Q; q++) {
    const row = cls.subarray(q * (L + 1), (q + 1) * (L + 1));
    const m = Math.max(...row);
    const s = [...row].reduce((a, v) => a + Math.exp(v - m), 0);
    for (let c = 0; c < L; c++) flat[q * L + c] = Math.exp((row[c] as number) - m) / s;
  }
  const top = torchTopkUnsorted(flat, Q);
  const kept = top.indices.map((i, j) => ({ q: Math.floor(i / L), label: i % L, score: top.values[j] as number }))
    .filter((e) => !(o.is_demo ?? true) || e.score > (o.threshold ?? 0.5))
    .filter((e) => o.task_type !== 'panoptic' || (o.thing_ids ?? []).includes(e.label));
  if (kept.length === 0) return { map: new Int32Array(H * W).fill(-1), segments: [] };
  const { map: am, stats } = resizeArgmaxRef(masks, Q, hm, wm, Int32Array.from(kept, (e) => e.q), Float32Array.from(kept, (e) => e.score), H, W, 0.5);
  const ids = kept.map(() => 0);
  const segments: { id: number; label_id: number; score: number }[] = [];
  kept.forEach((e, k) => {
    const area = stats[k * 4] as number;
    const own = stats[k * 4 + 1] as number;
    if (area > 0 && own > 0 && Math.fround(area / own) > 0.8) {
      ids[k] = segments.length + 1;
      segments.push({ id: segments.length + 1, label_id: e.label, score: Math.round(e.score * 1e6) / 1e6 });
    }
  });
  return { map: am.map((k) => (k >= 0 ? (ids[k] as number) : 0)), segments };
}

interface SegInfo { id: number; label_id: number; was_fused: boolean; score: number }

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpu();
});
afterAll(() => ctx?.dispose());

/** Class logits on the host, mask logits in a GPU buffer (as a model's output graph holds them). */
function upload(cls: RefTensor, masks: RefTensor, on: GpuContext = ctx): { logits: LogitsOnGpu; buffer: GPUBuffer } {
  const data = masks.data as Float32Array;
  const buffer = on.device.createBuffer({ label: 'test:masks', size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
  on.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return { logits: { classLogits: { shape: cls.shape, data: cls.data as Float32Array }, maskLogits: { shape: masks.shape, buffer, byteOffset: 0 } }, buffer };
}

async function compare(name: string, r: ImageSegmentation, ref: RefTensor, info: SegInfo[] | undefined): Promise<void> {
  expect([r.height, r.width]).toEqual(ref.shape);
  const map = await r.labelMap();
  let diff = 0;
  for (let p = 0; p < map.length; p++) if (map[p] !== (ref.data as Int32Array)[p]) diff++;
  console.log(`${name}: ${diff} of ${map.length} pixels differ, ${r.segments.length} segments`);
  expect(diff).toBe(0);
  for (const s of r.segments) expect(s.area, `${name} segment ${s.id} area`).toBe(map.filter((v) => v === s.id).length);
  if (!info) return;
  expect(r.segments.map((s) => ({ id: s.id, label_id: s.labelId, was_fused: s.wasFused }))).toEqual(info.map((s) => ({ id: s.id, label_id: s.label_id, was_fused: s.was_fused })));
  const err = Math.max(0, ...r.segments.map((s, k) => Math.abs(s.score - info[k]!.score)));
  console.log(`${name}: max score error ${err.toExponential(2)}`);
  expect(err).toBeLessThanOrEqual(2e-6);
}

interface MaskFormerPost {
  target_sizes: [number, number][];
  post_process_instance_segmentation: { segments_info: SegInfo[] }[];
  post_process_panoptic_segmentation: { segments_info: SegInfo[] }[];
}

for (const [name, kernels] of [['swin-tiny', 'auto'], ['resnet-tiny', 'auto'], ['resnet-tiny', 'gpu']] as const) {
  describe(`maskformer/${name} post-processing (MASKFORMER_POST)${kernels === 'gpu' ? ', gpu kernels' : ''}`, () => {
    const dir = join(FIXTURES, 'maskformer', name);
    let expected: Map<string, RefTensor>;
    let post: MaskFormerPost;
    let results: Record<Task, ImageSegmentation[]>;
    let done: (() => void) | undefined;
    const used: string[] = [];
    beforeAll(async () => {
      const on = kernels === 'gpu' ? await requestNodeGpu({ kernels: 'gpu' }) : ctx;
      // The kernels (and reduction widths) the post-processing graphs compile.
      const get = on.pipelines.get.bind(on.pipelines);
      const spy = vi.spyOn(on.pipelines, 'get').mockImplementation((kernel, constants) => {
        used.push(`${kernel.name}${'WG' in constants ? `/WG=${String(constants.WG)}` : ''}`);
        return get(kernel, constants);
      });
      expected = await readTensors(join(dir, 'expected.safetensors'));
      post = readJson(join(dir, 'expected_post.json')) as MaskFormerPost;
      const { logits, buffer } = upload(expected.get('class_queries_logits')!, expected.get('masks_queries_logits')!, on);
      const pp = new PostProcessor(on, MASKFORMER_POST);
      const opts = { target_sizes: post.target_sizes };
      results = { semantic: await pp.semantic(logits, opts), instance: await pp.instance(logits, opts), panoptic: await pp.panoptic(logits, opts) };
      spy.mockRestore();
      // One call per task: every result stays valid until afterAll disposes the processor.
      done = () => {
        pp.dispose();
        buffer.destroy();
        if (on !== ctx) on.dispose();
      };
    });
    afterAll(() => done?.());
    it(`post-processing graphs use the device's ${kernels === 'gpu' ? 'gpu' : 'cpu (SwiftShader)'} kernels`, () => {
      const gpu = kernels === 'gpu';
      const names = new Set(used.map((k) => k.split('/')[0]));
      console.log(`maskformer/${name} post-processing, ${kernels} kernels: ${[...new Set(used)].join(', ')}`);
      expect(names.has('matmul-vec4')).toBe(gpu);
      expect(names.has('matmul')).toBe(!gpu);
      // The kernels that reduce with the policy's reduction workgroup (64 cpu, 256 gpu).
      for (const k of ['plane-stats', 'row-reduce']) {
        const seen = used.filter((u) => u.startsWith(`${k}/`));
        expect(seen.length).toBeGreaterThan(0);
        expect(new Set(seen)).toEqual(new Set([`${k}/WG=${gpu ? 256 : 64}`]));
      }
    });
    for (const t of ['semantic', 'instance', 'panoptic'] as Task[]) {
      it(`${t}: label maps identical, segments identical, scores within 2e-6`, async () => {
        expect(results[t].length).toBe(post.target_sizes.length);
        for (const [i, r] of results[t].entries()) {
          const ref = expected.get(t === 'semantic' ? `post_process_semantic_segmentation.${i}` : `post_process_${t}_segmentation.${i}.segmentation`)!;
          const info = t === 'semantic' ? undefined : (t === 'instance' ? post.post_process_instance_segmentation : post.post_process_panoptic_segmentation)[i]!.segments_info;
          await compare(`maskformer/${name} ${t} image ${i}`, r, ref, info);
        }
      });
    }
  });
}

interface OneFormerPost {
  target_sizes: [number, number][];
  thing_ids: number[];
  instance: { segments_info: SegInfo[] }[];
  panoptic: { segments_info: SegInfo[] }[];
}

describe('oneformer/swin-tiny post-processing (ONEFORMER_POST)', () => {
  const dir = join(FIXTURES, 'oneformer', 'swin-tiny');
  let expected: Map<string, RefTensor>;
  let post: OneFormerPost;
  let pp: PostProcessor;
  const run = async (task: Task, o: PostProcessOptions = {}): Promise<{ r: ImageSegmentation; done: () => void }> => {
    const { logits, buffer } = upload(expected.get(`${task}.class_queries_logits`)!, expected.get(`${task}.masks_queries_logits`)!);
    const [r] = await pp[task](logits, { target_sizes: post.target_sizes, ...o });
    return { r: r!, done: () => buffer.destroy() };
  };
  beforeAll(async () => {
    expected = await readTensors(join(dir, 'expected.safetensors'));
    post = readJson(join(dir, 'expected_post.json')) as OneFormerPost;
    pp = new PostProcessor(ctx, ONEFORMER_POST as PostRules);
  });
  afterAll(() => pp?.dispose());

  it('semantic (task input "semantic") equals HF', async () => {
    const { r, done } = await run('semantic');
    await compare('oneformer semantic', r, expected.get('semantic.post_process_semantic_segmentation.0')!, undefined);
    done();
  });
  it('instance (task_type instance, is_demo: compute_segments on logits) equals HF', async () => {
    const { r, done } = await run('instance');
    expect(r.background).toBe(0);
    await compare('oneformer instance', r, expected.get('instance.post_process_instance_segmentation.0.segmentation')!, post.instance[0]!.segments_info);
    done();
  });
  it('panoptic equals HF', async () => {
    const { r, done } = await run('panoptic');
    await compare('oneformer panoptic', r, expected.get('panoptic.post_process_panoptic_segmentation.0.segmentation')!, post.panoptic[0]!.segments_info);
    done();
  });
  it("instance with task_type 'panoptic' (thing_ids) and is_demo false equal a plain-TS statement of HF's routine", async () => {
    const cls = expected.get('instance.class_queries_logits')!;
    const masks = expected.get('instance.masks_queries_logits')!;
    const [, Q, L1] = cls.shape as [number, number, number];
    const [, , hm, wm] = masks.shape as [number, number, number, number];
    const [H, W] = post.target_sizes[0]!;
    for (const o of [{ task_type: 'panoptic', thing_ids: post.thing_ids }, { task_type: 'panoptic', thing_ids: [2, 3, 4] }, { is_demo: false }, { is_demo: false, threshold: 0.9 }] as PostProcessOptions[]) {
      const ref = oneformerInstanceRef(cls.data as Float32Array, masks.data as Float32Array, Q, L1 - 1, hm, wm, H, W, o);
      const { r, done } = await run('instance', o);
      const map = await r.labelMap();
      let diff = 0;
      for (let p = 0; p < map.length; p++) if (map[p] !== ref.map[p]) diff++;
      console.log(`oneformer instance ${JSON.stringify(o)}: ${diff} pixels differ from the TS statement, ${r.segments.length} segments (ref ${ref.segments.length}), background ${r.background}`);
      expect(diff).toBe(0);
      expect(r.segments.map((s) => ({ id: s.id, label_id: s.labelId, score: s.score }))).toEqual(ref.segments);
      expect(r.background).toBe(ref.segments.length === 0 && ref.map.every((v) => v === -1) ? -1 : 0);
      done();
    }
    await expect(run('instance', { task_type: 'panoptic' })).rejects.toThrow(/thing_ids/);
  });
});
