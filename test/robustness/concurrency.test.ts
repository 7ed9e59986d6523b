/**
 * Concurrency and device loss through the public API (tiny fixture checkpoint, Dawn):
 * - 8 segment() calls in flight on one Segmenter (same and different image sizes) each return
 *   their own image's segments, equal to the same calls made one after another;
 * - an in-flight call on a device that is lost rejects with DeviceLostError;
 * - Segmenter.load() on a lost device rejects with DeviceLostError;
 * - recovery as the README documents: dispose(), load() again on a new device.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceLostError } from '../../src/errors.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import { Segmenter, type SegmentationResult } from '../../src/segmenter.ts';
import { crop, tinyCheckpoint, tinyImage } from './helpers.ts';

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
