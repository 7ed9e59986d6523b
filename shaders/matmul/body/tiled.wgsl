// The workgroup-tiled matmul, written once for matmul-tiled.wgsl (f32 B) and matmul-tiled-f16.wgsl
// (f16 B): the contract (bindings, Params, what is computed) is in those files' headers. A kernel
// takes it with `// #import matmul/body/tiled` (src/gpu/wgsl-import.ts) and calls
// matmulTiled(lid, wg, nwg) from its entry point, with @workgroup_size(WG, WG).
// #requires override WG
// #requires override BK
// #requires var P
// #requires var a
// #requires fn loadB
// #requires fn store
// The kernel declares the bindings, and `fn loadB(i: u32) -> f32`: element i of b widened to f32
// (the one line where the element type of B shows). `store` is matmul/body/epilogue's.
// Threads: a workgroup of WG x WG invocations owns a (WG*4) x (WG*4) tile of C; each invocation
// keeps a 4x4 block in registers (rows 4*ly.., columns 4*lx..). K advances in slices of BK:
// the A slice [TM_ROWS, BK] and the B slice [BK, TN_COLS] are staged in workgroup memory as
// k-major vec4s, so the inner loop reads one vec4 of A and one of B per k. Global loads are
// coalesced: consecutive invocations read consecutive k of a row of A (and of a row of B when it
// is an nn.Linear weight, so weights need no repacking), or consecutive n of B [K, N].
// Out-of-range elements load as 0 and are never stored; no invocation returns before a barrier.
// Linear workgroup id = batch * tilesM * tilesN + tileM * tilesN + tileN.

// k-major slices: As[k * WG + i] holds rows 4i..4i+3 of column k; Bs[k * WG + j] columns 4j..4j+3.
var<workgroup> As: array<vec4<f32>, BK * WG>;
var<workgroup> Bs: array<vec4<f32>, BK * WG>;

fn matmulTiled(lid: vec3<u32>, wg: vec3<u32>, nwg: vec3<u32>) {
  let wid = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let perBatch = P.tilesN * P.tilesM;
  let batch = wid / perBatch;
  // Whole workgroups past the end leave together (uniform: built from workgroup ids and P).
  if (batch >= P.batch) { return; }
  let t = wid % perBatch;
  let TILE = 4u * WG;
  let m0 = (t / P.tilesN) * TILE;
  let n0 = (t % P.tilesN) * TILE;
  let aBase = P.aOff + batch * P.aStride;
  let bBase = P.bOff + batch * P.bStride;
  let li = lid.y * WG + lid.x; // 0 .. WG*WG-1
  let threads = WG * WG;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < P.K; k0 += BK) {
    // A slice: TILE rows x BK, element e -> (row e / BK, k e % BK): BK consecutive invocations
    // read one contiguous run of a row.
    for (var e = li; e < TILE * BK; e += threads) {
      let r = e / BK;
      let kk = e % BK;
      let m = m0 + r;
      let k = k0 + kk;
      let ok = m < P.M && k < P.K;
      let v = a[aBase + min(m, P.M - 1u) * P.K + min(k, P.K - 1u)];
      As[kk * WG + r / 4u][r % 4u] = select(0.0, v, ok);
    }
    // B slice: BK x TILE columns. nn.Linear weights [N, K] are read along k (like A);
    // B [K, N] is read along n.
    for (var e = li; e < TILE * BK; e += threads) {
      var cc: u32;
      var kk: u32;
      if (P.transB == 1u) { cc = e / BK; kk = e % BK; } else { kk = e / TILE; cc = e % TILE; }
      let n = n0 + cc;
      let k = k0 + kk;
      let ok = n < P.N && k < P.K;
      let nc = min(n, P.N - 1u);
      let kc = min(k, P.K - 1u);
      var idx: u32;
      if (P.transB == 1u) { idx = bBase + nc * P.K + kc; } else { idx = bBase + kc * P.N + nc; }
      Bs[kk * WG + cc / 4u][cc % 4u] = select(0.0, loadB(idx), ok);
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
  let cBase = P.cOff + batch * P.cStride;
  let row = m0 + 4u * lid.y;
  let col = n0 + 4u * lid.x;
  store(cBase, row, col, acc0);
  store(cBase, row + 1u, col, acc1);
  store(cBase, row + 2u, col, acc2);
  store(cBase, row + 3u, col, acc3);
}
