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
import { StaleResultError } from '../../src/errors.ts';

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

describe('result consistency across segment() calls (issue 8)', () => {
  it('a result read after a later segment() of the same task throws StaleResultError, never the newer image\'s map', async () => {
    const img0 = readImage(join(DIR, 'example-0.png'));
    const img1 = readImage(join(DIR, 'example-1.png'));
    const old = await segmenter.segment(img0, { task: 'panoptic' });
    // Same image size: the planned graphs run again into the same buffers.
    const kept = await segmenter.segment(img0, { task: 'panoptic', threshold: 0.6 });
    expect(old.isStale()).toBe(true);
    await expect(old.labelMap()).rejects.toBeInstanceOf(StaleResultError);
    await expect(old.overlay()).rejects.toBeInstanceOf(StaleResultError);
    await expect(old.segmentAt(1, 1)).rejects.toBeInstanceOf(StaleResultError);
    const keptMap = await kept.labelMap(); // read before the next call: stays valid
    // Another size: the graphs (and their buffers) are replaced.
    const fresh = await segmenter.segment(img1, { task: 'panoptic' });
    expect(kept.isStale()).toBe(true);
    expect(await kept.labelMap()).toBe(keptMap);
    await expect(kept.overlay()).rejects.toBeInstanceOf(StaleResultError);
    expect(fresh.isStale()).toBe(false);
    const map = await fresh.labelMap();
    expect(map.length).toBe(img1.width * img1.height);
    for (const s of fresh.segments) expect(map.filter((v) => v === s.id).length).toBe(s.area);
  });
});
