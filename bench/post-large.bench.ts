/**
 * Entry point of bench/post-large.ts under vitest (see bench/README.md). Cases from
 * MASKGPU_POST_CASES, e.g. "shapes:8000x8000:all:ref,q200:3024x4032:instance+panoptic:mem"
 * (config:HxW[:tasks joined by + or all][:ref | :mem]);
 * default: both configs at 4032x3024 and 8000x8000, every task.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { GpuContext } from '../src/gpu/device.ts';
import { requestNodeGpu } from '../src/gpu/node.ts';
import type { Task } from '../src/post/segment.ts';
import { postLargeBench, type LargeCase, type LargeConfig } from './post-large.ts';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpu();
});
afterAll(() => ctx?.dispose());

function parseCases(spec: string): LargeCase[] {
  return spec.split(',').map((c) => {
    const [config, size, tasks, flag] = c.split(':');
    const [h, w] = (size ?? '').split('x').map(Number);
    return {
      config: config as LargeConfig, size: [h ?? 0, w ?? 0] as const,
      ...(tasks && tasks !== 'all' ? { tasks: tasks.split('+') as Task[] } : {}),
      reference: flag === 'ref', memoryOnly: flag === 'mem',
    };
  });
}

it('post-processing at 4032x3024 and 8000x8000: time and GPU memory', async () => {
  const spec = process.env.MASKGPU_POST_CASES ?? 'shapes:3024x4032,shapes:8000x8000,q200:3024x4032,q200:8000x8000';
  const rows = await postLargeBench(ctx, parseCases(spec));
  expect(rows.length).toBeGreaterThan(0);
}, 24 * 3600 * 1000);
