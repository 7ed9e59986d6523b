/** CPU references of the post-processing and overlay kernels. */

/** argmax over C of x[b, c, p] (* w[b, c], skipping w < 0); first max wins; -1 if none. */
export function argmaxRef(x: Float32Array, B: number, C: number, HW: number, w?: Float32Array): Int32Array {
  const out = new Int32Array(B * HW);
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < HW; p++) {
      let best = -1;
      let bestV = 0;
      for (let c = 0; c < C; c++) {
        const wc = w ? (w[b * C + c] as number) : 1;
        if (wc < 0) continue;
        const v = Math.fround((x[(b * C + c) * HW + p] as number) * wc);
        if (best < 0 || v > bestV) {
          best = c;
          bestV = v;
        }
      }
      out[b * HW + p] = best;
    }
  }
  return out;
}

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

/** Per plane c: (#(labels == c), #(x * w[c] >= thr)). */
export function panopticAreasRef(x: Float32Array, labels: Int32Array, w: Float32Array, C: number, n: number, thr: number): Float64Array {
  const out = new Float64Array(C * 2);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < n; i++) {
      if (labels[i] === c) out[c * 2] = (out[c * 2] as number) + 1;
      if (Math.fround((x[c * n + i] as number) * (w[c] as number)) >= thr) out[c * 2 + 1] = (out[c * 2 + 1] as number) + 1;
    }
  }
  return out;
}

/** Histogram of labels == base + c with sums of columns and rows: [bins, 3] (count, sx, sy). */
export function histogramRef(labels: Int32Array, bins: number, base: number, cols: number): Float64Array {
  const out = new Float64Array(bins * 3);
  labels.forEach((l, i) => {
    const c = l - base;
    if (c < 0 || c >= bins) return;
    out[c * 3] = (out[c * 3] as number) + 1;
    out[c * 3 + 1] = (out[c * 3 + 1] as number) + (i % cols);
    out[c * 3 + 2] = (out[c * 3 + 2] as number) + Math.floor(i / cols);
  });
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
