/**
 * Whole forward passes in Node (Dawn): the Mask2Former tiny fixture model (96x128 pixel_values),
 * the MaskFormer fixtures (Swin 64x96; ResNet batch of 2 at 88x76) and the embedded shapes model
 * (one example image, GPU preprocessing included). First pass (graph
 * planning + pipeline compilation) vs the median of 5 later passes, wall time to GPU completion.
 */
import { it } from 'vitest';
import { join } from 'node:path';
import { requestNodeGpu } from '../src/gpu/node.ts';
import { SegmentationModel } from '../src/models/session.ts';
import { checkpointFromDir, readImage } from '../src/cli/node-io.ts';
import { readTensors, type RefTensor } from '../test/fixture-files.ts';

it('forward pass timings', async () => {
  const gpu = await requestNodeGpu();
  console.log(`adapter: ${gpu.adapterName}`);
  const tinyDir = join(process.cwd(), 'test', 'fixtures', 'mask2former', 'tiny');
  const pv = (await readTensors(join(tinyDir, 'expected.safetensors'))).get('pixel_values') as RefTensor;
  const shapesDir = join(process.cwd(), 'weights', 'shapes');
  const mf = async (name: string) => {
    const dir = join(process.cwd(), 'test', 'fixtures', 'maskformer', name);
    const t = (await readTensors(join(dir, 'expected.safetensors'))).get('pixel_values') as RefTensor;
    return { name: `maskformer ${name} fixture, pixel_values ${t.shape.join('x')}`, dir, input: { pixelValues: t.data as Float32Array, shape: t.shape as [number, 3, number, number] } };
  };
  const cases = [
    { name: 'tiny fixture, pixel_values 1x3x96x128', dir: tinyDir, input: { pixelValues: pv.data as Float32Array, shape: pv.shape as [number, 3, number, number] } },
    await mf('swin-tiny'),
    await mf('resnet-tiny'),
    { name: 'shapes model, example-0.png 157x160 (preprocessing on the GPU)', dir: shapesDir, input: { images: [readImage(join(shapesDir, 'example-0.png'))] } },
  ];
  for (const c of cases) {
    const model = await SegmentationModel.load(gpu, await checkpointFromDir(c.dir));
    const t0 = performance.now();
    await model.forward(c.input);
    const first = performance.now() - t0;
    const ms: number[] = [];
    for (let i = 0; i < 5; i++) ms.push((await model.forward(c.input)).timings.total as number);
    ms.sort((a, b) => a - b);
    console.log(`${c.name}: first pass ${first.toFixed(0)} ms, then median ${(ms[2] as number).toFixed(0)} ms = ${(1000 / (ms[2] as number)).toFixed(2)} passes/s (min ${(ms[0] as number).toFixed(0)}, max ${(ms[4] as number).toFixed(0)})`);
    model.dispose();
  }
  gpu.dispose();
}, 1_800_000);
