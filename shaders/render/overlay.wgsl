// Segmentation overlay, composed on the GPU (no mask readback):
//   out[y, x] = border ? colour[id] : id is background or unknown ? image : mix(image, colour[id], opacity)
//   image sampled nearest at the label map's resolution; id = map[y, x]; colour[id] = table[id - base]
//   border: a 4-neighbour inside the map carries another id (drawn when P.borders != 0)
// image: u32 [ih, iw] RGBA8 at P.imgOff; map: i32 [h, w] at P.mapOff; table: u32 [count] RGBA8 at
// P.tOff; out: u32 [h, w] RGBA8 (alpha 255) at P.yOff. Thread per output pixel.

override WG: u32;

struct Params {
  h: u32, w: u32, ih: u32, iw: u32,
  base: i32, count: u32, opacity: f32, borders: u32,
  background: i32, imgOff: u32, mapOff: u32, tOff: u32,
  yOff: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> image: array<u32>;
@group(0) @binding(2) var<storage, read> map: array<i32>;
@group(0) @binding(3) var<storage, read> table: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

fn idAt(x: u32, y: u32) -> i32 { return map[P.mapOff + y * P.w + x]; }

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  if (i >= P.h * P.w) { return; }
  let x = i % P.w;
  let y = i / P.w;
  let sx = min(u32(f32(x) * f32(P.iw) / f32(P.w)), P.iw - 1u);
  let sy = min(u32(f32(y) * f32(P.ih) / f32(P.h)), P.ih - 1u);
  let img = unpack4x8unorm(image[P.imgOff + sy * P.iw + sx]);
  let id = idAt(x, y);
  let slot = id - P.base;
  var rgb = img.rgb;
  if (id != P.background && slot >= 0 && u32(slot) < P.count) {
    let colour = unpack4x8unorm(table[P.tOff + u32(slot)]).rgb;
    var edge = false;
    if (P.borders != 0u) {
      edge = (x > 0u && idAt(x - 1u, y) != id) || (x + 1u < P.w && idAt(x + 1u, y) != id) ||
             (y > 0u && idAt(x, y - 1u) != id) || (y + 1u < P.h && idAt(x, y + 1u) != id);
    }
    if (edge) { rgb = colour; } else { rgb = mix(img.rgb, colour, P.opacity); }
  }
  out[P.yOff + i] = pack4x8unorm(vec4<f32>(rgb, 1.0));
}
