// 2-D convolution as an implicit GEMM, tiled for GPUs (the 'gpu' kernel policy, conv: 'gemm'):
//   y[b, oc, oy, ox] = bias[oc] + sum_k Wt[oc, k] * X_b[k, oy * Wo + ox]
// with k = (ic * KH + ky) * KW + kx. Wt = w seen as [Cout, K], K = Cin * KH * KW (the PyTorch
// layout [Cout, Cin, KH, KW] flattened, contiguous along k: no repacking). X_b is batch b's im2col
// matrix [K, Ho * Wo], X_b[k, n] = x[b, ic, oy * sY - pY + ky, ox * sX - pX + kx] (n = oy * Wo + ox),
// 0 outside the image (padding, including extra bottom/right padding: Ho/Wo may cover more than
// the image). It is gathered from x while the slice is staged and never stored.
// x: [B, Cin, H, W] f32 at P.xOff; w: [Cout, Cin, KH, KW] f32 at P.wOff; bias: [Cout] at P.biasOff
// when P.hasBias == 1; y: [B, Cout, Ho, Wo] at P.yOff (per batch the [Cout, Ho * Wo] matrix C).
// Threads: matmul-tiled.wgsl's mapping with M = Cout, N = Ho * Wo, one batch per workgroup: a
// workgroup of WG x WG invocations owns a (4 WG) x (4 WG) tile of C, each invocation a 4x4 block in
// registers (rows 4*ly.., columns 4*lx..). K advances in slices of BK staged in workgroup memory as
// k-major vec4s. Global loads are coalesced: BK consecutive invocations read consecutive k of a
// weight row; consecutive invocations gather consecutive n (consecutive ox of one output row, so
// consecutive x addresses at stride 1). Each invocation gathers one im2col column (n fixed for the
// whole K loop, so n -> (oy, ox) is divided once) at every WG/4-th k of a slice.
// Out-of-range elements load as 0 and are never stored; no invocation returns before a barrier.
// Linear workgroup id = b * tilesM * tilesN + tileM * tilesN + tileN. Reference: test/ref/conv.ts.

override WG: u32; // invocations per side; the C tile is 4 * WG square (WG a multiple of 4, checked in TS)
override BK: u32; // k per slice

struct Params {
  B: u32, Cin: u32, H: u32, W: u32,
  Cout: u32, Ho: u32, Wo: u32, KH: u32,
  KW: u32, strideY: u32, strideX: u32, padY: u32,
  padX: u32, xOff: u32, wOff: u32, biasOff: u32,
  yOff: u32, tilesM: u32, tilesN: u32, hasBias: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

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

@compute @workgroup_size(WG, WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
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
      let v = w[P.wOff + min(oc, P.Cout - 1u) * K + min(k, K - 1u)];
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
