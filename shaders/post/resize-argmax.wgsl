// Per-pixel decisions at the target size without materialising [entries, H, W]: for each target
// pixel (oy, ox) and each listed entry k (plane[k] >= 0; listed entries come first, the first
// plane[k] < 0 ends the list, so the cost follows the entries in use), the bilinear value (torch
// F.interpolate, align_corners = False, the same arithmetic as resize/bilinear.wgsl) of source
// plane plane[k], times w[k]:
//   v_k = bilinear(x[plane[k]], oy, ox) * w[k]
//   y[oy, ox] = first k with the largest v_k (torch.argmax), -1 if no entry is listed
// and, per target row, for each entry k (row partials, summed over rows by row-reduce.wgsl):
//   part[row, k, 0] = #(y == k), part[row, k, 1] = #(v_k >= P.threshold) (OWN only, else 0),
//   part[row, k, 2] = sum of ox over y == k
// x: f32 [planes, Hi, Wi] at P.xOff; plane: i32 [count] at P.tOff; w: f32 [count] at P.wOff;
// y: i32 [Ho, Wo] at P.yOff; part: u32 [Ho, CAP, 3] at P.pOff (entries >= count are 0).
// One workgroup per target row, threads stride over its columns; per-entry counters in
// workgroup memory (CAP >= count entries). Reference: test/ref/post.ts resizeArgmaxRef.

override WG: u32;
override CAP: u32;
override OWN: bool;

struct Params { Hi: u32, Wi: u32, Ho: u32, Wo: u32, scaleY: f32, scaleX: f32, count: u32, threshold: f32, xOff: u32, tOff: u32, wOff: u32, yOff: u32, pOff: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> plane: array<i32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<i32>;
@group(0) @binding(5) var<storage, read_write> part: array<u32>;

var<workgroup> cnt: array<atomic<u32>, CAP>;
var<workgroup> own: array<atomic<u32>, CAP>;
var<workgroup> sumx: array<atomic<u32>, CAP>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let oy = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  if (oy >= P.Ho) { return; } // uniform per workgroup
  for (var k = lid; k < CAP; k += WG) {
    atomicStore(&cnt[k], 0u);
    atomicStore(&own[k], 0u);
    atomicStore(&sumx[k], 0u);
  }
  workgroupBarrier();
  let sy = max((f32(oy) + 0.5) * P.scaleY - 0.5, 0.0);
  let y0 = min(u32(sy), P.Hi - 1u);
  let y1 = min(y0 + 1u, P.Hi - 1u);
  let ly = sy - f32(y0);
  let plen = P.Hi * P.Wi;
  // Threads stride over the row (neighbouring invocations read neighbouring pixels); each adds
  // runs of equal labels among its pixels to the counters (one atomic per run, not per pixel).
  var run = -1;
  var runN = 0u;
  var runX = 0u;
  for (var ox = lid; ox < P.Wo; ox += WG) {
    let sx = max((f32(ox) + 0.5) * P.scaleX - 0.5, 0.0);
    let x0 = min(u32(sx), P.Wi - 1u);
    let x1 = min(x0 + 1u, P.Wi - 1u);
    let lx = sx - f32(x0);
    var best = -1;
    var bestV = 0.0;
    for (var k = 0u; k < P.count; k++) {
      let q = plane[P.tOff + k];
      if (q < 0) { break; } // the listed entries come first
      let base = P.xOff + u32(q) * plen;
      let top = (1.0 - lx) * x[base + y0 * P.Wi + x0] + lx * x[base + y0 * P.Wi + x1];
      let bot = (1.0 - lx) * x[base + y1 * P.Wi + x0] + lx * x[base + y1 * P.Wi + x1];
      let v = ((1.0 - ly) * top + ly * bot) * w[P.wOff + k];
      if (OWN && v >= P.threshold) { atomicAdd(&own[k], 1u); }
      if (best < 0 || v > bestV) {
        best = i32(k);
        bestV = v;
      }
    }
    y[P.yOff + oy * P.Wo + ox] = best;
    if (best != run) {
      if (run >= 0) {
        atomicAdd(&cnt[u32(run)], runN);
        atomicAdd(&sumx[u32(run)], runX);
      }
      run = best;
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
    part[o + 1u] = atomicLoad(&own[k]);
    part[o + 2u] = atomicLoad(&sumx[k]);
  }
}
