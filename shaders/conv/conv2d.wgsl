// Direct 2-D convolution, NCHW, zero padding, any kernel size and stride (groups = 1):
//   y[b, oc, oy, ox] = bias[oc] + sum_{ic,ky,kx} x[b, ic, oy*sY - pY + ky, ox*sX - pX + kx] * w[oc, ic, ky, kx]
// x: [B, Cin, H, W] at P.xOff; w: [Cout, Cin, KH, KW] at P.wOff; bias: [Cout] at P.biasOff (HAS_BIAS)
// y: [B, Cout, Ho, Wo] at P.yOff
// Threads: WG invocations along output pixels; each computes 4 output channels of one pixel.
// Linear workgroup id = (b * ocGroups + ocGroup) * pixelBlocks + pixelBlock. 1x1 convs use matmul.
// Reference: test/ref/conv.ts.

override WG: u32;
override HAS_BIAS: bool;

struct Params {
  B: u32, Cin: u32, H: u32, W: u32,
  Cout: u32, Ho: u32, Wo: u32, KH: u32,
  KW: u32, strideY: u32, strideX: u32, padY: u32,
  padX: u32, xOff: u32, wOff: u32, biasOff: u32,
  yOff: u32, pixelBlocks: u32, ocGroups: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let wid = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let pix = (wid % P.pixelBlocks) * WG + lid.x;
  let rest = wid / P.pixelBlocks;
  let oc0 = (rest % P.ocGroups) * 4u;
  let batch = rest / P.ocGroups;
  if (batch >= P.B || pix >= P.Ho * P.Wo) { return; }
  let oy = pix / P.Wo;
  let ox = pix % P.Wo;
  let plane = P.H * P.W;
  let wPerOc = P.Cin * P.KH * P.KW;
  let ocs = min(4u, P.Cout - oc0);
  let oc = vec4<u32>(oc0, min(oc0 + 1u, P.Cout - 1u), min(oc0 + 2u, P.Cout - 1u), min(oc0 + 3u, P.Cout - 1u)) * wPerOc;
  var acc = vec4<f32>(0.0);
  for (var ic = 0u; ic < P.Cin; ic++) {
    let xBase = P.xOff + (batch * P.Cin + ic) * plane;
    for (var ky = 0u; ky < P.KH; ky++) {
      let iy = i32(oy * P.strideY + ky) - i32(P.padY);
      if (iy < 0 || iy >= i32(P.H)) { continue; }
      for (var kx = 0u; kx < P.KW; kx++) {
        let ix = i32(ox * P.strideX + kx) - i32(P.padX);
        if (ix < 0 || ix >= i32(P.W)) { continue; }
        let xv = x[xBase + u32(iy) * P.W + u32(ix)];
        let wi = P.wOff + (ic * P.KH + ky) * P.KW + kx;
        // Output channels past Cout read channel Cout-1 (valid) and are never stored.
        let wv = vec4<f32>(w[wi + oc.x], w[wi + oc.y], w[wi + oc.z], w[wi + oc.w]);
        acc += xv * wv;
      }
    }
  }
  for (var j = 0u; j < ocs; j++) {
    var v = acc[j];
    if (HAS_BIAS) { v += bias[P.biasOff + oc0 + j]; }
    y[P.yOff + ((batch * P.Cout + oc0 + j) * P.Ho + oy) * P.Wo + ox] = v;
  }
}
