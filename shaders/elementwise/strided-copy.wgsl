// Strided copy of up to 6 dims: permute / transpose / slice / write into a slice (concat).
//   y[yOff + sum_i idx_i * os_i] = x[xOff + sum_i idx_i * is_i], idx over dims d0..d5 (d5 innermost)
// x, y: f32 (u32/i32 data moves unchanged as bits). Thread per element.
// Reference: test/ref/elementwise.ts permuteRef.

override WG: u32;

struct Params {
  n: u32, xOff: u32, yOff: u32,
  d0: u32, d1: u32, d2: u32, d3: u32, d4: u32, d5: u32,
  is0: u32, is1: u32, is2: u32, is3: u32, is4: u32, is5: u32,
  os0: u32, os1: u32, os2: u32, os3: u32, os4: u32, os5: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  if (i >= P.n) { return; }
  var r = i;
  let i5 = r % P.d5; r /= P.d5;
  let i4 = r % P.d4; r /= P.d4;
  let i3 = r % P.d3; r /= P.d3;
  let i2 = r % P.d2; r /= P.d2;
  let i1 = r % P.d1;
  let i0 = r / P.d1;
  let src = P.xOff + i0 * P.is0 + i1 * P.is1 + i2 * P.is2 + i3 * P.is3 + i4 * P.is4 + i5 * P.is5;
  let dst = P.yOff + i0 * P.os0 + i1 * P.os1 + i2 * P.os2 + i3 * P.os3 + i4 * P.os4 + i5 * P.os5;
  y[dst] = x[src];
}
