/**
 * Entry point of bench/real-size.ts under vitest (see bench/README.md). Not part of the test
 * suite: vitest.config.ts does not include bench/.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { GpuContext } from '../src/gpu/device.ts';
import { requestNodeGpu } from '../src/gpu/node.ts';
import { realSizeBench } from './real-size.ts';

let ctx: GpuContext;
beforeAll(async () => {
  // MASKGPU_BENCH_ROBUSTNESS=1: keep Dawn's bounds checks on every storage access (off by default in Node).
  ctx = await requestNodeGpu({ robustness: process.env.MASKGPU_BENCH_ROBUSTNESS === '1' });
});
afterAll(() => ctx?.dispose());

it('mask2former-swin-tiny-coco-panoptic shapes, random weights, 1x3x384x384', async () => {
  const report = await realSizeBench(ctx, { size: [384, 384], seed: 1 });
  console.log(JSON.stringify(report, null, 2));
  expect(report.parameters).toBeGreaterThan(0);
});
