import { at, checkLength } from './util.ts';

/**
 * LayerNorm over the last dim of (x + residual): x, residual: [rows, C]; gamma, beta: [C].
 * Biased variance (divide by C), as torch.nn.LayerNorm.
 */
export function layerNormRef(
  x: Float32Array,
  rows: number,
  C: number,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
  residual?: Float32Array,
): Float32Array {
  checkLength('layerNormRef', 'x', x, rows * C);
  checkLength('layerNormRef', 'gamma', gamma, C);
  checkLength('layerNormRef', 'beta', beta, C);
  if (residual) checkLength('layerNormRef', 'residual', residual, rows * C);
  const out = new Float32Array(rows * C);
  const v = new Float64Array(C);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let c = 0; c < C; c++) {
      v[c] = at(x, r * C + c) + (residual ? at(residual, r * C + c) : 0);
      mean += at(v, c);
    }
    mean /= C;
    let variance = 0;
    for (let c = 0; c < C; c++) variance += (at(v, c) - mean) ** 2;
    variance /= C;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let c = 0; c < C; c++) {
      out[r * C + c] = (at(v, c) - mean) * inv * at(gamma, c) + at(beta, c);
    }
  }
  return out;
}

/**
 * GroupNorm: x [B, C, H, W], statistics per (batch, group) over C/groups channels x H x W
 * (biased variance), then per-channel gamma/beta, then ReLU if asked.
 */
export function groupNormRef(
  x: Float32Array,
  shape: readonly [number, number, number, number],
  groups: number,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
  relu: boolean,
): Float32Array {
  const [B, C, H, W] = shape;
  if (C % groups !== 0) throw new Error(`groupNormRef: C=${C} not divisible by groups=${groups}`);
  checkLength('groupNormRef', 'x', x, B * C * H * W);
  checkLength('groupNormRef', 'gamma', gamma, C);
  checkLength('groupNormRef', 'beta', beta, C);
  const cpg = C / groups;
  const HW = H * W;
  const count = cpg * HW;
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < groups; g++) {
      // channels g*cpg .. (g+1)*cpg-1 of batch b are contiguous
      const start = (b * C + g * cpg) * HW;
      let mean = 0;
      for (let i = 0; i < count; i++) mean += at(x, start + i);
      mean /= count;
      let variance = 0;
      for (let i = 0; i < count; i++) variance += (at(x, start + i) - mean) ** 2;
      variance /= count;
      const inv = 1 / Math.sqrt(variance + eps);
      for (let i = 0; i < count; i++) {
        const c = g * cpg + Math.floor(i / HW);
        const y = (at(x, start + i) - mean) * inv * at(gamma, c) + at(beta, c);
        out[start + i] = relu && y < 0 ? 0 : y;
      }
    }
  }
  return out;
}

/** Softmax over the last dim: x [rows, n]. Max-subtracted; a row of all -Infinity gives NaN, as torch. */
export function softmaxRef(x: Float32Array, rows: number, n: number): Float32Array {
  checkLength('softmaxRef', 'x', x, rows * n);
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, at(x, r * n + j));
    let sum = 0;
    const e = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      e[j] = Math.exp(at(x, r * n + j) - max);
      sum += at(e, j);
    }
    for (let j = 0; j < n; j++) out[r * n + j] = at(e, j) / sum;
  }
  return out;
}

/**
 * Eval-mode BatchNorm (torch CPU order): alpha = gamma / sqrt(var + eps), shift = beta - mean * alpha,
 * y = act(x * alpha + shift (+ residual)). x: [B, C, HW...]; act: 'none' | 'relu'.
 */
export function batchNormRef(
  x: Float32Array,
  shape: readonly number[],
  gamma: Float32Array,
  beta: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  eps: number,
  act: 'none' | 'relu',
  residual?: Float32Array,
): Float32Array {
  const f = Math.fround;
  const C = shape[1] as number;
  const HW = shape.slice(2).reduce((a, b) => a * b, 1);
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / HW) % C;
    const alpha = f((gamma[c] as number) / f(Math.sqrt(f((variance[c] as number) + eps))));
    const shift = f((beta[c] as number) - f((mean[c] as number) * alpha));
    let v = f(f((x[i] as number) * alpha) + shift);
    if (residual) v = f(v + (residual[i] as number));
    y[i] = act === 'relu' ? Math.max(v, 0) : v;
  }
  return y;
}
