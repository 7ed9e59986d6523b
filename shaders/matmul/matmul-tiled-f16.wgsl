// f16-weight variant of matmul-tiled.wgsl (same contract, same thread mapping): B is stored as f16
// (checkpoint weights kept half on adapters with shader-f16), widened to f32 on load; A, bias,
// C and every accumulation stay f32. Reference: test/ref/matmul.ts with B rounded to f16.
enable f16;

// Batched matmul with fused bias and activation, tiled for GPUs (the 'gpu' kernel policy):
//   C[b, m, n] = act(alpha * sum_k A[b, m, k] * B[b, k, n] + bias)
// a:    [batch, M, K] f32 at P.aOff, batch stride P.aStride (0 broadcasts one matrix)
// b:    f16, P.transB == 1 ? [batch, N, K] (nn.Linear weight layout) : [batch, K, N], at P.bOff, stride P.bStride
// bias: P.bias == 1: [N] at P.biasOff (per column); P.bias == 2: [M] (per row, conv1x1 out channels)
// c:    [batch, M, N] at P.cOff, batch stride P.cStride; P.act == 1: relu
// Threads: a workgroup of WG x WG invocations owns a (WG*4) x (WG*4) tile of C; each invocation
// keeps a 4x4 block in registers (rows 4*ly.., columns 4*lx..). K advances in slices of BK:
// the A slice [TM_ROWS, BK] and the B slice [BK, TN_COLS] are staged in workgroup memory as
// k-major vec4s, so the inner loop reads one vec4 of A and one of B per k. Global loads are
// coalesced: consecutive invocations read consecutive k of a row of A (and of a row of B when it
// is an nn.Linear weight, so weights need no repacking), or consecutive n of B [K, N].
// Out-of-range elements load as 0 and are never stored; no invocation returns before a barrier.
// Flags that do not touch the inner loop (transB, bias, act) are uniforms: one pipeline serves
// every matmul of a graph. Linear workgroup id = batch * tilesM * tilesN + tileM * tilesN + tileN.
// Reference: test/ref/matmul.ts.

override WG: u32; // invocations per side; the C tile is 4 * WG square (checked in TS)
override BK: u32; // k per slice

struct Params {
  M: u32, N: u32, K: u32, batch: u32,
  aOff: u32, aStride: u32, bOff: u32, bStride: u32,
  biasOff: u32, cOff: u32, cStride: u32, tilesN: u32,
  tilesM: u32, alpha: f32, transB: u32, bias: u32,
  act: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f16>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

// k-major slices: As[k * WG + i] holds rows 4i..4i+3 of column k; Bs[k * WG + j] columns 4j..4j+3.
var<workgroup> As: array<vec4<f32>, BK * WG>;
var<workgroup> Bs: array<vec4<f32>, BK * WG>;

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

@compute @workgroup_size(WG, WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
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
      Bs[kk * WG + cc / 4u][cc % 4u] = select(0.0, f32(b[idx]), ok);
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
