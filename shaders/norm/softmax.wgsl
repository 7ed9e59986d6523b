// Softmax over the last dim: y[r, i] = exp(x[r, i] - max_r) / sum_j exp(x[r, j] - max_r)
// x, y: [rows, n] at P.xOff / P.yOff. One workgroup of WG (power of two) per row: strided partials,
// then workgroupMax / workgroupSum (shaders/common/reduce.wgsl).
// Reference: test/ref/norm.ts softmaxRef.

override WG: u32;

struct Params { rows: u32, n: u32, xOff: u32, yOff: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// #import common/reduce

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  if (row >= P.rows) { return; } // uniform per workgroup
  let base = row * P.n;
  var m = -0x1.fffffep+127f;
  for (var i = lid; i < P.n; i += WG) { m = max(m, x[P.xOff + base + i]); }
  let rowMax = workgroupMax(lid, m);
  var s = 0.0;
  for (var i = lid; i < P.n; i += WG) { s += exp(x[P.xOff + base + i] - rowMax); }
  let inv = 1.0 / workgroupSum(lid, s);
  for (var i = lid; i < P.n; i += WG) { y[P.yOff + base + i] = exp(x[P.xOff + base + i] - rowMax) * inv; }
}
