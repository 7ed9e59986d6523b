// Swin relative position bias gathered from its table (no relative_position_index tensor needed):
//   bias[h, i, j] = table[((yi - yj + ws - 1) * (2ws - 1) + (xi - xj + ws - 1)) * heads + h]
//   with (yi, xi) = (i / ws, i % ws), i, j < N = ws*ws
// table: [(2ws-1)^2, heads] at P.tOff; bias: [heads, N, N] at P.yOff. Thread per output element.
// Reference: test/ref/swin.ts relPosBiasRef.

override WG: u32;

struct Params { ws: u32, heads: u32, tOff: u32, yOff: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  let n = P.ws * P.ws;
  if (i >= P.heads * n * n) { return; }
  let kj = i % n;
  let qi = (i / n) % n;
  let h = i / (n * n);
  let dy = qi / P.ws + P.ws - 1u - kj / P.ws;
  let dx = qi % P.ws + P.ws - 1u - kj % P.ws;
  y[P.yOff + i] = table[P.tOff + (dy * (2u * P.ws - 1u) + dx) * P.heads + h];
}
