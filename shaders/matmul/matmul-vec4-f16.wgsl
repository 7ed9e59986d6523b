// f16-weight variant of matmul-vec4.wgsl (same contract, same algorithm: shaders/matmul/body/vec4.wgsl):
// B is stored as f16 (checkpoint weights kept half on adapters with shader-f16), bound as vec4<f16>
// (8-byte vectors) and widened to f32 on load by loadB / loadB4; A, bias, C and every accumulation
// stay f32. Reference: test/ref/matmul.ts with B rounded to f16.
enable f16;

// Batched matmul with fused bias and activation for GPUs, vec4 loads (the 'gpu' policy with
// packedMatmul):
//   C[b, m, n] = act(alpha * sum_k A[b, m, k] * B[b, k, n] + bias)
// a:    [batch, M, K] f32 at P.aOff (elements), batch stride P.aStride (0 broadcasts one matrix)
// b:    f16; P.transB == 0: B[k, n] at P.bOff + k * P.ldb + n ([K, N] with row stride ldb: activations
//       with ldb = N, or an nn.Linear weight packed K-major at load, [K, N4] with N4 = N rounded
//       up to 4 and zero padding, P.bOff = the first output column);
//       P.transB == 1: B[n, k] at P.bOff + n * P.ldb + k (nn.Linear weight as stored, ldb = K);
//       batch stride P.bStride
// bias: P.bias == 1: [N] at P.biasOff (per column); P.bias == 2: [M] (per row, conv1x1 out channels)
// c:    [batch, M, N] at P.cOff, batch stride P.cStride; P.act == 1: relu
// a and b are bound as arrays of vec4 (buffers are sized in whole vec4s, checked in TS):
// P.aVec == 1 (K, aOff, aStride multiples of 4) reads A with one vec4 per 4 k; P.bVec == 1 (ldb,
// bOff, bStride multiples of 4) reads B with one vec4 per 4 n (transB 0) or 4 k (transB 1).
// Otherwise element e is read as a[e / 4][e % 4] (any offset, any K).

override WG_X: u32; // invocations along n; the C tile is 4 * WG_X columns
override WG_Y: u32; // invocations along m; the C tile is TM * WG_Y rows
override TM: u32;   // rows per invocation: 4 or 8 (checked in TS)
override BK: u32;   // k per slice, a multiple of 4

struct Params {
  M: u32, N: u32, K: u32, batch: u32,
  aOff: u32, aStride: u32, bOff: u32, bStride: u32,
  biasOff: u32, cOff: u32, cStride: u32, tilesN: u32,
  tilesM: u32, alpha: f32, transB: u32, bias: u32,
  act: u32, ldb: u32, aVec: u32, bVec: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f16>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

fn loadB(e: u32) -> f32 { return f32(b[e / 4u][e % 4u]); }
fn loadB4(i: u32) -> vec4<f32> { return vec4<f32>(b[i]); }

// #import matmul/body/epilogue
// #import matmul/body/vec4

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  matmulVec4(lid, wg, nwg);
}
