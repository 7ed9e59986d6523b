/**
 * `requestNodeGpu` turns Dawn's robustness transform (a clamp on every storage access) off by
 * default: maskgpu's kernels guard their own reads and writes. The same model on a device with
 * the transform on and one with it off must give the same bits: every stage of the Mask2Former
 * tiny fixture (intermediates included), with the CPU adapters' kernels. (The gpu-policy kernels
 * run with the transform off in every parity test, against HF's values.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { dawnFlags, requestNodeGpu } from '../../src/gpu/node.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { SegmentationModel } from '../../src/models/session.ts';
import { checkpointFromDir } from '../../src/cli/node-io.ts';
import { readTensors, type RefTensor } from '../fixture-files.ts';

const dir = join(process.cwd(), 'test', 'fixtures', 'mask2former', 'tiny');
const contexts: Record<string, GpuContext> = {};

beforeAll(async () => {
  for (const robustness of [true, false]) {
    for (const kernels of ['cpu'] as const) contexts[`${kernels} robustness=${robustness}`] = await requestNodeGpu({ robustness, kernels });
  }
});
afterAll(() => Object.values(contexts).forEach((c) => c.dispose()));

describe('Dawn robustness off (the Node default) gives the same bits as on', () => {
  it('flags: default off, `robustness: true` keeps the checks', () => {
    expect(dawnFlags()).toEqual(['enable-dawn-features=disable_robustness']);
    expect(dawnFlags({ robustness: false })).toEqual(['enable-dawn-features=disable_robustness']);
    expect(dawnFlags({ robustness: true })).toEqual([]);
  });

  for (const kernels of ['cpu'] as const) {
    it(`tiny fixture, every intermediate, ${kernels} kernels`, async () => {
      const pv = (await readTensors(join(dir, 'expected.safetensors'))).get('pixel_values') as RefTensor;
      const input = { pixelValues: pv.data as Float32Array, shape: pv.shape as [number, 3, number, number] };
      const outs: Map<string, Float32Array>[] = [];
      for (const robustness of [true, false]) {
        const ctx = contexts[`${kernels} robustness=${robustness}`] as GpuContext;
        const model = await SegmentationModel.load(ctx, await checkpointFromDir(dir));
        const r = await model.forward(input, { intermediates: true });
        outs.push(new Map([...r.outputs].map(([k, v]) => [k, v.data as Float32Array])));
        model.dispose();
      }
      const [on, off] = outs as [Map<string, Float32Array>, Map<string, Float32Array>];
      let differing = 0;
      let values = 0;
      for (const [name, a] of on) {
        const b = off.get(name);
        expect(b, name).toBeDefined();
        for (let i = 0; i < a.length; i++) if (!Object.is(a[i], (b as Float32Array)[i])) differing++;
        values += a.length;
      }
      console.log(`${kernels} kernels: ${on.size} outputs, ${values} values, ${differing} differ between robustness on and off`);
      expect(on.size).toBeGreaterThan(10);
      expect(differing).toBe(0);
    });
  }
});
