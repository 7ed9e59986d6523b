// Resize of planes as torch F.interpolate does it (no antialias):
//   NEAREST false (bilinear, align_corners = False): src = max((dst + 0.5) * in / out - 0.5, 0);
//     i0 = floor(src); i1 = min(i0 + 1, in - 1)
//   NEAREST true: src = min(floor(dst * in / out), in - 1)
// x: [planes, Hi, Wi] at P.xOff; y: [planes, Ho, Wo] at P.yOff. Thread per output element.
// Reference: test/ref/resize.ts resizeBilinearRef.

override WG: u32;
override NEAREST: bool;

struct Params {
  planes: u32, Hi: u32, Wi: u32, Ho: u32,
  Wo: u32, scaleY: f32, scaleX: f32, xOff: u32,
  yOff: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  if (i >= P.planes * P.Ho * P.Wo) { return; }
  let ox = i % P.Wo;
  let oy = (i / P.Wo) % P.Ho;
  let plane = i / (P.Wo * P.Ho);
  let base = P.xOff + plane * P.Hi * P.Wi;
  if (NEAREST) {
    let ny = min(u32(floor(f32(oy) * P.scaleY)), P.Hi - 1u);
    let nx = min(u32(floor(f32(ox) * P.scaleX)), P.Wi - 1u);
    y[P.yOff + i] = x[base + ny * P.Wi + nx];
    return;
  }
  let sy = max((f32(oy) + 0.5) * P.scaleY - 0.5, 0.0);
  let sx = max((f32(ox) + 0.5) * P.scaleX - 0.5, 0.0);
  let y0 = min(u32(sy), P.Hi - 1u);
  let x0 = min(u32(sx), P.Wi - 1u);
  let y1 = min(y0 + 1u, P.Hi - 1u);
  let x1 = min(x0 + 1u, P.Wi - 1u);
  let ly = sy - f32(y0);
  let lx = sx - f32(x0);
  let top = (1.0 - lx) * x[base + y0 * P.Wi + x0] + lx * x[base + y0 * P.Wi + x1];
  let bot = (1.0 - lx) * x[base + y1 * P.Wi + x0] + lx * x[base + y1 * P.Wi + x1];
  y[P.yOff + i] = (1.0 - ly) * top + ly * bot;
}
