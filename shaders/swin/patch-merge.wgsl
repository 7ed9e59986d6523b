// Swin patch merging gather (before its LayerNorm + reduction), odd sizes padded with zeros:
//   y[b, oy*Wh + ox, q*C + c] = x[b, 2oy + dy_q, 2ox + dx_q, c], (dy, dx)_q = (0,0), (1,0), (0,1), (1,1)
// x: [B, H, W, C] at P.xOff; y: [B, Hh*Wh, 4C] at P.yOff, Hh = ceil(H/2). Thread per output element.
// Reference: test/ref/swin.ts patchMergeRef.

override WG: u32;

struct Params { B: u32, H: u32, W: u32, C: u32, Hh: u32, Wh: u32, xOff: u32, yOff: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  let C4 = 4u * P.C;
  if (i >= P.B * P.Hh * P.Wh * C4) { return; }
  let cc = i % C4;
  let q = cc / P.C;
  let c = cc % P.C;
  let pix = (i / C4) % (P.Hh * P.Wh);
  let b = i / (C4 * P.Hh * P.Wh);
  let yy = (pix / P.Wh) * 2u + (q & 1u);
  let xx = (pix % P.Wh) * 2u + (q >> 1u);
  var v = 0.0;
  if (yy < P.H && xx < P.W) { v = x[P.xOff + ((b * P.H + yy) * P.W + xx) * P.C + c]; }
  y[P.yOff + i] = v;
}
