// Draws an RGBA8 pixel buffer (the overlay) onto the canvas through a view transform: a full-
// screen triangle; each fragment maps its screen position to image coordinates (inverse view
// matrix) and fetches the nearest pixel, or the background colour outside the image.
// A render pair (vs_main + fs_main), the one shader file with two entry points.
// pixels: u32 [height, width] RGBA8.

struct View {
  screenToImage: mat3x3<f32>,
  background: vec4<f32>,
  size: vec2<u32>,
}

@group(0) @binding(0) var<uniform> V: View;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
  let xy = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u)) * 2.0 - 1.0;
  return vec4<f32>(xy, 0.0, 1.0);
}

@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
  let p = V.screenToImage * vec3<f32>(pos.xy, 1.0);
  if (p.x < 0.0 || p.y < 0.0 || p.x >= f32(V.size.x) || p.y >= f32(V.size.y)) { return V.background; }
  let x = min(u32(p.x), V.size.x - 1u);
  let y = min(u32(p.y), V.size.y - 1u);
  return unpack4x8unorm(pixels[y * V.size.x + x]);
}
