// Multi-scale deformable attention sampling (Deformable DETR core, HF's pure-PyTorch path):
//   out[b, q, h, d] = sum_{l, p} w[b, q, h, l*P + p] * bilinear(value_l[b, :, :, h, d], loc)
//   loc = ref[q] + off[b, q, h, l, p] / (w_l, h_l); pixel = loc * (w_l, h_l) - 0.5
//   (grid_sample: bilinear, zero padding, align_corners = False)
// value: [B, S, H*dh] at valOff (level l: tokens start_l .. start_l + h_l*w_l, row-major)
// off: [B, Lq, H, L, P, 2] (x, y) at offOff; w: [B, Lq, H, L*P] at wOff (already softmaxed)
// ref: [Lq, 2] (x, y) normalised at refOff; out: [B, Lq, H*dh] at outOff
// Levels (at most 4) come as hL/wL/sL uniforms. Thread per output element.
// Reference: test/ref/ms-deform-attn.ts.

override WG: u32;

struct Params {
  B: u32, Lq: u32, H: u32, dh: u32,
  L: u32, NP: u32, S: u32, valOff: u32,
  offOff: u32, wOff: u32, refOff: u32, outOff: u32,
  h0: u32, w0: u32, s0: u32, h1: u32,
  w1: u32, s1: u32, h2: u32, w2: u32,
  s2: u32, h3: u32, w3: u32, s3: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> value: array<f32>;
@group(0) @binding(2) var<storage, read> off: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> refs: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

fn level(l: u32) -> vec3<u32> {
  switch l {
    case 0u: { return vec3<u32>(P.h0, P.w0, P.s0); }
    case 1u: { return vec3<u32>(P.h1, P.w1, P.s1); }
    case 2u: { return vec3<u32>(P.h2, P.w2, P.s2); }
    default: { return vec3<u32>(P.h3, P.w3, P.s3); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  let C = P.H * P.dh;
  if (i >= P.B * P.Lq * C) { return; }
  let d = i % P.dh;
  let h = (i / P.dh) % P.H;
  let iq = (i / C) % P.Lq;
  let b = i / (C * P.Lq);
  let rx = refs[P.refOff + iq * 2u];
  let ry = refs[P.refOff + iq * 2u + 1u];
  let bqh = (b * P.Lq + iq) * P.H + h;
  var acc = 0.0;
  for (var l = 0u; l < P.L; l++) {
    let lv = level(l);
    let hl = lv.x;
    let wl = lv.y;
    let fw = f32(wl);
    let fh = f32(hl);
    let vBase = P.valOff + (b * P.S + lv.z) * C + h * P.dh + d;
    for (var pt = 0u; pt < P.NP; pt++) {
      let o = P.offOff + ((bqh * P.L + l) * P.NP + pt) * 2u;
      let wgt = weights[P.wOff + bqh * P.L * P.NP + l * P.NP + pt];
      let x = (rx + off[o] / fw) * fw - 0.5;
      let y = (ry + off[o + 1u] / fh) * fh - 0.5;
      let x0 = floor(x);
      let y0 = floor(y);
      let fx = x - x0;
      let fy = y - y0;
      var sample = 0.0;
      for (var cy = 0; cy < 2; cy++) {
        let yy = i32(y0) + cy;
        if (yy < 0 || yy >= i32(hl)) { continue; }
        let wy = select(1.0 - fy, fy, cy == 1);
        for (var cx = 0; cx < 2; cx++) {
          let xx = i32(x0) + cx;
          if (xx < 0 || xx >= i32(wl)) { continue; }
          let wx = select(1.0 - fx, fx, cx == 1);
          sample += wy * wx * value[vBase + (u32(yy) * wl + u32(xx)) * C];
        }
      }
      acc += wgt * sample;
    }
  }
  out[P.outOff + i] = acc;
}
