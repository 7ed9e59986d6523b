// LayerNorm over the last dim, optionally of a residual sum (post-norm blocks):
//   s = x + (HAS_RESIDUAL ? r : 0);  y = (s - mean(s)) / sqrt(var(s) + eps) * gamma + beta
// x, r, y: [rows, C] at P.xOff / P.rOff / P.yOff; gamma, beta: [C] at P.gOff / P.bOff
// Threads: one workgroup of WG (power of two) per row; two passes (mean, then centred variance),
// each a strided partial per invocation and workgroupSum (shaders/common/reduce.wgsl).
// Reference: test/ref/norm.ts layerNormRef (biased variance, as torch).

override WG: u32;
override HAS_RESIDUAL: bool;

struct Params {
  rows: u32, C: u32, eps: f32, xOff: u32,
  rOff: u32, gOff: u32, bOff: u32, yOff: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> r: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

// #import common/reduce

fn load(row: u32, i: u32) -> f32 {
  var v = x[P.xOff + row * P.C + i];
  if (HAS_RESIDUAL) { v += r[P.rOff + row * P.C + i]; }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  if (row >= P.rows) { return; } // uniform per workgroup
  var s = 0.0;
  for (var i = lid; i < P.C; i += WG) { s += load(row, i); }
  let mean = workgroupSum(lid, s) / f32(P.C);
  var q = 0.0;
  for (var i = lid; i < P.C; i += WG) { let d = load(row, i) - mean; q += d * d; }
  let inv = inverseSqrt(workgroupSum(lid, q) / f32(P.C) + P.eps);
  for (var i = lid; i < P.C; i += WG) {
    y[P.yOff + row * P.C + i] = (load(row, i) - mean) * inv * gamma[P.gOff + i] + beta[P.bOff + i];
  }
}
