// Per-plane reductions the post-processors decide on (read back: two numbers per plane):
//   MODE 0 (instance, on mask logits at 384x384): a = #(x > 0), s = sum sigmoid(x) over x > 0
//   MODE 1 (panoptic, on mask probabilities at the target size, weighted by the query score w[plane]):
//          a = #(labels == plane), s = #(x * w >= threshold)
//   MODE 2 (instance, on nearest-resized logits at the target size): a = #(x > 0), s = 0
//   MODE 3 (histogram of a label map, x unused): a = #(labels == P.base + plane % C), s = 0, and
//          (sx, sy) = sums of the column / row of those pixels (segment centres: sx / a, sy / a)
// x: f32 [planes, n] at P.xOff (plane = b * C + c); labels: i32 [B, n] at P.lOff (MODE 1);
// w: f32 [planes] at P.wOff (MODE 1); out: f32 [planes, 4] (a, s, sx, sy) at P.yOff (sx = sy = 0
// except MODE 3); labels [B, rows * cols] with cols = P.cols for MODE 3. Counts are exact in
// f32 up to 2^24 pixels per plane. One workgroup of WG (power of two) per plane.

override WG: u32;
override MODE: u32;

struct Params { planes: u32, C: u32, n: u32, threshold: f32, xOff: u32, lOff: u32, wOff: u32, yOff: u32, base: i32, cols: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> ra: array<f32, WG>;
var<workgroup> rs: array<f32, WG>;
var<workgroup> rx: array<f32, WG>;
var<workgroup> ry: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let plane = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  if (plane >= P.planes) { return; } // uniform per workgroup
  let c = plane % P.C;
  let b = plane / P.C;
  var a = 0.0;
  var s = 0.0;
  var sx = 0.0;
  var sy = 0.0;
  for (var i = lid; i < P.n; i += WG) {
    if (MODE == 3u) {
      if (labels[P.lOff + b * P.n + i] == P.base + i32(c)) {
        a += 1.0;
        sx += f32(i % P.cols);
        sy += f32(i / P.cols);
      }
      continue;
    }
    let v = x[P.xOff + plane * P.n + i];
    if (MODE == 1u) {
      if (labels[P.lOff + b * P.n + i] == i32(c)) { a += 1.0; }
      if (v * w[P.wOff + plane] >= P.threshold) { s += 1.0; }
    } else if (v > 0.0) {
      a += 1.0;
      if (MODE == 0u) { s += 1.0 / (1.0 + exp(-v)); }
    }
  }
  ra[lid] = a;
  rs[lid] = s;
  rx[lid] = sx;
  ry[lid] = sy;
  workgroupBarrier();
  for (var off = WG / 2u; off > 0u; off = off / 2u) {
    if (lid < off) {
      ra[lid] += ra[lid + off];
      rs[lid] += rs[lid + off];
      rx[lid] += rx[lid + off];
      ry[lid] += ry[lid + off];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    y[P.yOff + plane * 4u] = ra[0];
    y[P.yOff + plane * 4u + 1u] = rs[0];
    y[P.yOff + plane * 4u + 2u] = rx[0];
    y[P.yOff + plane * 4u + 3u] = ry[0];
  }
}
