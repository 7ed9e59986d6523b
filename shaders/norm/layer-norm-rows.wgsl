// LayerNorm, one invocation per row (no barriers; for many short rows such as Swin tokens).
// Same contract as layer-norm.wgsl:
//   s = x + (HAS_RESIDUAL ? r : 0);  y = (s - mean(s)) / sqrt(var(s) + eps) * gamma + beta
// x, r, y: [rows, C] at P.xOff / P.rOff / P.yOff; gamma, beta: [C] at P.gOff / P.bOff.
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

fn load(base: u32, rbase: u32, i: u32) -> f32 {
  var v = x[base + i];
  if (HAS_RESIDUAL) { v += r[rbase + i]; }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  if (row >= P.rows) { return; }
  let base = P.xOff + row * P.C;
  let rbase = P.rOff + row * P.C;
  var s = 0.0;
  for (var i = 0u; i < P.C; i++) { s += load(base, rbase, i); }
  let mean = s / f32(P.C);
  var q = 0.0;
  for (var i = 0u; i < P.C; i++) { let d = load(base, rbase, i) - mean; q += d * d; }
  let inv = inverseSqrt(q / f32(P.C) + P.eps);
  for (var i = 0u; i < P.C; i++) {
    y[P.yOff + row * P.C + i] = (load(base, rbase, i) - mean) * inv * gamma[P.gOff + i] + beta[P.bOff + i];
  }
}
