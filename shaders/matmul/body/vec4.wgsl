// The vec4-load matmul, written once for matmul-vec4.wgsl (f32 B) and matmul-vec4-f16.wgsl (f16 B):
// the contract (bindings, Params, layouts of B, aVec / bVec) is in those files' headers. A kernel
// takes it with `// #import matmul/body/vec4` (src/gpu/wgsl-import.ts) and calls
// matmulVec4(lid, wg, nwg) from its entry point, with @workgroup_size(WG_X, WG_Y).
// #requires override WG_X
// #requires override WG_Y
// #requires override TM
// #requires override BK
// #requires var P
// #requires var a
// #requires fn loadB
// #requires fn loadB4
// #requires fn store
// The kernel declares the bindings (a as array<vec4<f32>>), and the two lines where the element
// type of B shows: `fn loadB(e: u32) -> f32` (element e of B, widened to f32) and
// `fn loadB4(i: u32) -> vec4<f32>` (vec4 i of b, widened). `store` is matmul/body/epilogue's.
// Threads: a workgroup of WG_X x WG_Y invocations owns a (WG_Y * TM) x (WG_X * 4) tile of C;
// each invocation keeps TM x 4 outputs in registers (rows TM*ly.., columns 4*lx..), TM = 4 or 8.
// K advances in slices of BK (a multiple of 4): the A slice and the B slice are staged in
// workgroup memory k-major as vec4s (4 rows of A / 4 columns of B each), so the inner loop reads
// TM/4 vec4s of A and one of B per k. Consecutive invocations load consecutive vec4s of a row.
// Out-of-range elements load as 0 and are never stored; no invocation returns before a barrier.
// Linear workgroup id = batch * tilesM * tilesN + tileM * tilesN + tileN.

// k-major slices: As[k * (TILE_M / 4) + i] holds rows 4i..4i+3 of column k of the A tile;
// Bs[k * WG_X + j] columns 4j..4j+3 of row k of the B tile.
var<workgroup> As: array<vec4<f32>, BK * WG_Y * TM / 4u>;
var<workgroup> Bs: array<vec4<f32>, BK * WG_X>;

fn aScalar(e: u32) -> f32 { return a[e / 4u][e % 4u]; }

