import { at, checkLength } from './util.ts';

export interface AttentionMask {
  /** 'bool': nonzero = key blocked; 'additive': added to the logits. */
  kind: 'bool' | 'additive';
  /** [maskBatch, Lq, Lk]; batch b uses mask b % maskBatch. */
  data: Float32Array | Uint32Array;
  maskBatch: number;
}

export interface AttentionOptions {
  B: number;
  H: number;
  Lq: number;
  Lk: number;
  dh: number;
  /** logits = scale * q.k (+ bias + additive mask). */
  scale: number;
  mask?: AttentionMask;
  /** additive [H, Lq, Lk], the same for every batch (Swin relative position bias). */
  bias?: Float32Array;
  /**
   * A row whose keys are all blocked by a boolean mask: 'attend-all' ignores the mask for that row
   * (HF Mask2Former's fully-masked-row rule), 'zero' writes zeros.
   */
  maskedRow: 'attend-all' | 'zero';
}

/**
 * Multi-head scaled dot-product attention. q: [B, Lq, H*dh], k, v: [B, Lk, H*dh] (head h owns
 * channels h*dh .. h*dh+dh-1); output [B, Lq, H*dh] = softmax(logits) v per head.
 */
export function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, o: AttentionOptions): Float32Array {
  const { B, H, Lq, Lk, dh, scale, mask, bias, maskedRow } = o;
  const D = H * dh;
  checkLength('attentionRef', 'q', q, B * Lq * D);
  checkLength('attentionRef', 'k', k, B * Lk * D);
  checkLength('attentionRef', 'v', v, B * Lk * D);
  if (bias) checkLength('attentionRef', 'bias', bias, H * Lq * Lk);
  if (mask) checkLength('attentionRef', 'mask', mask.data, mask.maskBatch * Lq * Lk);
  const out = new Float32Array(B * Lq * D);
  const logits = new Float64Array(Lk);
  const allowed = new Array<boolean>(Lk);
  for (let b = 0; b < B; b++) {
    const maskBase = mask ? (b % mask.maskBatch) * Lq * Lk : 0;
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < Lq; i++) {
        let anyAllowed = false;
        for (let j = 0; j < Lk; j++) {
          let dot = 0;
          for (let d = 0; d < dh; d++) {
            dot += at(q, (b * Lq + i) * D + h * dh + d) * at(k, (b * Lk + j) * D + h * dh + d);
          }
          let l = scale * dot;
          if (bias) l += at(bias, (h * Lq + i) * Lk + j);
          let ok = true;
          if (mask) {
            const m = at(mask.data, maskBase + i * Lk + j);
            if (mask.kind === 'additive') l += m;
            else ok = m === 0;
          }
          logits[j] = l;
          allowed[j] = ok;
          anyAllowed ||= ok;
        }
        const outBase = (b * Lq + i) * D + h * dh;
        if (!anyAllowed) {
          if (maskedRow === 'zero') continue; // output stays 0
          allowed.fill(true);
        }
        let max = -Infinity;
        for (let j = 0; j < Lk; j++) if (allowed[j]) max = Math.max(max, at(logits, j));
        let sum = 0;
        for (let j = 0; j < Lk; j++) {
          const p = allowed[j] ? Math.exp(at(logits, j) - max) : 0;
          logits[j] = p; // reuse as probabilities
          sum += p;
        }
        for (let d = 0; d < dh; d++) {
          let acc = 0;
          for (let j = 0; j < Lk; j++) acc += at(logits, j) * at(v, (b * Lk + j) * D + h * dh + d);
          out[outBase + d] = acc / sum;
        }
      }
    }
  }
  return out;
}
