/**
 * Concurrency, non-finite outputs and device loss through the public API (tiny fixture checkpoint, Dawn):
 * - 8 segment() calls in flight on one Segmenter (same and different image sizes) each return
 *   their own image's segments, equal to the same calls made one after another;
 * - NaN / Inf in class or mask logits (finite weights that overflow) is a NonFiniteError, not
 *   an empty segmentation;
 * - an in-flight call on a device that is lost rejects with DeviceLostError;
 * - Segmenter.load() on a lost device rejects with DeviceLostError;
 * - recovery as the README documents: dispose(), load() again on a new device.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceLostError, NonFiniteError } from '../../src/errors.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import { Segmenter, type SegmentationResult } from '../../src/segmenter.ts';
import type { WritableTensor } from '../../src/weights/safetensors.ts';
import { writeSafetensors } from '../../src/weights/safetensors.ts';
import { readTensors } from '../fixture-files.ts';
import { crop, TINY, tinyCheckpoint, tinyImage } from './helpers.ts';
import { join } from 'node:path';

let gpu: GpuContext;
let seg: Segmenter;
beforeAll(async () => {
  gpu = await requestNodeGpu();
  seg = await Segmenter.load(tinyCheckpoint(), { gpu, maxCachedGraphs: 8 });
});
afterAll(() => {
  seg?.dispose();
  gpu?.dispose();
});

const summary = (r: SegmentationResult): unknown => ({ size: [r.width, r.height], segments: r.segments.map(({ id, labelId, score, area, wasFused }) => ({ id, labelId, score, area, wasFused })) });

describe('segment() calls on one Segmenter', () => {
  it('8 concurrent calls (4 of one size, 4 of other sizes) each return their own image, as sequential calls do', async () => {
    const base = tinyImage(); // 120 x 90
    const images = [
      crop(base, 0, 0, 96, 72),
      crop(base, 24, 18, 96, 72),
      crop(base, 0, 0, 96, 72, true),
      crop(base, 12, 6, 96, 72, true),
      base,
      crop(base, 0, 0, 70, 90),
      crop(base, 30, 10, 90, 50),
      crop(base, 5, 5, 64, 85, true),
    ];
    const sequential: unknown[] = [];
    for (const img of images) sequential.push(summary(await seg.segment(img, { task: 'panoptic', threshold: 0.3 })));
    // The images differ: otherwise this test could not tell results apart.
    expect(new Set(sequential.map((s) => JSON.stringify(s))).size).toBe(images.length);
    const concurrent = await Promise.all(images.map((img) => seg.segment(img, { task: 'panoptic', threshold: 0.3 })));
    concurrent.forEach((r, i) => expect(summary(r), `image ${i}`).toEqual(sequential[i]));
    // The label map of the last call is its own (the earlier ones' buffers belong to later calls).
    const last = concurrent[concurrent.length - 1] as SegmentationResult;
    const map = await last.labelMap();
    const areas = new Map<number, number>();
    for (const id of map) areas.set(id, (areas.get(id) ?? 0) + 1);
    for (const s of last.segments) expect(areas.get(s.id), `segment ${s.id} area`).toBe(s.area);
    console.log(`8 concurrent calls: ${concurrent.map((r) => `${r.width}x${r.height}:${r.segments.length} segments`).join(', ')}`);
  });
});

/** The tiny checkpoint with every value of tensor `key` set to 3e38 (finite, overflows downstream). */
async function huge(key: string): Promise<Uint8Array> {
  const tensors: Record<string, WritableTensor> = {};
  for (const [k, t] of await readTensors(join(TINY, 'model.safetensors'))) tensors[k] = { dtype: t.dtype as WritableTensor['dtype'], shape: t.shape, data: t.data as WritableTensor['data'] };
  const t = tensors[key] as WritableTensor;
  tensors[key] = { ...t, data: new Float32Array(t.data.length).fill(3e38) };
  return writeSafetensors(tensors);
}

describe('non-finite model outputs', () => {
  const cases: [string, string][] = [
    ['class_queries_logits', 'class_predictor.weight'],
    ['masks_queries_logits', 'model.transformer_module.decoder.mask_predictor.mask_embedder.2.0.weight'],
  ];
  for (const [output, key] of cases) {
    it(`${key} at 3e38: segment() rejects with NonFiniteError naming ${output}`, async () => {
      const bad = await Segmenter.load(tinyCheckpoint({ weights: await huge(key) }), { gpu });
      try {
        const e = await bad.segment(tinyImage()).then((r) => `resolved with ${r.segments.length} segments`, (err: unknown) => err);
        console.log(`${key} = 3e38: ${String(e)}`);
        expect(e).toBeInstanceOf(NonFiniteError);
        expect((e as NonFiniteError).tensor).toBe(output);
        expect((e as NonFiniteError).count).toBeGreaterThan(0);
      } finally {
        bad.dispose();
      }
    });
  }
});

describe('device loss', () => {
  it('an in-flight segment() rejects with DeviceLostError; load() on the lost device too; dispose + load on a new device recovers', async () => {
    const image = tinyImage();
    const before = summary(await seg.segment(image));
    const inFlight = seg.segment(image);
    const queued = seg.segment(image);
    setTimeout(() => gpu.device.destroy(), 50); // what a driver reset does, as Node can simulate it
    const e = await inFlight.then(() => undefined, (err: unknown) => err);
    console.log(`in-flight call: ${String(e)}`);
    expect(e).toBeInstanceOf(DeviceLostError);
    await expect(queued).rejects.toBeInstanceOf(DeviceLostError);
    await expect(seg.segment(image)).rejects.toBeInstanceOf(DeviceLostError);
    const reload = await Segmenter.load(tinyCheckpoint(), { gpu }).then(() => undefined, (err: unknown) => err);
    console.log(`load() on the lost device: ${String(reload)}`);
    expect(reload).toBeInstanceOf(DeviceLostError);

    // Recovery (README): dispose the Segmenter, load it again on a new device.
    seg.dispose();
    gpu.dispose();
    gpu = await requestNodeGpu();
    seg = await Segmenter.load(tinyCheckpoint(), { gpu });
    expect(summary(await seg.segment(image))).toEqual(before);
  });
});
