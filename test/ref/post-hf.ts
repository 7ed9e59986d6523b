/**
 * HF's post_process_{semantic,instance,panoptic}_segmentation (Mask2Former / MaskFormer rules) for
 * one image, restated in plain TS and computed row by row at the target size (the CPU never holds
 * [Q, H, W]), in float64 with float32 roundings where torch stores float32 tensors. The GPU path
 * must equal this at any target size; used for large targets, where HF itself needs Q x H x W.
 */
import { torchTopkUnsorted } from '../../src/post/topk.ts';
import { nearestSourceIndex, resizeBilinearRef } from './resize.ts';

export interface HfPostInput {
  /** [Q, L + 1] class logits of the image. */
  readonly cls: Float32Array;
  /** [Q, hm, wm] mask logits of the image. */
  readonly masks: Float32Array;
  readonly Q: number;
  readonly L: number;
  readonly hm: number;
  readonly wm: number;
  /** Mask2Former 384, MaskFormer null. */
  readonly intermediate: number | null;
}

export interface HfSegment {
  readonly id: number;
  readonly labelId: number;
  readonly score: number;
  readonly area: number;
}

const sigmoid = (v: number): number => Math.fround(1 / (1 + Math.exp(-v)));

function softmax(cls: Float32Array, Q: number, L1: number): Float32Array {
  const out = new Float32Array(Q * L1);
  for (let q = 0; q < Q; q++) {
    const row = cls.subarray(q * L1, (q + 1) * L1);
    const m = Math.max(...row);
    const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
    for (let c = 0; c < L1; c++) out[q * L1 + c] = Math.exp((row[c] as number) - m) / s;
  }
  return out;
}

/** The planes post-processing starts from: [Q, hs, ws] logits. */
function planes(x: HfPostInput): { p: Float32Array; hs: number; ws: number } {
  const s = x.intermediate;
  if (s === null) return { p: x.masks, hs: x.hm, ws: x.wm };
  return { p: resizeBilinearRef(x.masks, x.Q, x.hm, x.wm, s, s), hs: s, ws: s };
}

/** Bilinear (align_corners=False) taps per output index: [i0, i1, frac]. */
function taps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; f: Float64Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const f = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const src = Math.max((o + 0.5) * (inSize / outSize) - 0.5, 0);
    i0[o] = Math.min(Math.floor(src), inSize - 1);
    i1[o] = Math.min((i0[o] as number) + 1, inSize - 1);
    f[o] = src - (i0[o] as number);
  }
  return { i0, i1, f };
}

/**
 * For each target pixel, the first entry maximising bilinear(plane_k) * w_k (float32 product);
 * returns the argmax map and per-entry (argmax area, #(value >= own)).
 */
function weightedArgmax(p: Float32Array, hs: number, ws: number, entries: readonly { plane: number; w: number }[], H: number, W: number, own: number): { am: Int32Array; area: Float64Array; ownArea: Float64Array } {
  const ty = taps(hs, H);
  const tx = taps(ws, W);
  const am = new Int32Array(H * W).fill(-1);
  const area = new Float64Array(entries.length);
  const ownArea = new Float64Array(entries.length);
  for (let y = 0; y < H; y++) {
    const [y0, y1, fy] = [ty.i0[y] as number, ty.i1[y] as number, ty.f[y] as number];
    for (let x = 0; x < W; x++) {
      const [x0, x1, fx] = [tx.i0[x] as number, tx.i1[x] as number, tx.f[x] as number];
      let best = -1;
      let bestV = 0;
      entries.forEach(({ plane, w }, k) => {
        const b = plane * hs * ws;
        const top = (1 - fx) * (p[b + y0 * ws + x0] as number) + fx * (p[b + y0 * ws + x1] as number);
        const bot = (1 - fx) * (p[b + y1 * ws + x0] as number) + fx * (p[b + y1 * ws + x1] as number);
        const v = Math.fround(Math.fround((1 - fy) * top + fy * bot) * w);
        if (v >= own) ownArea[k] = (ownArea[k] as number) + 1;
        if (best < 0 || v > bestV) {
          best = k;
          bestV = v;
        }
      });
      am[y * W + x] = best;
      if (best >= 0) area[best] = (area[best] as number) + 1;
    }
  }
  return { am, area, ownArea };
}

