/** CPU references of the post-processing and overlay kernels. */
import { nearestSourceIndex, resizeBilinearRef } from './resize.ts';


/** (count of x > 0, sum of sigmoid over those) per plane. */
export function positiveSigmoidRef(x: Float32Array, planes: number, n: number): Float64Array {
  const out = new Float64Array(planes * 2);
  for (let q = 0; q < planes; q++) {
    for (let i = 0; i < n; i++) {
      const v = x[q * n + i] as number;
      if (v > 0) {
        out[q * 2] = (out[q * 2] as number) + 1;
        out[q * 2 + 1] = (out[q * 2 + 1] as number) + 1 / (1 + Math.exp(-v));
      }
    }
  }
  return out;
}

/** Last listed (query, id) whose mask > 0 wins; negative query rows are skipped. */
export function paintInstancesRef(masks: Float32Array, n: number, table: Int32Array, fill: number): Int32Array {
  const out = new Int32Array(n).fill(fill);
  for (let j = 0; j < table.length / 2; j++) {
    const q = table[2 * j] as number;
    if (q < 0) continue;
    for (let p = 0; p < n; p++) if ((masks[q * n + p] as number) > 0) out[p] = table[2 * j + 1] as number;
  }
  return out;
}

/** table[idx] for 0 <= idx < count, else table[count]. */
export function remapRef(idx: Int32Array, table: Int32Array): Int32Array {
  const count = table.length - 1;
  return idx.map((k) => (k >= 0 && k < count ? (table[k] as number) : (table[count] as number)));
}

/**
 * Fused resize + weighted argmax + per-entry areas at the target size: entry k reads plane
 * plane[k] (the first < 0 ends the list) of x [P, Hi, Wi], v_k = bilinear(oy, ox) * w[k] (float32 product);
 * map = first k with the largest v_k (-1 if none); stats [K, 4] = (#(map == k), #(v_k >= own),
 * sum of columns, sum of rows over map == k).
 */
export function resizeArgmaxRef(x: Float32Array, P: number, Hi: number, Wi: number, plane: Int32Array, w: Float32Array, Ho: number, Wo: number, own?: number): { map: Int32Array; stats: Float64Array } {
  const r = resizeBilinearRef(x, P, Hi, Wi, Ho, Wo);
  const K = plane.length;
  const map = new Int32Array(Ho * Wo);
  const stats = new Float64Array(K * 4);
  for (let p = 0; p < Ho * Wo; p++) {
    let best = -1;
    let bestV = 0;
    for (let k = 0; k < K; k++) {
      const q = plane[k] as number;
      if (q < 0) break;
      const v = Math.fround((r[q * Ho * Wo + p] as number) * (w[k] as number));
      if (own !== undefined && v >= own) stats[k * 4 + 1] = (stats[k * 4 + 1] as number) + 1;
      if (best < 0 || v > bestV) {
        best = k;
        bestV = v;
      }
    }
    map[p] = best;
    if (best >= 0) {
      stats[best * 4] = (stats[best * 4] as number) + 1;
      stats[best * 4 + 2] = (stats[best * 4 + 2] as number) + (p % Wo);
      stats[best * 4 + 3] = (stats[best * 4 + 3] as number) + Math.floor(p / Wo);
    }
  }
  return { map, stats };
}

/** Nearest resize of an i32 label map and the histogram [bins, 4] (count, 0, sum cols, sum rows) of labels base + k. */
export function nearestLabelsRef(x: Int32Array, Hi: number, Wi: number, Ho: number, Wo: number, base: number, bins: number): { map: Int32Array; stats: Float64Array } {
  const map = new Int32Array(Ho * Wo);
  const stats = new Float64Array(bins * 4);
  for (let oy = 0; oy < Ho; oy++) {
    const ny = nearestSourceIndex(Hi, Ho, oy);
    for (let ox = 0; ox < Wo; ox++) {
      const l = x[ny * Wi + nearestSourceIndex(Wi, Wo, ox)] as number;
      map[oy * Wo + ox] = l;
      const k = l - base;
      if (k < 0 || k >= bins) continue;
      stats[k * 4] = (stats[k * 4] as number) + 1;
      stats[k * 4 + 2] = (stats[k * 4 + 2] as number) + ox;
      stats[k * 4 + 3] = (stats[k * 4 + 3] as number) + oy;
    }
  }
  return { map, stats };
}

/** Per plane of x [planes, Hi, Wi]: #(x > 0) among the pixels a nearest resize to [Ho, Wo] samples. */
export function sampledPositiveRef(x: Float32Array, planes: number, Hi: number, Wi: number, Ho: number, Wo: number): Float64Array {
  const rows = new Set(Array.from({ length: Ho }, (_, o) => nearestSourceIndex(Hi, Ho, o)));
  const cols = new Set(Array.from({ length: Wo }, (_, o) => nearestSourceIndex(Wi, Wo, o)));
  const out = new Float64Array(planes);
  for (let q = 0; q < planes; q++) {
    for (let i = 0; i < Hi * Wi; i++) {
      if ((x[q * Hi * Wi + i] as number) > 0 && rows.has(Math.floor(i / Wi)) && cols.has(i % Wi)) out[q] = (out[q] as number) + 1;
    }
  }
  return out;
}

/** ops' label stats u32 [K, 6] (area, own, sum x lo/hi, sum y lo/hi) as [K, 4] numbers. */
export function unpackLabelStats(st: ArrayLike<number>, K: number): Float64Array {
  const out = new Float64Array(K * 4);
  for (let k = 0; k < K; k++) {
    out[k * 4] = st[k * 6] as number;
    out[k * 4 + 1] = st[k * 6 + 1] as number;
    out[k * 4 + 2] = (st[k * 6 + 3] as number) * 2 ** 32 + (st[k * 6 + 2] as number);
    out[k * 4 + 3] = (st[k * 6 + 5] as number) * 2 ** 32 + (st[k * 6 + 4] as number);
  }
  return out;
}
