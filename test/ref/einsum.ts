import { at, checkLength } from './util.ts';

/** einsum('bqc,bchw->bqhw'): emb [B, Q, C], feat [B, C, HW] -> [B, Q, HW] (mask logits). */
export function maskEinsumRef(
  emb: Float32Array,
  feat: Float32Array,
  B: number,
  Q: number,
  C: number,
  HW: number,
): Float32Array {
  checkLength('maskEinsumRef', 'emb', emb, B * Q * C);
  checkLength('maskEinsumRef', 'feat', feat, B * C * HW);
  const out = new Float32Array(B * Q * HW);
  for (let b = 0; b < B; b++) {
    for (let q = 0; q < Q; q++) {
      for (let p = 0; p < HW; p++) {
        let sum = 0;
        for (let c = 0; c < C; c++) sum += at(emb, (b * Q + q) * C + c) * at(feat, (b * C + c) * HW + p);
        out[(b * Q + q) * HW + p] = sum;
      }
    }
  }
  return out;
}
