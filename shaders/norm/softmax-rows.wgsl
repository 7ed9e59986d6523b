// Softmax over the last dim, one invocation per row (no barriers; for many short rows such as
// the deformable-attention weights, levels * points = 12). Same contract as softmax.wgsl:
//   y[r, i] = exp(x[r, i] - max_r) / sum_j exp(x[r, j] - max_r);  x, y: [rows, n]
// Reference: test/ref/norm.ts softmaxRef.

override WG: u32;

struct Params { rows: u32, n: u32, xOff: u32, yOff: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  if (row >= P.rows) { return; }
  let xb = P.xOff + row * P.n;
  let yb = P.yOff + row * P.n;
  var m = -0x1.fffffep+127f;
  for (var i = 0u; i < P.n; i++) { m = max(m, x[xb + i]); }
  var s = 0.0;
  for (var i = 0u; i < P.n; i++) { s += exp(x[xb + i] - m); }
  let inv = 1.0 / s;
  for (var i = 0u; i < P.n; i++) { y[yb + i] = exp(x[xb + i] - m) * inv; }
}
