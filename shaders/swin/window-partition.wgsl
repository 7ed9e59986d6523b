// Swin window partition with zero padding and cyclic shift (torch.roll by -shift on H and W):
//   win[b*nW + wy*nWx + wx, ty*ws + tx, c] = xpad[b, (wy*ws + ty + shift) % Hp, (wx*ws + tx + shift) % Wp, c]
//   xpad = x zero-padded bottom/right to Hp x Wp (multiples of ws)
// x: [B, H, W, C] at P.xOff; win: [B * (Hp/ws) * (Wp/ws), ws*ws, C] at P.yOff. Thread per output element.
// Reference: test/ref/swin.ts windowPartitionRef.

override WG: u32;

struct Params {
  B: u32, H: u32, W: u32, C: u32,
  ws: u32, shift: u32, Hp: u32, Wp: u32,
  xOff: u32, yOff: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  if (i >= P.B * P.Hp * P.Wp * P.C) { return; }
  let c = i % P.C;
  let n = P.ws * P.ws;
  let t = (i / P.C) % n;
  let w = i / (P.C * n);
  let nWx = P.Wp / P.ws;
  let nW = (P.Hp / P.ws) * nWx;
  let b = w / nW;
  let wi = w % nW;
  let hs = ((wi / nWx) * P.ws + t / P.ws + P.shift) % P.Hp;
  let ws_ = ((wi % nWx) * P.ws + t % P.ws + P.shift) % P.Wp;
  var v = 0.0;
  if (hs < P.H && ws_ < P.W) { v = x[P.xOff + ((b * P.H + hs) * P.W + ws_) * P.C + c]; }
  y[P.yOff + i] = v;
}
