// f16-weight variant of matmul.wgsl (same contract, same algorithm: shaders/matmul/body/register.wgsl):
// B is stored as f16 (checkpoint weights kept half on adapters with shader-f16), widened to f32 on
// load by loadB; A, bias, C and every accumulation stay f32. Reference: test/ref/matmul.ts with B
// rounded to f16.
enable f16;

// Batched matmul with fused bias and activation:
//   C[b, m, n] = act(alpha * sum_k A[b, m, k] * B[b, k, n] + bias)
// a:    [batch, M, K] f32 at P.aOff, batch stride P.aStride (0 broadcasts one matrix)
// b:    f16, P.transB == 1 ? [batch, N, K] (nn.Linear weight layout) : [batch, K, N], at P.bOff, stride P.bStride
// bias: P.bias == 1: [N] at P.biasOff (per column); P.bias == 2: [M] (per row, e.g. conv1x1 out channels)
// c:    [batch, M, N] at P.cOff, batch stride P.cStride; P.act == 1: relu

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

fn loadB(i: u32) -> f32 { return f32(b[i]); }

// #import matmul/body/epilogue
// #import matmul/body/register

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  matmulRegister(lid, wg, nwg);
}