/** post_process_semantic_segmentation with target (H, W): the label map. */
export function hfSemanticRef(x: HfPostInput, H: number, W: number): Int32Array {
  const { p, hs, ws } = planes(x);
  const sm = softmax(x.cls, x.Q, x.L + 1);
  const n = hs * ws;
  const seg = new Float32Array(x.L * n);
  for (let q = 0; q < x.Q; q++) {
    for (let i = 0; i < n; i++) {
      const s = sigmoid(p[q * n + i] as number);
      for (let c = 0; c < x.L; c++) seg[c * n + i] = (seg[c * n + i] as number) + (sm[q * (x.L + 1) + c] as number) * s;
    }
  }
  return weightedArgmax(seg, hs, ws, Array.from({ length: x.L }, (_, c) => ({ plane: c, w: 1 })), H, W, Infinity).am;
}

/** post_process_panoptic_segmentation (no fusion) with target (H, W). */
export function hfPanopticRef(x: HfPostInput, H: number, W: number, threshold = 0.5): { map: Int32Array; segments: HfSegment[] } {
  const { p, hs, ws } = planes(x);
  const probs = p.map(sigmoid);
  const sm = softmax(x.cls, x.Q, x.L + 1);
  const kept: { plane: number; w: number; label: number }[] = [];
  for (let q = 0; q < x.Q; q++) {
    let label = 0;
    for (let c = 1; c <= x.L; c++) if ((sm[q * (x.L + 1) + c] as number) > (sm[q * (x.L + 1) + label] as number)) label = c;
    const score = sm[q * (x.L + 1) + label] as number;
    if (label !== x.L && score > threshold) kept.push({ plane: q, w: score, label });
  }
  if (kept.length === 0) return { map: new Int32Array(H * W).fill(-1), segments: [] };
  const { am, area, ownArea } = weightedArgmax(probs, hs, ws, kept, H, W, 0.5);
  const ids = kept.map(() => 0);
  const segments: HfSegment[] = [];
  kept.forEach((e, k) => {
    const a = area[k] as number;
    const o = ownArea[k] as number;
    if (a > 0 && o > 0 && Math.fround(a / o) > 0.8) {
      ids[k] = segments.length + 1;
      segments.push({ id: segments.length + 1, labelId: e.label, score: Math.round(e.w * 1e6) / 1e6, area: a });
    }
  });
  return { map: am.map((k) => (k >= 0 ? (ids[k] as number) : 0)), segments };
}

/** post_process_instance_segmentation with target (H, W): binarise at the planes' size, nearest to the target. */
export function hfInstanceRef(x: HfPostInput, H: number, W: number, threshold = 0.5): { map: Int32Array; segments: HfSegment[] } {
  const { p, hs, ws } = planes(x);
  const n = hs * ws;
  const sm = softmax(x.cls, x.Q, x.L + 1);
  const flat = new Float32Array(x.Q * x.L);
  for (let q = 0; q < x.Q; q++) for (let c = 0; c < x.L; c++) flat[q * x.L + c] = sm[q * (x.L + 1) + c] as number;
  const top = torchTopkUnsorted(flat, x.Q);
  const rows = Int32Array.from({ length: H }, (_, o) => nearestSourceIndex(hs, H, o));
  const cols = Int32Array.from({ length: W }, (_, o) => nearestSourceIndex(ws, W, o));
  const sampledRows = [...new Set(rows)];
  const sampledCols = [...new Set(cols)];
  const painted = new Int32Array(n).fill(-1);
  const segments: Omit<HfSegment, 'area'>[] = [];
  top.indices.forEach((fi, j) => {
    const q = Math.floor(fi / x.L);
    let a = 0;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const v = p[q * n + i] as number;
      if (v > 0) {
        a++;
        s += sigmoid(v);
      }
    }
    const score = Math.fround((top.values[j] as number) * Math.fround(s / (a + 1e-6)));
    let nonEmpty = false;
    for (const y of sampledRows) for (const xx of sampledCols) if ((p[q * n + y * ws + xx] as number) > 0) nonEmpty = true;
    if (!nonEmpty || score < threshold) return;
    for (let i = 0; i < n; i++) if ((p[q * n + i] as number) > 0) painted[i] = segments.length;
    segments.push({ id: segments.length, labelId: fi % x.L, score: Math.round(score * 1e6) / 1e6 });
  });
  const map = new Int32Array(H * W);
  for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) map[y * W + xx] = painted[(rows[y] as number) * ws + (cols[xx] as number)] as number;
  const areas = new Float64Array(segments.length);
  for (const v of map) if (v >= 0) areas[v] = (areas[v] as number) + 1;
  return { map, segments: segments.map((s) => ({ ...s, area: areas[s.id] as number })) };
}
