// Direct 2-D convolution, NCHW, zero padding, any kernel size and stride (groups = 1):
//   y[b, oc, oy, ox] = bias[oc] + sum_{ic,ky,kx} x[b, ic, oy*sY - pY + ky, ox*sX - pX + kx] * w[oc, ic, ky, kx]
// x: [B, Cin, H, W] at P.xOff; w: [Cout, Cin, KH, KW] at P.wOff; bias: [Cout] at P.biasOff when P.hasBias == 1
// (a uniform, not an override: it is read once per output, and a variant costs compile time)
// y: [B, Cout, Ho, Wo] at P.yOff. Reads outside the image are zero (padding, including extra
// bottom/right padding: Ho/Wo may cover more than the image).
// Threads: WG invocations; each computes an 8 (output channels) x 4 (consecutive columns) block:
// 12 loads per 32 multiply-adds (4 x 4 took 8 per 16; 1.4x faster on SwiftShader, 3x3 256->256).
// Linear workgroup id = (b * ocGroups + ocGroup) * pixelBlocks + pixelBlock, where a pixel block
// is WG blocks of 4 columns over rows of ceil(Wo / 4) blocks. 1x1 convs use matmul.
// Reference: test/ref/conv.ts.

override WG: u32;
// Output channels per invocation (the lo / hi accumulators); TS: OC_BLOCK in src/ops/conv2d.ts.
const OCB = 8u;

struct Params {
  B: u32, Cin: u32, H: u32, W: u32,
  Cout: u32, Ho: u32, Wo: u32, KH: u32,
  KW: u32, strideY: u32, strideX: u32, padY: u32,
  padX: u32, xOff: u32, wOff: u32, biasOff: u32,
  yOff: u32, pixelBlocks: u32, ocGroups: u32, hasBias: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let wid = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let colBlocks = (P.Wo + 3u) / 4u;
  let blk = (wid % P.pixelBlocks) * WG + lid.x;
  let rest = wid / P.pixelBlocks;
  let oc0 = (rest % P.ocGroups) * OCB;
  let batch = rest / P.ocGroups;
  if (batch >= P.B || blk >= P.Ho * colBlocks) { return; }
  let oy = blk / colBlocks;
  let ox0 = (blk % colBlocks) * 4u;
  let plane = P.H * P.W;
  let wPerOc = P.Cin * P.KH * P.KW;
  // Output channels past Cout read channel Cout-1 (valid) and are never stored.
  let ocLo = vec4<u32>(oc0, min(oc0 + 1u, P.Cout - 1u), min(oc0 + 2u, P.Cout - 1u), min(oc0 + 3u, P.Cout - 1u)) * wPerOc;
  let ocHi = vec4<u32>(min(oc0 + 4u, P.Cout - 1u), min(oc0 + 5u, P.Cout - 1u), min(oc0 + 6u, P.Cout - 1u), min(oc0 + 7u, P.Cout - 1u)) * wPerOc;
  let cols = vec4<i32>(vec4<u32>(ox0, ox0 + 1u, ox0 + 2u, ox0 + 3u) * P.strideX) - i32(P.padX);
  // lo<c> / hi<c>: column ox0 + c, output channels oc0..oc0+3 / oc0+4..oc0+7.
  var lo0 = vec4<f32>(0.0);
  var lo1 = vec4<f32>(0.0);
  var lo2 = vec4<f32>(0.0);
  var lo3 = vec4<f32>(0.0);
  var hi0 = vec4<f32>(0.0);
  var hi1 = vec4<f32>(0.0);
  var hi2 = vec4<f32>(0.0);
  var hi3 = vec4<f32>(0.0);
  for (var ic = 0u; ic < P.Cin; ic++) {
    let xBase = P.xOff + (batch * P.Cin + ic) * plane;
    for (var ky = 0u; ky < P.KH; ky++) {
      let iy = i32(oy * P.strideY + ky) - i32(P.padY);
      if (iy < 0 || iy >= i32(P.H)) { continue; }
      let rowBase = xBase + u32(iy) * P.W;
      for (var kx = 0u; kx < P.KW; kx++) {
        let ix = cols + i32(kx);
        let inside = (ix >= vec4<i32>(0)) & (ix < vec4<i32>(i32(P.W)));
        let cx = vec4<u32>(clamp(ix, vec4<i32>(0), vec4<i32>(i32(P.W) - 1)));
        let xv = select(vec4<f32>(0.0), vec4<f32>(x[rowBase + cx.x], x[rowBase + cx.y], x[rowBase + cx.z], x[rowBase + cx.w]), inside);
        let wi = P.wOff + (ic * P.KH + ky) * P.KW + kx;
        let wl = vec4<f32>(w[wi + ocLo.x], w[wi + ocLo.y], w[wi + ocLo.z], w[wi + ocLo.w]);
        lo0 += xv.x * wl;
        lo1 += xv.y * wl;
        lo2 += xv.z * wl;
        lo3 += xv.w * wl;
        let wh = vec4<f32>(w[wi + ocHi.x], w[wi + ocHi.y], w[wi + ocHi.z], w[wi + ocHi.w]);
        hi0 += xv.x * wh;
        hi1 += xv.y * wh;
        hi2 += xv.z * wh;
        hi3 += xv.w * wh;
      }
    }
  }
  let ocs = min(OCB, P.Cout - oc0);
  for (var j = 0u; j < ocs; j++) {
    var b = 0.0;
    if (P.hasBias == 1u) { b = bias[P.biasOff + oc0 + j]; }
    let rowOut = P.yOff + ((batch * P.Cout + oc0 + j) * P.Ho + oy) * P.Wo;
    var v: vec4<f32>;
    if (j < 4u) { v = vec4<f32>(lo0[j], lo1[j], lo2[j], lo3[j]) + b; } else { v = vec4<f32>(hi0[j - 4u], hi1[j - 4u], hi2[j - 4u], hi3[j - 4u]) + b; }
    for (var e = 0u; e < 4u; e++) { if (ox0 + e < P.Wo) { y[rowOut + ox0 + e] = v[e]; } }
  }
}
