/**
 * The embedded shapes model (weights/shapes) on its example images, through the public
 * Segmenter API: the result must be what its README and examples.json describe (HF's own
 * predictions: panoptic segments with labels, scores and areas; semantic class areas).
 * Tolerances: scores within 1e-6 (HF reports them rounded to 6 decimals), areas exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { Segmenter } from '../../src/segmenter.ts';
import { checkpointFromDir, readImage } from '../../src/cli/node-io.ts';
import { REPO, readJson } from '../fixture-files.ts';

interface Example {
  file: string;
  height: number;
  width: number;
  hf_panoptic: { label: string; score: number; area: number }[];
  hf_semantic_areas: Record<string, number>;
}

const DIR = join(REPO, 'weights', 'shapes');
const examples = readJson(join(DIR, 'examples.json')) as Example[];

let gpu: GpuContext;
let segmenter: Segmenter;
beforeAll(async () => {
  gpu = await requestNodeGpu({ precision: 'f32' }); // HF parity is the f32 contract (f16 weights: test/gpu/f16.test.ts)
  segmenter = await Segmenter.load(await checkpointFromDir(DIR), { gpu });
});
afterAll(() => {
  segmenter?.dispose();
  gpu?.dispose();
});

describe('shapes model (weights/shapes) on its examples', () => {
  it('labels are object / sky / ground', () => {
    expect(segmenter.labels).toEqual({ 0: 'object', 1: 'sky', 2: 'ground' });
  });
  for (const ex of examples) {
    it(`${ex.file}: panoptic (stuff fused) and semantic agree with HF's predictions`, async () => {
      const image = readImage(join(DIR, ex.file));
      expect([image.height, image.width]).toEqual([ex.height, ex.width]);
      const pan = await segmenter.segment(image, { task: 'panoptic', label_ids_to_fuse: [1, 2] });
      const rows = pan.segments.map((s, k) => {
        const ref = ex.hf_panoptic[k];
        return `  ${s.label.padEnd(7)} score ${s.score.toFixed(6)} (HF ${ref?.score.toFixed(6)}) area ${s.area} (HF ${ref?.area})`;
      });
      console.log(`${ex.file} panoptic, timings ${JSON.stringify(Object.fromEntries(Object.entries(pan.timings).map(([k, v]) => [k, Math.round(v)])))}:\n${rows.join('\n')}`);
      expect(pan.segments.map((s) => s.label)).toEqual(ex.hf_panoptic.map((s) => s.label));
      const scoreErr = Math.max(...pan.segments.map((s, k) => Math.abs(s.score - ex.hf_panoptic[k]!.score)));
      console.log(`${ex.file} panoptic: max score error ${scoreErr.toExponential(2)} (tol 1e-6)`);
      expect(scoreErr).toBeLessThanOrEqual(1e-6 + 1e-12);
      expect(pan.segments.map((s) => s.area)).toEqual(ex.hf_panoptic.map((s) => s.area));
      const sem = await segmenter.segment(image, { task: 'semantic' });
      const areas = Object.fromEntries(sem.segments.map((s) => [s.label, s.area]));
      console.log(`${ex.file} semantic areas ${JSON.stringify(areas)} (HF ${JSON.stringify(ex.hf_semantic_areas)})`);
      expect(Object.keys(areas).sort()).toEqual(Object.keys(ex.hf_semantic_areas).sort());
      expect(areas).toEqual(ex.hf_semantic_areas);
      // Segment centres lie inside the map, and the map agrees with the reported areas.
      const map = await pan.labelMap();
      for (const s of pan.segments) {
        expect(s.cx).toBeGreaterThanOrEqual(0);
        expect(s.cy).toBeLessThan(pan.height);
        expect(map.filter((v) => v === s.id).length).toBe(s.area);
      }
    });
  }
});
