// Inverse of window-partition plus the block's residual add:
//   y[b, h, w, c] = res[b, h, w, c] + win[window of ((h - shift) mod Hp, (w - shift) mod Wp), c]
// win: [B * nW, ws*ws, C] at P.winOff; res, y: [B, H, W, C] at P.resOff / P.yOff (padding cropped).
// Reference: test/ref/swin.ts windowReverseRef.

override WG: u32;

struct Params {
  B: u32, H: u32, W: u32, C: u32,
  ws: u32, shift: u32, Hp: u32, Wp: u32,
  winOff: u32, resOff: u32, yOff: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> win: array<f32>;
@group(0) @binding(2) var<storage, read> res: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  if (i >= P.B * P.H * P.W * P.C) { return; }
  let c = i % P.C;
  let w = (i / P.C) % P.W;
  let h = (i / (P.C * P.W)) % P.H;
  let b = i / (P.C * P.W * P.H);
  let hp = (h + P.Hp - P.shift % P.Hp) % P.Hp;
  let wp = (w + P.Wp - P.shift % P.Wp) % P.Wp;
  let nWx = P.Wp / P.ws;
  let window = b * (P.Hp / P.ws) * nWx + (hp / P.ws) * nWx + wp / P.ws;
  let t = (hp % P.ws) * P.ws + wp % P.ws;
  y[P.yOff + i] = res[P.resOff + i] + win[P.winOff + (window * P.ws * P.ws + t) * P.C + c];
}
