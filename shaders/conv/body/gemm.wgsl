// The implicit-GEMM conv, written once for conv2d-gemm.wgsl (f32 weights) and conv2d-gemm-f16.wgsl
// (f16 weights): the contract (bindings, Params, what is computed) is in those files' headers. A
// kernel takes it with `// #import conv/body/gemm` (src/gpu/wgsl-import.ts) and calls
// conv2dGemm(lid, wg, nwg) from its entry point, with @workgroup_size(WG, WG).
// #requires override WG
// #requires override BK
// #requires var P
// #requires var x
// #requires var bias
// #requires var y
// #requires fn loadW
// The kernel declares the bindings, and `fn loadW(i: u32) -> f32`: element i of w widened to f32
// (the one line where the element type of the weights shows).
// Threads: matmul/body/tiled.wgsl's mapping with M = Cout, N = Ho * Wo, one batch per workgroup: a
// workgroup of WG x WG invocations owns a (4 WG) x (4 WG) tile of C, each invocation a 4x4 block in
// registers (rows 4*ly.., columns 4*lx..). K advances in slices of BK staged in workgroup memory as
// k-major vec4s. Global loads are coalesced: BK consecutive invocations read consecutive k of a
// weight row; consecutive invocations gather consecutive n (consecutive ox of one output row, so
// consecutive x addresses at stride 1). Each invocation gathers one im2col column (n fixed for the
// whole K loop, so n -> (oy, ox) is divided once) at every WG/4-th k of a slice.
// Out-of-range elements load as 0 and are never stored; no invocation returns before a barrier.
// Linear workgroup id = b * tilesM * tilesN + tileM * tilesN + tileN.

// k-major slices: As[k * WG + i] holds output channels 4i..4i+3 at k; Bs[k * WG + j] pixels 4j..4j+3.
var<workgroup> As: array<vec4<f32>, BK * WG>;
var<workgroup> Bs: array<vec4<f32>, BK * WG>;

fn store(yBase: u32, oc: u32, n0: u32, acc: vec4<f32>) {
  if (oc >= P.Cout) { return; }
  var b = 0.0;
  if (P.hasBias == 1u) { b = bias[P.biasOff + oc]; }
  let N = P.Ho * P.Wo;
  for (var j = 0u; j < 4u; j++) {
    if (n0 + j < N) { y[yBase + oc * N + n0 + j] = acc[j] + b; }
  }
}

fn conv2dGemm(lid: vec3<u32>, wg: vec3<u32>, nwg: vec3<u32>) {
  let wid = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let perBatch = P.tilesM * P.tilesN;
  let batch = wid / perBatch;
  // Whole workgroups past the end leave together (uniform: built from workgroup ids and P).
  if (batch >= P.B) { return; }
  let t = wid % perBatch;
  let TILE = 4u * WG;
  let m0 = (t / P.tilesN) * TILE;
  let n0 = (t % P.tilesN) * TILE;
  let taps = P.KH * P.KW;
  let K = P.Cin * taps;
  let N = P.Ho * P.Wo;
  let plane = P.H * P.W;
  let li = lid.y * WG + lid.x; // 0 .. WG*WG-1
  let threads = WG * WG;

  // This invocation's im2col column: pixel n = n0 + col, gathered at k = k0 + row0, + rowStep, ...
  let col = li % TILE;
  let row0 = li / TILE;
  let rowStep = threads / TILE;
  let n = n0 + col;
  let nOk = n < N;
  let nc = min(n, N - 1u);
  let iy0 = i32((nc / P.Wo) * P.strideY) - i32(P.padY);
  let ix0 = i32((nc % P.Wo) * P.strideX) - i32(P.padX);
  let xBase = P.xOff + batch * P.Cin * plane;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < K; k0 += BK) {
    // Weight slice: TILE output channels x BK, element e -> (oc e / BK, k e % BK).
    for (var e = li; e < TILE * BK; e += threads) {
      let r = e / BK;
      let kk = e % BK;
      let oc = m0 + r;
      let k = k0 + kk;
      let ok = oc < P.Cout && k < K;
      let v = loadW(P.wOff + min(oc, P.Cout - 1u) * K + min(k, K - 1u));
      As[kk * WG + r / 4u][r % 4u] = select(0.0, v, ok);
    }
    // im2col slice: BK x TILE pixels, gathered from x (0 outside the image).
    for (var kk = row0; kk < BK; kk += rowStep) {
      let k = k0 + kk;
      let kc = min(k, K - 1u);
      let ic = kc / taps;
      let tap = kc % taps;
      let iy = iy0 + i32(tap / P.KW);
      let ix = ix0 + i32(tap % P.KW);
      let inside = nOk && k < K && iy >= 0 && iy < i32(P.H) && ix >= 0 && ix < i32(P.W);
      let idx = xBase + ic * plane + u32(clamp(iy, 0, i32(P.H) - 1)) * P.W + u32(clamp(ix, 0, i32(P.W) - 1));
      Bs[kk * WG + col / 4u][col % 4u] = select(0.0, x[idx], inside);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let av = As[kk * WG + lid.y];
      let bv = Bs[kk * WG + lid.x];
      acc0 += av.x * bv;
      acc1 += av.y * bv;
      acc2 += av.z * bv;
      acc3 += av.w * bv;
    }
    workgroupBarrier();
  }
  let yBase = P.yOff + batch * P.Cout * N;
  let oc = m0 + 4u * lid.y;
  let nOut = n0 + 4u * lid.x;
  store(yBase, oc, nOut, acc0);
  store(yBase, oc + 1u, nOut, acc1);
  store(yBase, oc + 2u, nOut, acc2);
  store(yBase, oc + 3u, nOut, acc3);
}
