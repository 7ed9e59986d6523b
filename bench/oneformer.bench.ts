/**
 * OneFormer forward passes in Node (Dawn): the oneformer/swin-tiny fixture on image0.png (GPU
 * preprocessing included), switching the task prompt every pass (semantic -> instance ->
 * panoptic). First pass (planning + pipeline compilation) vs the median of 6 later passes; GPU
 * memory of the weights and of the one planned graph all tasks share.
 */
import { it } from 'vitest';
import { join } from 'node:path';
import { requestNodeGpu } from '../src/gpu/node.ts';
import { SegmentationModel } from '../src/models/session.ts';
import { checkpointFromDir, readImage } from '../src/cli/node-io.ts';

it('oneformer forward pass timings', async () => {
  const gpu = await requestNodeGpu();
  console.log(`adapter: ${gpu.adapterName}`);
  const dir = join(process.cwd(), 'test', 'fixtures', 'oneformer', 'swin-tiny');
  const model = await SegmentationModel.load(gpu, await checkpointFromDir(dir));
  const input = { images: [readImage(join(dir, 'image0.png'))] };
  const tasks = ['semantic', 'instance', 'panoptic'] as const;
  const t0 = performance.now();
  const first = await model.forward(input, { task: 'semantic' });
  const firstMs = performance.now() - t0;
  const ms: number[] = [];
  for (let i = 0; i < 6; i++) ms.push((await model.forward(input, { task: tasks[(i + 1) % 3] as (typeof tasks)[number] })).timings.total as number);
  ms.sort((a, b) => a - b);
  const s = first.graph.stats;
  console.log(`oneformer/swin-tiny, image0.png 130x95 -> 87x64, task switched every pass: first pass ${firstMs.toFixed(0)} ms, then median ${(ms[3] as number).toFixed(0)} ms (min ${(ms[0] as number).toFixed(0)}, max ${(ms[5] as number).toFixed(0)})`);
  console.log(`GPU memory: weights ${(model.weights.bytes / 2 ** 20).toFixed(2)} MiB, planned graph ${(s.bytes / 2 ** 20).toFixed(2)} MiB in ${s.buffers} buffers (temporaries ${(s.tempBytes / 2 ** 20).toFixed(2)} MiB instead of ${(s.unsharedTempBytes / 2 ** 20).toFixed(2)} without reuse), ${s.steps} steps`);
  model.dispose();
  gpu.dispose();
}, 1_800_000);