fn matmulVec4(lid: vec3<u32>, wg: vec3<u32>, nwg: vec3<u32>) {
  let wid = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let perBatch = P.tilesN * P.tilesM;
  let batch = wid / perBatch;
  // Whole workgroups past the end leave together (uniform: built from workgroup ids and P).
  if (batch >= P.batch) { return; }
  let t = wid % perBatch;
  let TILE_M = TM * WG_Y;
  let TILE_N = 4u * WG_X;
  let QM = TILE_M / 4u; // vec4s per k in As
  let m0 = (t / P.tilesN) * TILE_M;
  let n0 = (t % P.tilesN) * TILE_N;
  let aBase = P.aOff + batch * P.aStride;
  let bBase = P.bOff + batch * P.bStride;
  let li = lid.y * WG_X + lid.x;
  let threads = WG_X * WG_Y;
  let BK4 = BK / 4u;

  // Named accumulators, no private array: nothing indexed at run time, so compilers keep them in
  // registers. TM is an override: the TM == 8 branches fold away when it is 4.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < P.K; k0 += BK) {
    // A slice: TILE_M rows x BK.
    if (P.aVec == 1u) {
      // Vector e -> (row e / BK4, k 4 * (e % BK4)); K % 4 == 0, so a vec4 is in range or not at all.
      for (var e = li; e < TILE_M * BK4; e += threads) {
        let r = e / BK4;
        let kk = 4u * (e % BK4);
        let m = m0 + r;
        let k = k0 + kk;
        let ok = m < P.M && k < P.K;
        let v = select(vec4<f32>(0.0), a[(aBase + min(m, P.M - 1u) * P.K + min(k, P.K - 4u)) / 4u], ok);
        for (var j = 0u; j < 4u; j++) { As[(kk + j) * QM + r / 4u][r % 4u] = v[j]; }
      }
    } else {
      for (var e = li; e < TILE_M * BK; e += threads) {
        let r = e / BK;
        let kk = e % BK;
        let m = m0 + r;
        let k = k0 + kk;
        let ok = m < P.M && k < P.K;
        let v = aScalar(aBase + min(m, P.M - 1u) * P.K + min(k, P.K - 1u));
        As[kk * QM + r / 4u][r % 4u] = select(0.0, v, ok);
      }
    }
    // B slice: BK x TILE_N.
    if (P.transB == 0u && P.bVec == 1u) {
      // Vector e -> (k e / WG_X, columns 4 * (e % WG_X) ..): a vec4 of one row of B, stored as is.
      // Columns past N inside it are padding (packed weights) and are never stored.
      for (var e = li; e < BK * WG_X; e += threads) {
        let kk = e / WG_X;
        let cc = 4u * (e % WG_X);
        let n = n0 + cc;
        let k = k0 + kk;
        let ok = n < P.N && k < P.K;
        let idx = bBase + min(k, P.K - 1u) * P.ldb + min(n, (P.N - 1u) & ~3u);
        Bs[e] = select(vec4<f32>(0.0), loadB4(idx / 4u), ok);
      }
    } else if (P.transB == 1u && P.bVec == 1u) {
      // Vector e -> (column e / BK4, k 4 * (e % BK4)) of an nn.Linear weight row.
      for (var e = li; e < TILE_N * BK4; e += threads) {
        let cc = e / BK4;
        let kk = 4u * (e % BK4);
        let n = n0 + cc;
        let k = k0 + kk;
        let ok = n < P.N && k < P.K;
        let v = select(vec4<f32>(0.0), loadB4((bBase + min(n, P.N - 1u) * P.ldb + min(k, P.K - 4u)) / 4u), ok);
        for (var j = 0u; j < 4u; j++) { Bs[(kk + j) * WG_X + cc / 4u][cc % 4u] = v[j]; }
      }
    } else {
      for (var e = li; e < TILE_N * BK; e += threads) {
        var cc: u32;
        var kk: u32;
        if (P.transB == 1u) { cc = e / BK; kk = e % BK; } else { kk = e / TILE_N; cc = e % TILE_N; }
        let n = n0 + cc;
        let k = k0 + kk;
        let ok = n < P.N && k < P.K;
        let nc = min(n, P.N - 1u);
        let kc = min(k, P.K - 1u);
        var idx: u32;
        if (P.transB == 1u) { idx = bBase + nc * P.ldb + kc; } else { idx = bBase + kc * P.ldb + nc; }
        Bs[kk * WG_X + cc / 4u][cc % 4u] = select(0.0, loadB(idx), ok);
      }
    }
    workgroupBarrier();
    let aRow = lid.y * (TM / 4u);
    for (var kk = 0u; kk < BK; kk++) {
      let bv = Bs[kk * WG_X + lid.x];
      let a0 = As[kk * QM + aRow];
      acc0 += a0.x * bv;
      acc1 += a0.y * bv;
      acc2 += a0.z * bv;
      acc3 += a0.w * bv;
      if (TM == 8u) {
        let a1 = As[kk * QM + aRow + 1u];
        acc4 += a1.x * bv;
        acc5 += a1.y * bv;
        acc6 += a1.z * bv;
        acc7 += a1.w * bv;
      }
    }
    workgroupBarrier();
  }
  let cBase = P.cOff + batch * P.cStride;
  let row = m0 + TM * lid.y;
  let col = n0 + 4u * lid.x;
  store(cBase, row, col, acc0);
  store(cBase, row + 1u, col, acc1);
  store(cBase, row + 2u, col, acc2);
  store(cBase, row + 3u, col, acc3);
  if (TM == 8u) {
    store(cBase, row + 4u, col, acc4);
    store(cBase, row + 5u, col, acc5);
    store(cBase, row + 6u, col, acc6);
    store(cBase, row + 7u, col, acc7);
  }
}
