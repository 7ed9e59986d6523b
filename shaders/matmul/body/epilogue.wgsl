// The matmul kernels' epilogue (matmul, matmul-tiled, matmul-vec4 and their f16-weight variants):
// writes one row of up to 4 outputs, C[b, m, n0 .. n0 + 3] = act(alpha * acc + bias), skipping
// rows >= M and columns >= N. A kernel takes it with `// #import matmul/body/epilogue`
// (src/gpu/wgsl-import.ts); the matmul bodies call it.
// #requires var P
// #requires var bias
// #requires var c
// The importing kernel declares `P: Params` (M, N, alpha, bias, biasOff, act) and the bindings
// `bias: array<f32>` and `c: array<f32>` (read_write). cBase = P.cOff + batch * P.cStride.

fn store(cBase: u32, m: u32, n0: u32, acc: vec4<f32>) {
  if (m >= P.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + j;
    if (n < P.N) {
      var v = P.alpha * acc[j];
      if (P.bias == 1u) { v += bias[P.biasOff + n]; }
      if (P.bias == 2u) { v += bias[P.biasOff + m]; }
      if (P.act == 1u) { v = max(v, 0.0); }
      c[cBase + m * P.N + n] = v;
    }
  }
}
