// GroupNorm over NCHW (groups of C/G consecutive channels), affine, optional ReLU:
//   y[b, c, :] = act((x[b, c, :] - mean_bg) / sqrt(var_bg + eps) * gamma[c] + beta[c]),  g = c / (C/G)
// x, y: [B, C, HW] at P.xOff / P.yOff (a group is contiguous: (C/G)*HW values); gamma, beta: [C]
// Threads: one workgroup of WG (power of two) per (b, g); two passes (mean, centred variance),
// each reduced with workgroupSum (shaders/common/reduce.wgsl).
// Reference: test/ref/norm.ts groupNormRef.

override WG: u32;
override RELU: bool;

struct Params {
  B: u32, C: u32, HW: u32, G: u32,
  eps: f32, xOff: u32, gOff: u32, bOff: u32,
  yOff: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// #import common/reduce

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let bg = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  if (bg >= P.B * P.G) { return; } // uniform per workgroup
  let cg = P.C / P.G;
  let n = cg * P.HW;
  let base = bg * n; // (b * C + g * cg) * HW
  var s = 0.0;
  for (var i = lid; i < n; i += WG) { s += x[P.xOff + base + i]; }
  let mean = workgroupSum(lid, s) / f32(n);
  var q = 0.0;
  for (var i = lid; i < n; i += WG) { let d = x[P.xOff + base + i] - mean; q += d * d; }
  let inv = inverseSqrt(workgroupSum(lid, q) / f32(n) + P.eps);
  let c0 = (bg % P.G) * cg;
  for (var i = lid; i < n; i += WG) {
    let c = c0 + i / P.HW;
    var v = (x[P.xOff + base + i] - mean) * inv * gamma[P.gOff + c] + beta[P.bOff + c];
    if (RELU) { v = max(v, 0.0); }
    y[P.yOff + base + i] = v;
  }
}
