/**
 * GPU preprocessing vs HF's slow Mask2FormerImageProcessor / MaskFormerImageProcessor (PIL): the
 * resized uint8 images must be bit exact, pixel_values (normalised, zero padded to the batch)
 * within 1e-5; then the whole model from the PNGs reproduces the logits of every fixture
 * (tiny-odd and resnet-tiny: a batch of 2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { CompiledGraph } from '../../src/graph/runner.ts';
import { parsePreprocessorConfig } from '../../src/config/index.ts';
import { batchGeometry, preprocess } from '../../src/models/common/preprocess.ts';
import { SegmentationModel } from '../../src/models/session.ts';
import * as ops from '../../src/ops/index.ts';
import { readImage } from '../../src/cli/node-io.ts';
import { maxErrors } from '../ref/compare.ts';
import { FIXTURES, readJson, readTensors, type RefTensor } from '../fixture-files.ts';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpu({ precision: 'f32' }); // HF parity is the f32 contract (f16 weights: test/gpu/f16.test.ts)
});
afterAll(() => ctx?.dispose());

const cases = [
  { family: 'mask2former', name: 'tiny', images: ['image0.png'] },
  { family: 'mask2former', name: 'tiny-odd', images: ['image0.png', 'image1.png'] },
  { family: 'maskformer', name: 'swin-tiny', images: ['image0.png'] },
  { family: 'maskformer', name: 'resnet-tiny', images: ['image0.png', 'image1.png'] },
];

for (const c of cases) {
  describe(`${c.family}/${c.name} preprocessing and end-to-end`, () => {
    const dir = join(FIXTURES, c.family, c.name);
    it(`resized_image.{i} bit exact, pixel_values within 1e-5 (${c.images.length} image(s))`, async () => {
      const expected = await readTensors(join(dir, 'expected.safetensors'));
      const cfg = parsePreprocessorConfig(readJson(join(dir, 'preprocessor_config.json')));
      const images = c.images.map((f) => readImage(join(dir, f)));
      const geo = batchGeometry(images.map((im) => [im.height, im.width] as const), cfg);
      const g = new GraphBuilder();
      g.output('pixel_values', preprocess(g, geo, cfg));
      images.forEach((im, i) => {
        const [rh, rw] = geo.resized[i] as readonly [number, number];
        g.output(`resized.${i}`, ops.pilResize(g, g.input(`raw.${i}`, [im.height, im.width], 'u32'), [rh, rw]));
      });
      const compiled = await CompiledGraph.compile(ctx, g, ctx.pipelines);
      const feeds: Record<string, Uint32Array> = {};
      images.forEach((im, i) => {
        feeds[`image.${i}`] = new Uint32Array(im.data.slice().buffer);
        feeds[`raw.${i}`] = new Uint32Array(im.data.slice().buffer);
      });
      await compiled.run(feeds);
      const out = await compiled.read([...g.outputs.keys()]);
      images.forEach((_, i) => {
        const ref = expected.get(`resized_image.${i}`) as RefTensor;
        const rgba = new Uint8Array((out.get(`resized.${i}`) as Uint32Array).buffer);
        const n = (ref.shape[0] as number) * (ref.shape[1] as number);
        let diff = 0;
        for (let p = 0; p < n; p++) for (let ch = 0; ch < 3; ch++) if (rgba[p * 4 + ch] !== (ref.data as Uint8Array)[p * 3 + ch]) diff++;
        console.log(`${c.name} resized_image.${i} [${ref.shape.join(', ')}]: ${diff} of ${n * 3} channel values differ`);
        expect(diff).toBe(0);
      });
      const e = maxErrors(out.get('pixel_values') as Float32Array, (expected.get('pixel_values') as RefTensor).data as Float32Array);
      console.log(`${c.name} pixel_values: max abs ${e.maxAbs.toExponential(2)} (max|ref| ${e.maxRef.toFixed(3)})`);
      expect(e.maxAbs).toBeLessThanOrEqual(1e-5);
      compiled.dispose();
    });

    it('images -> logits (GPU preprocessing + model) within 1e-4 x max|ref|', async () => {
      const expected = await readTensors(join(dir, 'expected.safetensors'));
      const bytes = readFileSync(join(dir, 'model.safetensors'));
      const model = await SegmentationModel.load(ctx, {
        config: readJson(join(dir, 'config.json')),
        preprocessor: readJson(join(dir, 'preprocessor_config.json')),
        weights: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        name: c.name,
      });
      expect(model.spec.family).toBe(c.family);
      const result = await model.forward({ images: c.images.map((f) => readImage(join(dir, f))) });
      for (const name of ['class_queries_logits', 'masks_queries_logits']) {
        const ref = expected.get(name) as RefTensor;
        const mine = result.outputs.get(name);
        expect(mine?.shape).toEqual(ref.shape);
        const e = maxErrors(mine?.data as Float32Array, ref.data as Float32Array);
        console.log(`${c.name} from images: ${name} max abs ${e.maxAbs.toExponential(2)} rel ${e.maxRel.toExponential(2)}`);
        expect(e.maxRel).toBeLessThanOrEqual(1e-4);
      }
      model.dispose();
    });
  });
}
