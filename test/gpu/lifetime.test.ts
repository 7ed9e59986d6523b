/**
 * GPU buffer lifetimes through the public API: repeated segmentations keep the number of live
 * buffers and their bytes flat, and dispose() frees every buffer maskgpu created.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { Segmenter } from '../../src/segmenter.ts';
import { SegmentationModel } from '../../src/models/session.ts';
import { readImage } from '../../src/cli/node-io.ts';
import { readFileSync } from 'node:fs';
import { FIXTURES, readJson } from '../fixture-files.ts';

let gpu: GpuContext;
const live = new Map<GPUBuffer, number>();
beforeAll(async () => {
  gpu = await requestNodeGpu();
  const device = gpu.device;
  const create = device.createBuffer.bind(device);
  device.createBuffer = (d: GPUBufferDescriptor) => {
    const b = create(d);
    live.set(b, d.size);
    const destroy = b.destroy.bind(b);
    b.destroy = () => {
      live.delete(b);
      destroy();
    };
    return b;
  };
});
afterAll(() => gpu?.dispose());

const stats = (): { buffers: number; bytes: number } => ({ buffers: live.size, bytes: [...live.values()].reduce((a, b) => a + b, 0) });

describe('buffer lifetimes', () => {
  it('repeated segmentations (4 rounds x 3 tasks) keep live buffers flat; dispose() frees them all', async () => {
    const dir = join(FIXTURES, 'mask2former', 'tiny');
    const bytes = readFileSync(join(dir, 'model.safetensors'));
    const seg = await Segmenter.load(
      { config: readJson(join(dir, 'config.json')), preprocessor: readJson(join(dir, 'preprocessor_config.json')), weights: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), name: 'tiny' },
      { gpu },
    );
    const image = readImage(join(dir, 'image0.png'));
    const afterLoad = stats();
    let second: { buffers: number; bytes: number } | undefined;
    for (let i = 0; i < 4; i++) {
      for (const task of ['semantic', 'instance', 'panoptic'] as const) {
        const r = await seg.segment(image, { task });
        await r.labelMap();
        await r.overlay();
      }
      if (i === 1) second = stats();
    }
    const last = stats();
    // resegment(): post-processing again on the last model output equals a full segment().
    // (Each map is read before the next call of the same task: that call reuses its buffer.)
    const again = await seg.resegment({ task: 'instance', threshold: 0.3 });
    const againMap = await again.labelMap();
    const full = await seg.segment(image, { task: 'instance', threshold: 0.3 });
    expect(again.segments).toEqual(full.segments);
    expect(againMap).toEqual(await full.labelMap());
    console.log(`live GPU buffers: after load ${JSON.stringify(afterLoad)}, after 2 rounds ${JSON.stringify(second)}, after 4 rounds ${JSON.stringify(last)}`);
    expect(last).toEqual(second);
    seg.dispose();
    console.log(`after dispose: ${JSON.stringify(stats())}`);
    expect(stats().buffers).toBe(0);
  });

  it('MaskFormer (ResNet, batch of 2): repeated forward passes keep live buffers flat; dispose() frees them all; a Segmenter load leaves nothing behind', async () => {
    const dir = join(FIXTURES, 'maskformer', 'resnet-tiny');
    const bytes = readFileSync(join(dir, 'model.safetensors'));
    const source = { config: readJson(join(dir, 'config.json')), preprocessor: readJson(join(dir, 'preprocessor_config.json')), weights: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), name: 'resnet-tiny' };
    const model = await SegmentationModel.load(gpu, source);
    const images = [readImage(join(dir, 'image0.png')), readImage(join(dir, 'image1.png'))];
    const counts: { buffers: number; bytes: number }[] = [];
    for (let i = 0; i < 4; i++) {
      await model.forward({ images });
      counts.push(stats());
    }
    console.log(`maskformer live GPU buffers per pass: ${JSON.stringify(counts)}`);
    expect(counts[3]).toEqual(counts[1]);
    model.dispose();
    expect(stats().buffers).toBe(0);
    // Through the Segmenter (MaskFormer's post-processing rules) nothing may leak either.
    const seg = await Segmenter.load(source, { gpu });
    for (const task of ['semantic', 'instance', 'panoptic'] as const) await (await seg.segment(images[0] as (typeof images)[number], { task })).labelMap();
    seg.dispose();
    expect(stats().buffers).toBe(0);
  });
});
