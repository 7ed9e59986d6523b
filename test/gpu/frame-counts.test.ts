/**
 * GPU round trips of one segment() (tiny fixture checkpoint, Dawn), counted by wrapping the
 * device's queue and GPUBuffer.mapAsync in this test: submits, waits on onSubmittedWorkDone,
 * readbacks (mapAsync rounds: maps started together count as one) and uploads of the image's
 * pixels (writeBuffer of width * height * 4 bytes). A later overlay() must not upload them again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/gpu/device.ts';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import { Segmenter } from '../../src/segmenter.ts';
import { tinyCheckpoint, tinyImage } from '../robustness/helpers.ts';

interface Counts { submits: number; waits: number; readbacks: number; maps: number; imageUploads: number }

let gpu: GpuContext;
let seg: Segmenter;
const counts: Counts = { submits: 0, waits: 0, readbacks: 0, maps: 0, imageUploads: 0 };
let imageBytes = -1;
let mapsThisTick = false;

beforeAll(async () => {
  gpu = await requestNodeGpu();
  seg = await Segmenter.load(tinyCheckpoint(), { gpu });
  const q = gpu.device.queue;
  const submit = q.submit.bind(q);
  const done = q.onSubmittedWorkDone.bind(q);
  const write = q.writeBuffer.bind(q) as (...a: unknown[]) => void;
  q.submit = (buffers) => (counts.submits++, submit(buffers));
  q.onSubmittedWorkDone = () => (counts.waits++, done());
  (q as { writeBuffer: unknown }).writeBuffer = (...a: unknown[]) => {
    const data = a[2] as ArrayBufferLike | ArrayBufferView;
    const size = (a[4] as number | undefined) ?? ('byteLength' in data ? data.byteLength : 0);
    if (size === imageBytes) counts.imageUploads++;
    write(...a);
  };
  const proto = globalThis.GPUBuffer.prototype as { mapAsync: (...a: unknown[]) => Promise<void> };
  const map = proto.mapAsync;
  proto.mapAsync = function (this: GPUBuffer, ...a: unknown[]) {
    counts.maps++;
    if (!mapsThisTick) {
      counts.readbacks++;
      mapsThisTick = true;
      queueMicrotask(() => (mapsThisTick = false));
    }
    return map.apply(this, a);
  };
});
afterAll(() => {
  seg?.dispose();
  gpu?.dispose();
});

async function measure(job: () => Promise<unknown>): Promise<Counts> {
  await gpu.device.queue.onSubmittedWorkDone();
  const before = { ...counts };
  await job();
  return { submits: counts.submits - before.submits, waits: counts.waits - before.waits, readbacks: counts.readbacks - before.readbacks, maps: counts.maps - before.maps, imageUploads: counts.imageUploads - before.imageUploads };
}

/**
 * Measured before this path (every run waited; mask logits checked in their own round trip;
 * overlay uploaded the pixels again): panoptic and instance 8 submits, 4 waits, 4 readbacks;
 * semantic 6, 3, 3; overlay 2 submits, 1 wait, 1 readback, 1 upload.
 */
const EXPECTED = {
  // model + finite check (no wait) | class logits + NaN counts (1 readback) | post: run + read, paint: run + read
  instance: { submits: 7, waits: 0, readbacks: 3, imageUploads: 1 },
  // panoptic: one submit and one readback fewer since post-processing computes argmax and areas at the target in one pass (measured)
  panoptic: { submits: 6, waits: 0, readbacks: 2, imageUploads: 1 },
  // semantic has no paint pass
  semantic: { submits: 5, waits: 0, readbacks: 2, imageUploads: 1 },
} as const;

describe('GPU round trips per segment()', () => {
  it('no wait per run, class logits and NaN counts in one readback, overlay without a second upload', async () => {
    const img = tinyImage();
    imageBytes = img.width * img.height * 4;
    const got: Record<string, unknown> = {};
    for (const task of ['panoptic', 'instance', 'semantic'] as const) {
      await seg.segment(img, { task });
      let result: Awaited<ReturnType<Segmenter['segment']>> | undefined;
      const c = await measure(async () => (result = await seg.segment(img, { task })));
      const o = await measure(() => (result as NonNullable<typeof result>).overlay());
      console.log(`${task}: segment() ${JSON.stringify(c)}; overlay() ${JSON.stringify(o)}`);
      got[task] = { submits: c.submits, waits: c.waits, readbacks: c.readbacks, imageUploads: c.imageUploads };
      got[`${task} overlay`] = { submits: o.submits, waits: o.waits, readbacks: o.readbacks, imageUploads: o.imageUploads };
    }
    const overlay = { submits: 2, waits: 0, readbacks: 1, imageUploads: 0 };
    expect(got).toEqual({ ...EXPECTED, 'panoptic overlay': overlay, 'instance overlay': overlay, 'semantic overlay': overlay });
  });

  it("an earlier result's overlay after a later segment() of the same size (another task: the label map is kept) uploads its own pixels again, same bytes as before", async () => {
    const a = tinyImage();
    const b = { ...a, data: a.data.map((v, i) => (i % 4 === 3 ? v : 255 - v)) };
    imageBytes = a.width * a.height * 4;
    const ra = await seg.segment(a, { task: 'panoptic' });
    const first = await ra.overlay(); // reads a's pixels from the model input
    const rb = await seg.segment(b, { task: 'semantic' }); // b's pixels now fill the model input
    const again = await measure(async () => {
      const o = await ra.overlay();
      expect(Buffer.from(o.data).equals(Buffer.from(first.data)), "a's overlay after b's segment()").toBe(true);
    });
    expect(again.imageUploads, 'upload of a stale image').toBe(1);
    const ob = await rb.overlay();
    expect(Buffer.from(ob.data).equals(Buffer.from(first.data)), 'b differs from a').toBe(false);
  });
});
