// Eval-mode BatchNorm over NCHW with running statistics, optional residual add and activation,
// in torch's CPU order (batch_norm_cpu_transform_input):
//   alpha = gamma[c] / sqrt(var[c] + eps); shift = beta[c] - mean[c] * alpha
//   y[b, c, p] = act(x[b, c, p] * alpha + shift (+ residual[b, c, p]))
// x, residual, y: [B, C, HW] at P.xOff / P.rOff / P.yOff; gamma, beta, mean, var: [C] at their offsets.
// ACT: 0 none, 1 relu, 2 exact gelu. Thread per element. Reference: test/ref/norm.ts batchNormRef.

override WG: u32;
override ACT: u32;
override HAS_RESIDUAL: bool;

struct Params {
  n: u32, C: u32, HW: u32, eps: f32,
  xOff: u32, gOff: u32, bOff: u32, mOff: u32,
  vOff: u32, rOff: u32, yOff: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> variance: array<f32>;
@group(0) @binding(6) var<storage, read> residual: array<f32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;

// erfc(z) for z >= 0 (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7), as elementwise.wgsl.
fn erfcPos(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(poly);
}

fn gelu(v: f32) -> f32 {
  let z = -v * 0.70710678118654752;
  var e = erfcPos(abs(z));
  if (z < 0.0) { e = 2.0 - e; }
  return 0.5 * v * e;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  if (i >= P.n) { return; }
  let c = (i / P.HW) % P.C;
  let alpha = gamma[P.gOff + c] / sqrt(variance[P.vOff + c] + P.eps);
  let shift = beta[P.bOff + c] - mean[P.mOff + c] * alpha;
  var v = x[P.xOff + i] * alpha + shift;
  if (HAS_RESIDUAL) { v = v + residual[P.rOff + i]; }
  if (ACT == 1u) { v = max(v, 0.0); }
  if (ACT == 2u) { v = gelu(v); }
  y[P.yOff + i] = v;
}
