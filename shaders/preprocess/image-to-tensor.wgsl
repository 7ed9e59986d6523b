// Resized RGBA8 image -> normalised CHW planes of a padded batch tensor, zero padding:
//   y[c, yy, xx] = (yy < h && xx < w) ? lut[c * 256 + channel_c(src[yy, xx])] : 0,  yy < Hp, xx < Wp
// The lookup table holds HF's float32 result of rescale then normalise for every byte value,
// computed on the CPU exactly as the image processor does (src/models/mask2former/preprocess.ts).
// src: u32 [h, w] packed RGBA8 at P.srcOff; lut: f32 [3, 256]; y: f32 [3, Hp, Wp] at P.yOff.

override WG: u32;

struct Params { h: u32, w: u32, Hp: u32, Wp: u32, srcOff: u32, yOff: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> lut: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  if (i >= 3u * P.Hp * P.Wp) { return; }
  let xx = i % P.Wp;
  let yy = (i / P.Wp) % P.Hp;
  let c = i / (P.Wp * P.Hp);
  var v = 0.0;
  if (yy < P.h && xx < P.w) {
    let px = src[P.srcOff + yy * P.w + xx];
    v = lut[c * 256u + ((px >> (8u * c)) & 255u)];
  }
  y[P.yOff + i] = v;
}
