// Final segment maps from small per-segment tables decided on the CPU:
//   MODE 0 (panoptic remap): y[p] = table[idx[p]] for 0 <= idx < count, else table[count] (the fill
//          lives in the table so one compiled graph serves every frame)
//   MODE 1 (instance): y[p] = id of the LAST listed segment j whose mask x[query_j, p] > 0, else
//          P.fill (HF paints segments in order, later ones overwrite); table holds (query, id) pairs,
//          a negative query marks an unused row (the table has a fixed size so graphs are reused)
// idx: i32 [n] at P.iOff (MODE 0); x: f32 [Q, n] at P.xOff (MODE 1); table: i32 at P.tOff;
// y: i32 [n] at P.yOff. Thread per pixel.

override WG: u32;
override MODE: u32;

struct Params { n: u32, count: u32, fill: i32, iOff: u32, xOff: u32, tOff: u32, yOff: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> table: array<i32>;
@group(0) @binding(4) var<storage, read_write> y: array<i32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  if (p >= P.n) { return; }
  var v = P.fill;
  if (MODE == 0u) {
    let k = idx[P.iOff + p];
    if (k >= 0 && u32(k) < P.count) { v = table[P.tOff + u32(k)]; } else { v = table[P.tOff + P.count]; }
  } else {
    for (var j = 0u; j < P.count; j++) {
      let q = table[P.tOff + 2u * j];
      if (q >= 0 && x[P.xOff + u32(q) * P.n + p] > 0.0) { v = table[P.tOff + 2u * j + 1u]; }
    }
  }
  y[P.yOff + p] = v;
}
