/**
 * The DETR-style sine position embedding (normalised) of MaskFormer, Mask2Former and OneFormer, computed on the CPU because it
 * depends only on the map size. Mirrors HF's float32 arithmetic step by step (Math.fround).
 *   y_embed = (i + 1) / (H + 1e-6) * 2pi, x_embed likewise; dim_t[k] = T^(2 floor(k/2) / npf)
 *   channel k < npf: pos_y (sin for even k, cos for odd k); channel npf + k: pos_x
 */
const f = Math.fround;

/** Returns [h*w, 2*npf] (token-major, row-major tokens), the layout attention consumes. */
export function sinePositionEmbedding(h: number, w: number, npf: number, temperature = 10000): Float32Array {
  const scale = f(2 * Math.PI);
  const eps = 1e-6;
  const dimT = new Float32Array(npf);
  for (let k = 0; k < npf; k++) dimT[k] = f(Math.pow(temperature, f(f(2 * Math.floor(k / 2)) / npf)));
  const yEmb = new Float32Array(h);
  const xEmb = new Float32Array(w);
  for (let i = 0; i < h; i++) yEmb[i] = f(f(f(i + 1) / f(h + eps)) * scale);
  for (let j = 0; j < w; j++) xEmb[j] = f(f(f(j + 1) / f(w + eps)) * scale);
  const C = 2 * npf;
  const out = new Float32Array(h * w * C);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const base = (i * w + j) * C;
      for (let k = 0; k < npf; k++) {
        const d = dimT[k] as number;
        const py = f((yEmb[i] as number) / d);
        const px = f((xEmb[j] as number) / d);
        out[base + k] = k % 2 === 0 ? Math.sin(py) : Math.cos(py);
        out[base + npf + k] = k % 2 === 0 ? Math.sin(px) : Math.cos(px);
      }
    }
  }
  return out;
}

/** Deformable-attention reference points of every token of every level: [S, 2] (x, y). */
export function referencePoints(levels: readonly (readonly [number, number])[]): Float32Array {
  const S = levels.reduce((a, [h, w]) => a + h * w, 0);
  const out = new Float32Array(S * 2);
  let t = 0;
  for (const [h, w] of levels) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++, t++) {
        out[t * 2] = f(f(j + 0.5) / w);
        out[t * 2 + 1] = f(f(i + 0.5) / h);
      }
    }
  }
  return out;
}
