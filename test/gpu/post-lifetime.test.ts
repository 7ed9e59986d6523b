/**
 * Post-processing results and GPU lifetimes: a result whose label map buffer was reused by a
 * later call of the same task must not return the newer image's map (StaleResultError), results
 * of other tasks stay valid, maps read before stay intact, dispose() makes results stale, and
 * repeated calls keep the processor's GPU bytes flat. Uses the maskformer/swin-tiny fixture
 * logits (no model pass).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { ShapeError, StaleResultError } from '../../src/errors.ts';
import { PostProcessor, type LogitsOnGpu } from '../../src/post/segment.ts';
import { MASKFORMER_POST } from '../../src/post/rules.ts';
import { FIXTURES, readTensors, type RefTensor } from '../fixture-files.ts';

let ctx: GpuContext;
let a: LogitsOnGpu;
let b: LogitsOnGpu;
const buffers: GPUBuffer[] = [];

function upload(cls: Float32Array, clsShape: readonly number[], masks: RefTensor): LogitsOnGpu {
  const data = masks.data as Float32Array;
  const buffer = ctx.device.createBuffer({ label: 'test:masks', size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  ctx.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  buffers.push(buffer);
  return { classLogits: { shape: clsShape, data: cls }, maskLogits: { shape: masks.shape, buffer, byteOffset: 0 } };
}

beforeAll(async () => {
  ctx = await requestNodeGpu();
  const t = await readTensors(join(FIXTURES, 'maskformer', 'swin-tiny', 'expected.safetensors'));
  const cls = t.get('class_queries_logits')!;
  const masks = t.get('masks_queries_logits')!;
  a = upload(cls.data as Float32Array, cls.shape, masks);
  // A second "image": the same shapes, mask logits negated and the labels of every query reversed (a different map for each task).
  const neg = (masks.data as Float32Array).map((v) => -v);
  const L1 = cls.shape[2] as number;
  const rev = (cls.data as Float32Array).map((v, i, all) => (i % L1 === L1 - 1 ? v : (all[i - (i % L1) + (L1 - 2 - (i % L1))] as number)));
  b = upload(rev, cls.shape, { ...masks, data: neg });
});
afterAll(() => {
  buffers.forEach((x) => x.destroy());
  ctx?.dispose();
});

describe('post-processing result lifetime', () => {
  it('a result read after a later call of the same task throws StaleResultError; read before, it keeps its map', async () => {
    const pp = new PostProcessor(ctx, MASKFORMER_POST);
    const opts = { target_sizes: [[83, 117]] as [number, number][] };
    for (const task of ['semantic', 'instance', 'panoptic'] as const) {
      const [first] = await pp[task](a, opts);
      const firstMap = await first!.labelMap();
      const [old] = await pp[task](a, opts);
      const [second] = await pp[task](b, opts);
      expect(old!.isStale()).toBe(true);
      await expect(old!.labelMap()).rejects.toBeInstanceOf(StaleResultError);
      const secondMap = await second!.labelMap();
      const differ = secondMap.some((v, i) => v !== firstMap[i]);
      console.log(`${task}: the second image's map differs from the first on ${secondMap.filter((v, i) => v !== firstMap[i]).length} pixels`);
      expect(differ).toBe(true);
      // The first map, read before, is a copy: unchanged by later calls.
      const [again] = await pp[task](a, opts);
      expect(await again!.labelMap()).toEqual(firstMap);
      expect(second!.isStale()).toBe(true);
    }
    // Tasks do not share buffers: a semantic call leaves the last panoptic result valid.
    const [pan] = await pp.panoptic(a, opts);
    await pp.semantic(b, opts);
    expect(pan!.isStale()).toBe(false);
    await expect(pan!.labelMap()).resolves.toBeInstanceOf(Int32Array);
    pp.dispose();
    expect(pan!.isStale()).toBe(true);
    await expect(pan!.labelMap()).rejects.toBeInstanceOf(StaleResultError);
  });

  it('binary maps are copied at the call: a later call does not change them', async () => {
    const pp = new PostProcessor(ctx, MASKFORMER_POST);
    const opts = { target_sizes: [[83, 117]] as [number, number][], return_binary_maps: true };
    const [r1] = await pp.instance(a, opts);
    const [r1b] = await pp.instance(a, opts);
    const ref = await r1b!.binaryMaps!();
    await pp.instance(b, opts);
    const got = await r1!.binaryMaps!();
    expect(got.length).toBe(r1!.segments.length * 83 * 117);
    expect(got).toEqual(ref);
    pp.dispose();
  });

  it('repeated calls keep GPU memory flat', async () => {
    const pp = new PostProcessor(ctx, MASKFORMER_POST);
    const opts = { target_sizes: [[83, 117]] as [number, number][] };
    const sizes: number[] = [];
    for (let i = 0; i < 4; i++) {
      for (const task of ['semantic', 'instance', 'panoptic'] as const) await (await pp[task](i % 2 ? a : b, opts))[0]!.labelMap();
      sizes.push(pp.memory.bytes);
    }
    console.log(`post-processing GPU bytes after each round: ${sizes.join(', ')}`);
    expect(new Set(sizes).size).toBe(1);
    pp.dispose();
  });
  it('bad target sizes are a ShapeError naming target_sizes, before any GPU work', async () => {
    const pp = new PostProcessor(ctx, MASKFORMER_POST);
    for (const t of [[0, 5], [70000, 10], [5.5, 3]] as [number, number][]) {
      await expect(pp.panoptic(a, { target_sizes: [t] })).rejects.toBeInstanceOf(ShapeError);
      await expect(pp.semantic(a, { target_sizes: [t] })).rejects.toThrow(/target_sizes/);
    }
    await expect(pp.instance(a, { target_sizes: [[5, 5], [5, 5]] })).rejects.toThrow(/one per image/);
    expect(pp.memory.bytes).toBe(0);
    pp.dispose();
  });
});
