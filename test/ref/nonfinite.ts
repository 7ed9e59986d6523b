/** Plain-TS reference of count-nonfinite.wgsl: NaN / +-Inf values per block of `chunk` elements. */
export function countNonFiniteRef(x: Float32Array, chunk: number): Uint32Array {
  const out = new Uint32Array(Math.max(1, Math.ceil(x.length / chunk)));
  x.forEach((v, i) => {
    if (!Number.isFinite(v)) out[Math.floor(i / chunk)] = (out[Math.floor(i / chunk)] ?? 0) + 1;
  });
  return out;
}
