// f16-weight variant of matmul.wgsl (same contract, same thread mapping): B is stored as f16
// (checkpoint weights kept half on adapters with shader-f16), widened to f32 on load; A, bias,
// C and every accumulation stay f32. Reference: test/ref/matmul.ts with B rounded to f16.
enable f16;

// Batched matmul with fused bias and activation:
//   C[b, m, n] = act(alpha * sum_k A[b, m, k] * B[b, k, n] + bias)
// a:    [batch, M, K] f32 at P.aOff, batch stride P.aStride (0 broadcasts one matrix)
// b:    f16, P.transB == 1 ? [batch, N, K] (nn.Linear weight layout) : [batch, K, N], at P.bOff, stride P.bStride
// bias: P.bias == 1: [N] at P.biasOff (per column); P.bias == 2: [M] (per row, e.g. conv1x1 out channels)
// c:    [batch, M, N] at P.cOff, batch stride P.cStride; P.act == 1: relu
// transB, bias and act are uniforms, not overrides: they are outside the K loop, and each
// pipeline variant costs compile time at cold start (two pipelines serve every matmul).
// Threads: WG_X x WG_Y invocations; each computes TM rows x 4 columns in registers (TM = 4
// general, TM = 1 for small M such as ~100 decoder queries, so more workgroups share the work).
// Linear workgroup id (folded over x/y/z) = batch * tilesM * tilesN + tileM * tilesN + tileN.
// Reference: test/ref/matmul.ts.

override TM: u32; // 4 or 1 (checked in TS)
override WG_X: u32;
override WG_Y: u32;

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

fn store(cBase: u32, m: u32, col0: u32, acc: vec4<f32>) {
  if (m >= P.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let n = col0 + j;
    if (n < P.N) {
      var v = P.alpha * acc[j];
      if (P.bias == 1u) { v += bias[P.biasOff + n]; }
      if (P.bias == 2u) { v += bias[P.biasOff + m]; }
      if (P.act == 1u) { v = max(v, 0.0); }
      c[cBase + m * P.N + n] = v;
    }
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let wid = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let perBatch = P.tilesN * P.tilesM;
  let batch = wid / perBatch;
  if (batch >= P.batch) { return; }
  let t = wid % perBatch;
  let col0 = ((t % P.tilesN) * WG_X + lid.x) * 4u;
  let row0 = ((t / P.tilesN) * WG_Y + lid.y) * TM;
  if (row0 >= P.M || col0 >= P.N) { return; }
  let aBase = P.aOff + batch * P.aStride;
  let bBase = P.bOff + batch * P.bStride;
  // Rows / columns past the matrix read a clamped (valid) element and are never stored: no
  // branches in the K loop. Four named accumulators (not an array) stay in registers.
  let a0 = aBase + row0 * P.K;
  let a1 = aBase + min(row0 + 1u, P.M - 1u) * P.K;
  let a2 = aBase + min(row0 + 2u, P.M - 1u) * P.K;
  let a3 = aBase + min(row0 + 3u, P.M - 1u) * P.K;
  var bCol: vec4<u32>;
  for (var j = 0u; j < 4u; j++) {
    let n = min(col0 + j, P.N - 1u);
    if (P.transB == 1u) { bCol[j] = bBase + n * P.K; } else { bCol[j] = bBase + n; }
  }
  var bStep = P.N;
  if (P.transB == 1u) { bStep = 1u; }
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < P.K; k++) {
    let o = k * bStep;
    let bv = vec4<f32>(vec4<f16>(b[bCol.x + o], b[bCol.y + o], b[bCol.z + o], b[bCol.w + o]));
    acc0 += a[a0 + k] * bv;
    if (TM == 4u) {
      acc1 += a[a1 + k] * bv;
      acc2 += a[a2 + k] * bv;
      acc3 += a[a3 + k] * bv;
    }
  }
  let cBase = P.cOff + batch * P.cStride;
  store(cBase, row0, col0, acc0);
  if (TM == 4u) {
    store(cBase, row0 + 1u, col0, acc1);
    store(cBase, row0 + 2u, col0, acc2);
    store(cBase, row0 + 3u, col0, acc3);
  }
}
