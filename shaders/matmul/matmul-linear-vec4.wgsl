// nn.Linear-shaped matmul for CPU adapters (the 'cpu' policy), both operands read along K with
// vec4 loads and no workgroup memory:
//   C[b, m, n] = act(alpha * sum_k A[b, m, k] * B[b, n, k] + bias)
// a:    [batch, M, K] f32 at P.aOff, batch stride P.aStride (0 broadcasts one matrix)
// b:    [batch, N, K] (the nn.Linear weight layout, P.transB == 1 always) at P.bOff, stride P.bStride
// bias: P.bias == 1: [N] at P.biasOff (per column); P.bias == 2: [M] (per row)
// c:    [batch, M, N] at P.cOff, batch stride P.cStride; P.act == 1: relu
// Used only when K, aOff, bOff, aStride and bStride are multiples of 4 (checked in TS): a and b
// are bound as arrays of vec4 and element e of a row is in vec4 e / 4. Per 4 k each invocation
// reads one vec4 of A per row and one of B per column and adds 16 dot products: 8 loads where
// the scalar register kernel (matmul.wgsl) makes 32. Measured on SwiftShader (Node, one run):
// 1.05-1.4x faster with Dawn's bounds checks off, 1.3-1.7x with them on (as in Chromium).
// Threads: WG_X x WG_Y invocations; each computes TM rows x 4 columns in registers (TM = 4, or 1
// for small M). Rows / columns past the matrix read clamped (valid) rows and are never stored.
// Linear workgroup id = batch * tilesM * tilesN + tileM * tilesN + tileN.
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
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

// #import matmul/body/epilogue

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
  // Rows of A and of B in vec4 units.
  let K4 = P.K / 4u;
  let aBase = (P.aOff + batch * P.aStride) / 4u;
  let bBase = (P.bOff + batch * P.bStride) / 4u;
  let a0 = aBase + row0 * K4;
  let a1 = aBase + min(row0 + 1u, P.M - 1u) * K4;
  let a2 = aBase + min(row0 + 2u, P.M - 1u) * K4;
  let a3 = aBase + min(row0 + 3u, P.M - 1u) * K4;
  let b0 = bBase + col0 * K4;
  let b1 = bBase + min(col0 + 1u, P.N - 1u) * K4;
  let b2 = bBase + min(col0 + 2u, P.N - 1u) * K4;
  let b3 = bBase + min(col0 + 3u, P.N - 1u) * K4;
  // acc<r>: row row0 + r, columns col0 .. col0 + 3.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < K4; k++) {
    let w0 = b[b0 + k];
    let w1 = b[b1 + k];
    let w2 = b[b2 + k];
    let w3 = b[b3 + k];
    let x0 = a[a0 + k];
    acc0 += vec4<f32>(dot(x0, w0), dot(x0, w1), dot(x0, w2), dot(x0, w3));
    if (TM == 4u) {
      let x1 = a[a1 + k];
      let x2 = a[a2 + k];
      let x3 = a[a3 + k];
      acc1 += vec4<f32>(dot(x1, w0), dot(x1, w1), dot(x1, w2), dot(x1, w3));
      acc2 += vec4<f32>(dot(x2, w0), dot(x2, w1), dot(x2, w2), dot(x2, w3));
      acc3 += vec4<f32>(dot(x3, w0), dot(x3, w1), dot(x3, w2), dot(x3, w3));
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
