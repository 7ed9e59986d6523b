// One pass (horizontal or vertical) of Pillow's 8-bit BILINEAR resample, bit exact:
//   out[o] = clip8((1 << 21) + sum_{t < count[o]} in[xmin[o] + t] * coeff[o, t]) per RGBA channel
// Coefficients are Pillow's fixed-point ones (22 fraction bits), computed on the CPU in float64
// exactly as Pillow does (src/ops/resize.ts) and uploaded as i32.
// src, dst: u32 [rows, cols] packed RGBA8 at P.srcOff / P.dstOff (in / out sizes per P)
// bounds: i32 [outLen, 2] (xmin, count) at P.boundsOff; coeffs: i32 [outLen, ksize] at P.coeffOff
// VERTICAL == false: resamples along columns (x); true: along rows (y). Thread per output pixel.

override WG: u32;
override VERTICAL: bool;

struct Params {
  inH: u32, inW: u32, outH: u32, outW: u32,
  ksize: u32, srcOff: u32, dstOff: u32, boundsOff: u32,
  coeffOff: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> bounds: array<i32>;
@group(0) @binding(3) var<storage, read> coeffs: array<i32>;
@group(0) @binding(4) var<storage, read_write> dst: array<u32>;

fn clip8(v: i32) -> u32 {
  if (v <= 0) { return 0u; }
  if (v >= (1 << 30)) { return 255u; }
  return u32(v >> 22u);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  if (i >= P.outH * P.outW) { return; }
  let ox = i % P.outW;
  let oy = i / P.outW;
  var o = ox;
  if (VERTICAL) { o = oy; }
  let xmin = u32(bounds[P.boundsOff + o * 2u]);
  let count = u32(bounds[P.boundsOff + o * 2u + 1u]);
  var acc = vec4<i32>(1 << 21u);
  for (var t = 0u; t < count; t++) {
    var s: u32;
    if (VERTICAL) { s = src[P.srcOff + (xmin + t) * P.inW + ox]; } else { s = src[P.srcOff + oy * P.inW + xmin + t]; }
    let px = vec4<i32>(i32(s & 255u), i32((s >> 8u) & 255u), i32((s >> 16u) & 255u), i32(s >> 24u));
    acc += px * coeffs[P.coeffOff + o * P.ksize + t];
  }
  dst[P.dstOff + i] = clip8(acc.x) | (clip8(acc.y) << 8u) | (clip8(acc.z) << 16u) | (clip8(acc.w) << 24u);
}
