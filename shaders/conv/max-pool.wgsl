// 2-D max pooling over NCHW, torch nn.MaxPool2d semantics (padding is -inf, floor output size,
// dilation 1): y[p, oy, ox] = max over ky, kx < K of x[p, oy*S - PAD + ky, ox*S - PAD + kx] (in range)
// x: [planes, H, W] at P.xOff; y: [planes, Ho, Wo] at P.yOff. Thread per output element.
// Reference: test/ref/conv.ts maxPoolRef.

override WG: u32;

struct Params {
  planes: u32, H: u32, W: u32, Ho: u32,
  Wo: u32, K: u32, S: u32, PAD: u32,
  xOff: u32, yOff: u32,
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
  let base = P.xOff + plane * P.H * P.W;
  // Signed window start; every window holds at least one real pixel (PAD <= K / 2, as torch requires).
  let y0 = i32(oy * P.S) - i32(P.PAD);
  let x0 = i32(ox * P.S) - i32(P.PAD);
  var m = -3.402823466e38;
  var seen = false;
  for (var ky = 0u; ky < P.K; ky++) {
    let iy = y0 + i32(ky);
    if (iy < 0 || iy >= i32(P.H)) { continue; }
    for (var kx = 0u; kx < P.K; kx++) {
      let ix = x0 + i32(kx);
      if (ix < 0 || ix >= i32(P.W)) { continue; }
      let v = x[base + u32(iy) * P.W + u32(ix)];
      // NaN propagates as in torch (v != v).
      if (!seen || v > m || v != v) { m = v; seen = true; }
    }
  }
  y[P.yOff + i] = m;
}
