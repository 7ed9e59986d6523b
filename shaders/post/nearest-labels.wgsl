// A label map resized with nearest (torch F.interpolate(mode='nearest'), as resize/bilinear.wgsl
// with NEAREST) and its histogram, in one pass over the target:
//   y[oy, ox] = x[min(floor(oy * scaleY), Hi - 1), min(floor(ox * scaleX), Wi - 1)]
//   part[row, k, 0] = #(y == P.base + k), part[row, k, 1] = 0, part[row, k, 2] = sum of ox over those
// for 0 <= k < P.count (row partials, summed over rows by row-reduce.wgsl).
// x: i32 [Hi, Wi] at P.xOff; y: i32 [Ho, Wo] at P.yOff; part: u32 [Ho, CAP, 3] at P.pOff.
// One workgroup per target row, threads stride over its columns; bins in workgroup memory.
// Reference: test/ref/post.ts nearestLabelsRef.

override WG: u32;
override CAP: u32;

struct Params { Hi: u32, Wi: u32, Ho: u32, Wo: u32, scaleY: f32, scaleX: f32, count: u32, base: i32, xOff: u32, yOff: u32, pOff: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;
@group(0) @binding(3) var<storage, read_write> part: array<u32>;

var<workgroup> cnt: array<atomic<u32>, CAP>;
var<workgroup> sumx: array<atomic<u32>, CAP>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let oy = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  if (oy >= P.Ho) { return; } // uniform per workgroup
  for (var k = lid; k < CAP; k += WG) {
    atomicStore(&cnt[k], 0u);
    atomicStore(&sumx[k], 0u);
  }
  workgroupBarrier();
  let ny = min(u32(floor(f32(oy) * P.scaleY)), P.Hi - 1u);
  // Threads stride over the row; runs of equal labels among a thread's pixels take one atomic each.
  var run = -1;
  var runN = 0u;
  var runX = 0u;
  for (var ox = lid; ox < P.Wo; ox += WG) {
    let nx = min(u32(floor(f32(ox) * P.scaleX)), P.Wi - 1u);
    let label = x[P.xOff + ny * P.Wi + nx];
    y[P.yOff + oy * P.Wo + ox] = label;
    let k = label - P.base;
    let bin = select(-1, k, k >= 0 && u32(k) < P.count);
    if (bin != run) {
      if (run >= 0) {
        atomicAdd(&cnt[u32(run)], runN);
        atomicAdd(&sumx[u32(run)], runX);
      }
      run = bin;
      runN = 0u;
      runX = 0u;
    }
    runN += 1u;
    runX += ox;
  }
  if (run >= 0) {
    atomicAdd(&cnt[u32(run)], runN);
    atomicAdd(&sumx[u32(run)], runX);
  }
  workgroupBarrier();
  for (var k = lid; k < CAP; k += WG) {
    let o = P.pOff + (oy * CAP + k) * 3u;
    part[o] = atomicLoad(&cnt[k]);
    part[o + 1u] = 0u;
    part[o + 2u] = atomicLoad(&sumx[k]);
  }
}
