/**
 * COCO outputs: pycocotools' compressed RLE strings (expected strings are pycocotools' own
 * output for 25x25 masks, as quoted by pytorchcocotools' tests that compare against it), RLE
 * of every segment of random label maps on awkward shapes decoding back to the exact masks,
 * panoptic PNG ids as RGB with bbox / area per segment.
 */
import { describe, expect, it } from 'vitest';
import { rleCountsByLabel, rleFromString, rleToString, toCoco, type CocoInstances, type CocoPanoptic, type CocoSource } from '../../src/coco.ts';
import { makeRng } from '../ref/random.ts';

/** Column-major (COCO) run-length decode to a row-major 0/1 mask. */
function decodeRle(counts: readonly number[], h: number, w: number): Uint8Array {
  const colMajor = new Uint8Array(h * w);
  let k = 0;
  counts.forEach((n, i) => {
    if (i % 2 === 1) colMajor.fill(1, k, k + n);
    k += n;
  });
  expect(k).toBe(h * w);
  const out = new Uint8Array(h * w);
  for (let x = 0; x < w; x++) for (let y = 0; y < h; y++) out[y * w + x] = colMajor[x * h + y] as number;
  return out;
}

function square(h: number, w: number, lo: number, hi: number): Int32Array {
  const m = new Int32Array(h * w).fill(-1);
  for (let y = lo; y < hi; y++) for (let x = lo; x < hi; x++) m[y * w + x] = 7;
  return m;
}

describe('COCO RLE equals pycocotools', () => {
  // pycocotools.mask.encode(np.asfortranarray(mask)) for mask[lo:hi, lo:hi] = 1 in 25x25.
  const cases: [number, number, string][] = [[0, 5, '05d00000000d?'], [5, 10, 'R45d00000000b;'], [20, 25, 'X`05d00000000']];
  for (const [lo, hi, want] of cases) {
    it(`25x25 square [${lo}:${hi}, ${lo}:${hi}] -> ${want}`, () => {
      const counts = rleCountsByLabel(square(25, 25, lo, hi), 25, 25, [7]).get(7) as number[];
      expect(rleToString(counts)).toBe(want);
      expect(rleFromString(want)).toEqual(counts);
    });
  }
  it('bbox and area as pycocotools.toBbox / area: mask[2:4, 3:6] in 10x10 -> [3, 2, 3, 2], 6', async () => {
    const map = new Int32Array(100).fill(-1);
    for (let y = 2; y < 4; y++) for (let x = 3; x < 6; x++) map[y * 10 + x] = 0;
    const src: CocoSource = { task: 'instance', width: 10, height: 10, background: -1, segments: [{ id: 0, labelId: 3, score: 0.9, area: 6 }], labelMap: async () => map };
    const c = (await toCoco(src, { imageId: 5, labels: { 3: 'cat' } })) as CocoInstances;
    expect(c.kind).toBe('instance');
    expect(c.annotations).toHaveLength(1);
    expect(c.annotations[0]).toMatchObject({ image_id: 5, category_id: 3, score: 0.9, bbox: [3, 2, 3, 2], area: 6, segmentation: { size: [10, 10] } });
    expect(c.categories).toEqual([{ id: 3, name: 'cat' }]);
  });
});

describe('RLE of random label maps decodes to the exact masks', () => {
  const shapes: [number, number][] = [[1, 1], [1, 17], [19, 1], [7, 13], [32, 33], [64, 5]];
  for (const [h, w] of shapes) {
    const seed = h * 1000 + w;
    it(`h=${h} w=${w} ids -1..4 (seed ${seed})`, () => {
      const rng = makeRng(seed);
      // Blocky maps (long runs) mixed with noise (runs of 1): both delta signs occur.
      const map = Int32Array.from({ length: h * w }, (_, p) => (rng() < 0.3 ? Math.floor(rng() * 6) - 1 : Math.floor(((p % w) * 5) / w)));
      const ids = [0, 1, 2, 3, 4];
      const all = rleCountsByLabel(map, h, w, ids);
      let maxLen = 0;
      for (const id of ids) {
        const counts = all.get(id) as number[];
        const s = rleToString(counts);
        maxLen = Math.max(maxLen, s.length);
        expect(rleFromString(s)).toEqual(counts);
        const mask = decodeRle(counts, h, w);
        for (let p = 0; p < h * w; p++) if (mask[p] !== (map[p] === id ? 1 : 0)) throw new Error(`id ${id}: pixel ${p} differs`);
      }
      console.log(`h=${h} w=${w}: ${ids.length} masks round-trip exactly, longest string ${maxLen} chars`);
    });
  }
});

