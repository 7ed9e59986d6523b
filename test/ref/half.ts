/**
 * IEEE binary16 rounding in plain arithmetic (no bit tricks), the reference for the f16 weight
 * conversion: round to nearest, ties to even, on the grid of the value's binade (subnormals:
 * the fixed step 2^-24). Returns +-Infinity past f16's range, NaN for NaN.
 */
export function roundToF16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const ax = Math.abs(x);
  const e = Math.max(Math.floor(Math.log2(ax)), -14);
  // log2 can be off by one near powers of two: fix the binade exactly.
  const binade = 2 ** e <= ax ? (2 ** (e + 1) <= ax ? e + 1 : e) : Math.max(e - 1, -14);
  const step = 2 ** (binade - 10);
  const q = ax / step;
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r += 1;
  const v = r * step;
  if (v > 65504) return x > 0 ? Infinity : -Infinity;
  return x > 0 ? v : -v;
}

/** `roundToF16` over an array (what a matmul sees when its weight is stored as f16). */
export function roundArrayToF16(a: Float32Array): Float32Array {
  return Float32Array.from(a, roundToF16);
}
