import { at, checkLength } from './util.ts';

export interface MsDeformAttnOptions {
  B: number;
  Lq: number;
  H: number;
  dh: number;
  /** [h, w] per level; level l occupies value tokens sum_{m<l} h_m w_m .. + h_l w_l (row-major). */
  levels: readonly (readonly [number, number])[];
  /** sampling points per head and level. */
  points: number;
}

/**
 * HF `multi_scale_deformable_attention` (pure PyTorch path) in float64.
 * value: [B, S, H*dh]; offsets: [B, Lq, H, L, P, 2] in pixels of each level (x, y);
 * weights: [B, Lq, H, L*P] (already softmaxed); ref: [Lq, 2] normalized (x, y).
 * location = ref + offset / (w_l, h_l), sampled with grid_sample(bilinear, zeros, align_corners=False):
 * pixel coordinate x = loc_x * w_l - 0.5, neighbours outside the map contribute 0.
 * Output [B, Lq, H*dh] = sum over levels and points of weight * sample.
 */
export function msDeformAttnRef(
  value: Float32Array,
  offsets: Float32Array,
  weights: Float32Array,
  ref: Float32Array,
  o: MsDeformAttnOptions,
): Float32Array {
  const { B, Lq, H, dh, levels, points: P } = o;
  const L = levels.length;
  const D = H * dh;
  const starts: number[] = [];
  let S = 0;
  for (const [h, w] of levels) {
    starts.push(S);
    S += h * w;
  }
  checkLength('msDeformAttnRef', 'value', value, B * S * D);
  checkLength('msDeformAttnRef', 'offsets', offsets, B * Lq * H * L * P * 2);
  checkLength('msDeformAttnRef', 'weights', weights, B * Lq * H * L * P);
  checkLength('msDeformAttnRef', 'ref', ref, Lq * 2);
  const out = new Float32Array(B * Lq * D);
  const acc = new Float64Array(dh);
  for (let b = 0; b < B; b++) {
    for (let q = 0; q < Lq; q++) {
      for (let h = 0; h < H; h++) {
        acc.fill(0);
        for (let l = 0; l < L; l++) {
          const [hl, wl] = levels[l] ?? [0, 0];
          const start = starts[l] ?? 0;
          for (let p = 0; p < P; p++) {
            const oi = ((((b * Lq + q) * H + h) * L + l) * P + p) * 2;
            const locX = at(ref, q * 2) + at(offsets, oi) / wl;
            const locY = at(ref, q * 2 + 1) + at(offsets, oi + 1) / hl;
            const weight = at(weights, ((b * Lq + q) * H + h) * L * P + l * P + p);
            const x = locX * wl - 0.5;
            const y = locY * hl - 0.5;
            const x0 = Math.floor(x);
            const y0 = Math.floor(y);
            const fx = x - x0;
            const fy = y - y0;
            const corners: [number, number, number][] = [
              [y0, x0, (1 - fy) * (1 - fx)],
              [y0, x0 + 1, (1 - fy) * fx],
              [y0 + 1, x0, fy * (1 - fx)],
              [y0 + 1, x0 + 1, fy * fx],
            ];
            for (const [yy, xx, cw] of corners) {
              if (yy < 0 || yy >= hl || xx < 0 || xx >= wl) continue; // zeros padding
              const token = start + yy * wl + xx;
              for (let d = 0; d < dh; d++) {
                acc[d] = at(acc, d) + weight * cw * at(value, (b * S + token) * D + h * dh + d);
              }
            }
          }
        }
        for (let d = 0; d < dh; d++) out[(b * Lq + q) * D + h * dh + d] = at(acc, d);
      }
    }
  }
  return out;
}
