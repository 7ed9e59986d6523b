// Argmax over planes (first maximum wins, as torch.argmax), optionally weighted:
//   out[b, p] = argmax_{c : w[b, c] >= 0} x[b, c, p] * (WEIGHTED ? w[b, c] : 1),  -1 if no c qualifies
// x: f32 [B, C, HW] at P.xOff; w: f32 [B, C] at P.wOff (WEIGHTED: a negative weight excludes the
// plane, e.g. queries that panoptic post-processing dropped); out: i32 [B, HW] at P.yOff.
// Thread per (b, p). Reference: test/ref/post.ts.

override WG: u32;
override WEIGHTED: bool;

struct Params { B: u32, C: u32, HW: u32, xOff: u32, wOff: u32, yOff: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<i32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  if (i >= P.B * P.HW) { return; }
  let p = i % P.HW;
  let b = i / P.HW;
  var best = -1;
  var bestV = 0.0;
  for (var c = 0u; c < P.C; c++) {
    var v = x[P.xOff + (b * P.C + c) * P.HW + p];
    if (WEIGHTED) {
      let wc = w[P.wOff + b * P.C + c];
      if (wc < 0.0) { continue; }
      v = v * wc;
    }
    if (best < 0 || v > bestV) {
      best = i32(c);
      bestV = v;
    }
  }
  y[P.yOff + i] = best;
}
