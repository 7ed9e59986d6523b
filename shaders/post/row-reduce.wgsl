// Sums the row partials of resize-argmax.wgsl / nearest-labels.wgsl over the rows, exactly (u32
// counts, 64-bit sums as lo/hi u32 pairs):
//   out[k] = (area, own, sum_x lo, sum_x hi, sum_y lo, sum_y hi) with
//   area = sum_r part[r, k, 0], own = sum_r part[r, k, 1], sum_x = sum_r part[r, k, 2],
//   sum_y = sum_r r * part[r, k, 0]
// (segment centre = (sum_x / area, sum_y / area)). Counts are exact while rows * cols < 2^32.
// part: u32 [rows, CAP, 3] at P.pOff; out: u32 [count, 6] at P.yOff.
// One workgroup of WG (power of two) per entry k; threads stride over rows, then a tree.
// Reference: test/ref/post.ts rowReduceRef.

override WG: u32;

struct Params { rows: u32, cap: u32, count: u32, pOff: u32, yOff: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> part: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

var<workgroup> ra: array<u32, WG>;
var<workgroup> ro: array<u32, WG>;
var<workgroup> rx: array<vec2<u32>, WG>;
var<workgroup> ry: array<vec2<u32>, WG>;

// 64-bit add of (lo, hi) pairs.
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.x + b.x;
  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  if (k >= P.count) { return; } // uniform per workgroup
  var a = 0u;
  var o = 0u;
  var sx = vec2<u32>(0u, 0u);
  var sy = vec2<u32>(0u, 0u);
  for (var r = lid; r < P.rows; r += WG) {
    let i = P.pOff + (r * P.cap + k) * 3u;
    let c = part[i];
    a += c;
    o += part[i + 1u];
    sx = add64(sx, vec2<u32>(part[i + 2u], 0u));
    sy = add64(sy, vec2<u32>(r * c, 0u));
  }
  ra[lid] = a;
  ro[lid] = o;
  rx[lid] = sx;
  ry[lid] = sy;
  workgroupBarrier();
  for (var off = WG / 2u; off > 0u; off = off / 2u) {
    if (lid < off) {
      ra[lid] += ra[lid + off];
      ro[lid] += ro[lid + off];
      rx[lid] = add64(rx[lid], rx[lid + off]);
      ry[lid] = add64(ry[lid], ry[lid + off]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let d = P.yOff + k * 6u;
    y[d] = ra[0];
    y[d + 1u] = ro[0];
    y[d + 2u] = rx[0].x;
    y[d + 3u] = rx[0].y;
    y[d + 4u] = ry[0].x;
    y[d + 5u] = ry[0].y;
  }
}