describe('COCO panoptic', () => {
  // 3x4 map: segment 1 (label 0), segment 2 (label 5), background 0 in panoptic results.
  const map = Int32Array.from([1, 1, 2, 2, 1, 0, 2, 2, 0, 0, 0, 2]);
  const segments = [{ id: 1, labelId: 0, score: 0.75, area: 3 }, { id: 2, labelId: 5, score: 0.5, area: 5 }, { id: 3, labelId: 2, score: 0.4, area: 0 }];
  it('ids as RGB, 0 where no segment; segments_info with bbox and area; categories named', async () => {
    const src: CocoSource = { task: 'panoptic', width: 4, height: 3, background: 0, segments, labelMap: async () => map };
    const c = (await toCoco(src, { imageId: 2, fileName: 'dir/photo.jpg', labels: { 0: 'person', 5: 'sky' }, stuffIds: [5] })) as CocoPanoptic;
    expect(c.kind).toBe('panoptic');
    expect([...c.png.data].filter((_, i) => i % 4 === 0)).toEqual([...map]);
    expect([...c.png.data].filter((_, i) => i % 4 === 1 || i % 4 === 2).every((v) => v === 0)).toBe(true);
    expect(c.annotation.file_name).toBe('dir/photo.png');
    // Segment 3 has no pixels: not listed.
    expect(c.annotation.segments_info).toEqual([
      { id: 1, category_id: 0, iscrowd: 0, bbox: [0, 0, 2, 2], area: 3, score: 0.75 },
      { id: 2, category_id: 5, iscrowd: 0, bbox: [2, 0, 2, 3], area: 5, score: 0.5 },
    ]);
    expect(c.categories).toEqual([{ id: 0, name: 'person', isthing: 1 }, { id: 5, name: 'sky', isthing: 0 }]);
  });
  it('ids above 255 use G and B (id = R + 256 G + 65536 B)', async () => {
    const big = Int32Array.from([70000, 300]);
    const src: CocoSource = { task: 'panoptic', width: 2, height: 1, background: 0, segments: [{ id: 70000, labelId: 1, score: 1, area: 1 }, { id: 300, labelId: 1, score: 1, area: 1 }], labelMap: async () => big };
    const c = (await toCoco(src)) as CocoPanoptic;
    const d = c.png.data;
    expect([d[0], d[1], d[2], d[4], d[5], d[6]]).toEqual([70000 & 255, (70000 >> 8) & 255, 70000 >> 16, 300 & 255, 300 >> 8, 0]);
  });
  it('semantic results: one segment per class, id = label id + 1, no score', async () => {
    const sem = Int32Array.from([0, 0, 4, 4]);
    const src: CocoSource = { task: 'semantic', width: 2, height: 2, background: -1, segments: [{ id: 0, labelId: 0, score: Number.NaN, area: 2 }, { id: 4, labelId: 4, score: Number.NaN, area: 2 }], labelMap: async () => sem };
    const c = (await toCoco(src)) as CocoPanoptic;
    expect(c.annotation.segments_info.map((s) => [s.id, s.category_id, 'score' in s])).toEqual([[1, 0, false], [5, 4, false]]);
    expect([...c.png.data].filter((_, i) => i % 4 === 0)).toEqual([1, 1, 5, 5]);
  });
});
