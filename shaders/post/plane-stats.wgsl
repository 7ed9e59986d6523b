// Per-plane reductions the instance post-processor decides on (read back: two numbers per plane):
//   MODE 0 (mask logits at the binarisation size): a = #(x > 0), s = sum sigmoid(x) over x > 0
//   MODE 1 (the same logits, seen through a nearest resize to the target): a = #(x > 0 at source
//          pixels the resize samples), s = 0: the mask is non-empty at the target iff a > 0.
//          hits: i32 [rows + cols] at P.hOff, 1 where a source row (first rows) / column (then
//          cols) is sampled by some target row / column.
// x: f32 [planes, rows * cols] at P.xOff; out: f32 [planes, 2] (a, s) at P.yOff. Counts are exact
// in f32 up to 2^24 pixels per plane (source sizes, not target sizes). One workgroup of WG (power
// of two) per plane, (a, s) summed in one tree (workgroupSum2, shaders/common/reduce.wgsl). Reference: test/ref/post.ts positiveSigmoidRef, sampledPositiveRef.

override WG: u32;
override MODE: u32;

struct Params { planes: u32, n: u32, cols: u32, xOff: u32, hOff: u32, yOff: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> hits: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// #import common/reduce

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let plane = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  if (plane >= P.planes) { return; } // uniform per workgroup
  let rows = P.n / P.cols;
  var a = 0.0;
  var s = 0.0;
  for (var i = lid; i < P.n; i += WG) {
    let v = x[P.xOff + plane * P.n + i];
    if (v <= 0.0) { continue; }
    if (MODE == 0u) {
      a += 1.0;
      s += 1.0 / (1.0 + exp(-v));
    } else if (hits[P.hOff + i / P.cols] != 0 && hits[P.hOff + rows + i % P.cols] != 0) {
      a += 1.0;
    }
  }
  let total = workgroupSum2(lid, vec2<f32>(a, s));
  if (lid == 0u) {
    y[P.yOff + plane * 2u] = total.x;
    y[P.yOff + plane * 2u + 1u] = total.y;
  }
}
