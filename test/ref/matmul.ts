import { at, checkLength, checkMinLength } from './util.ts';

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * erfc(x) for x >= 3 by its continued fraction (modified Lentz):
 * erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))).
 */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = f;
  let d = 0;
  for (let n = 1; n < 10000; n++) {
    const a = n / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    c = x + a / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/**
 * erf(x) for |x| < 3 by the series erf(x) = 2/sqrt(pi) exp(-x^2) sum_n (2x^2)^n x / (1*3*...*(2n+1)),
 * whose terms are all of one sign (no cancellation).
 */
function erfSeries(x: number): number {
  const x2 = 2 * x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 10000; n++) {
    term *= x2 / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
}

/** Error function, accurate to a few ulp in float64. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 3) return erfSeries(x);
  const r = 1 - erfcContinuedFraction(ax);
  return x < 0 ? -r : r;
}

/** Complementary error function 1 - erf(x), keeping relative accuracy in the far tail. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 3) return erfcContinuedFraction(x);
  if (x <= -3) return 2 - erfcContinuedFraction(-x);
  return 1 - erfSeries(x);
}

/** Exact GELU 0.5 x (1 + erf(x / sqrt 2)), written with erfc so that large negative x keeps its tail. */
export function gelu(x: number): number {
  return 0.5 * x * erfc(-x / Math.SQRT2);
}

export type Activation = 'none' | 'relu' | 'gelu';

export function applyActivation(act: Activation, x: number): number {
  switch (act) {
    case 'none':
      return x;
    case 'relu':
      return x > 0 ? x : 0;
    case 'gelu':
      return gelu(x);
  }
}

export interface MatmulOptions {
  batch: number;
  M: number;
  N: number;
  K: number;
  /** B stored [N, K] (a PyTorch Linear weight) instead of [K, N]. */
  transB: boolean;
  /** bias indexed by n (length N) or by m (length M). */
  biasAlong: 'n' | 'm';
  act: Activation;
  /** multiplies the product before the bias (default 1). */
  alpha?: number;
  /** elements between batches of A (default M*K; 0 broadcasts one A over the batch). */
  aBatchStride?: number;
  /** elements between batches of B (default K*N; 0 broadcasts one B over the batch). */
  bBatchStride?: number;
}

/**
 * C[b, m, n] = act(alpha * sum_k A[b, m, k] * B[b, k, n] + bias), C: [batch, M, N].
 * A: [batch, M, K] (or shared); B: [batch, K, N], or [batch, N, K] with transB.
 */
export function matmulRef(
  a: Float32Array,
  b: Float32Array,
  bias: Float32Array | null,
  o: MatmulOptions,
): Float32Array {
  const { batch, M, N, K, transB, biasAlong, act } = o;
  const alpha = o.alpha ?? 1;
  const aStride = o.aBatchStride ?? M * K;
  const bStride = o.bBatchStride ?? K * N;
  checkMinLength('matmulRef', 'a', a, (batch - 1) * aStride + M * K);
  checkMinLength('matmulRef', 'b', b, (batch - 1) * bStride + K * N);
  if (bias) checkLength('matmulRef', 'bias', bias, biasAlong === 'n' ? N : M);
  const out = new Float32Array(batch * M * N);
  for (let bi = 0; bi < batch; bi++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let k = 0; k < K; k++) {
          const av = at(a, bi * aStride + m * K + k);
          const bv = transB ? at(b, bi * bStride + n * K + k) : at(b, bi * bStride + k * N + n);
          sum += av * bv;
        }
        let v = alpha * sum;
        if (bias) v += at(bias, biasAlong === 'n' ? n : m);
        out[(bi * M + m) * N + n] = applyActivation(act, v);
      }
    }
  }
  return out;
}
