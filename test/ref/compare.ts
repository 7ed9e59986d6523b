import { at } from './util.ts';

/** Error statistics of a kernel output against its reference. */
export interface MaxErrors {
  /** max |actual - expected|; Infinity if a NaN appears in either array. */
  maxAbs: number;
  /** maxAbs / max|expected| (0 if maxAbs is 0, Infinity if the reference is all zeros). */
  maxRel: number;
  /** index of the worst element (-1 for empty arrays). */
  argMax: number;
  /** max |expected| over finite elements. */
  maxRef: number;
}

/**
 * Max absolute error, and that error relative to the reference's largest magnitude (a relative
 * error per element blows up near zeros, which kernels do not preserve). Equal infinities count
 * as exact; NaN is never acceptable.
 */
export function maxErrors(actual: ArrayLike<number>, expected: ArrayLike<number>): MaxErrors {
  if (actual.length !== expected.length) {
    throw new Error(`maxErrors: length mismatch, actual ${actual.length} vs expected ${expected.length}`);
  }
  let maxAbs = 0;
  let argMax = actual.length > 0 ? 0 : -1;
  let maxRef = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = at(actual, i);
    const e = at(expected, i);
    if (Number.isFinite(e)) maxRef = Math.max(maxRef, Math.abs(e));
    let err: number;
    if (Number.isNaN(a) || Number.isNaN(e)) err = Infinity;
    else if (a === e) err = 0; // also covers equal infinities
    else err = Math.abs(a - e);
    if (err > maxAbs) {
      maxAbs = err;
      argMax = i;
    }
  }
  let maxRel: number;
  if (maxAbs === 0) maxRel = 0;
  else if (maxRef === 0) maxRel = Infinity;
  else maxRel = maxAbs / maxRef;
  return { maxAbs, maxRel, argMax, maxRef };
}
