// Multi-head attention, one invocation per query row (no barriers: cheap on CPU adapters and
// for the short rows of Swin windows and decoder queries). Same contract as attention.wgsl:
//   s[k] = scale * q . k[k] + bias[h, q, k] + (MASK == 2 ? mask[b % maskBatch, q, k] : 0)
//   out[b, q, h, :] = sum_k softmax(s)[k] * v[b, k, h, :]
// q: element (b, l, h, d) at qOff + b*qStrideB + l*qStrideL + h*dh + d (same for k, v, out)
// mask: MASK == 1: u32 [maskBatch, Lq, Lk], nonzero = blocked; MASK == 2: f32 bits, additive
// bias: HAS_BIAS: f32 [H, Lq, Lk] at biasOff. A row with every key blocked (MASK == 1):
// MASKED_ROW == 0 attends to every key (Mask2Former), 1 writes zeros.
// Single pass, online softmax; the output row lives in registers: dh <= 4 * ACC (TS checks).
// Invocation id = (b * H + h) * Lq + q. Reference: test/ref/attention.ts.

override WG: u32;
override MASK: u32;
override HAS_BIAS: bool;
override MASKED_ROW: u32;

const ACC = 16u;

struct Params {
  B: u32, H: u32, Lq: u32, Lk: u32,
  dh: u32, scale: f32, qOff: u32, qStrideB: u32,
  qStrideL: u32, kOff: u32, kStrideB: u32, kStrideL: u32,
  vOff: u32, vStrideB: u32, vStrideL: u32, oOff: u32,
  oStrideB: u32, oStrideL: u32, maskOff: u32, maskBatch: u32,
  biasOff: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  if (row >= P.B * P.H * P.Lq) { return; }
  let iq = row % P.Lq;
  let h = (row / P.Lq) % P.H;
  let b = row / (P.Lq * P.H);
  let qBase = P.qOff + b * P.qStrideB + iq * P.qStrideL + h * P.dh;
  let kBase = P.kOff + b * P.kStrideB + h * P.dh;
  let vBase = P.vOff + b * P.vStrideB + h * P.dh;
  let maskRow = P.maskOff + ((b % P.maskBatch) * P.Lq + iq) * P.Lk;
  let nv = (P.dh + 3u) / 4u;
  let last = P.dh - 1u;

  var useMask = MASK == 1u;
  if (MASK == 1u && MASKED_ROW == 0u) {
    var open = false;
    for (var j = 0u; j < P.Lk; j++) { if (mask[maskRow + j] == 0u) { open = true; break; } }
    useMask = open;
  }

  var qv: array<vec4<f32>, ACC>;
  var acc: array<vec4<f32>, ACC>;
  for (var c = 0u; c < nv; c++) {
    var t = vec4<f32>(0.0);
    for (var e = 0u; e < 4u; e++) { let d = c * 4u + e; if (d < P.dh) { t[e] = q[qBase + d]; } }
    qv[c] = t;
    acc[c] = vec4<f32>(0.0);
  }
  var m = -0x1.fffffep+127f;
  var l = 0.0;
  for (var j = 0u; j < P.Lk; j++) {
    if (useMask && mask[maskRow + j] != 0u) { continue; }
    let kRow = kBase + j * P.kStrideL;
    // Lanes past dh read a clamped (valid, finite) element: q is zero there, and those acc
    // lanes are never stored, so the loops need no per-element branches.
    var qk = 0.0;
    for (var c = 0u; c < nv; c++) {
      let d = c * 4u;
      let kv = vec4<f32>(k[kRow + d], k[kRow + min(d + 1u, last)], k[kRow + min(d + 2u, last)], k[kRow + min(d + 3u, last)]);
      qk += dot(qv[c], kv);
    }
    var s = qk * P.scale;
    if (HAS_BIAS) { s += bias[P.biasOff + (h * P.Lq + iq) * P.Lk + j]; }
    if (MASK == 2u) { s += bitcast<f32>(mask[maskRow + j]); }
    let mNew = max(m, s);
    let alpha = exp(m - mNew);
    let p = exp(s - mNew);
    l = l * alpha + p;
    let vRow = vBase + j * P.vStrideL;
    for (var c = 0u; c < nv; c++) {
      let d = c * 4u;
      let vv = vec4<f32>(v[vRow + d], v[vRow + min(d + 1u, last)], v[vRow + min(d + 2u, last)], v[vRow + min(d + 3u, last)]);
      acc[c] = acc[c] * alpha + p * vv;
    }
    m = mNew;
  }
  var inv = 0.0;
  if (l > 0.0) { inv = 1.0 / l; }
  let oBase = P.oOff + b * P.oStrideB + iq * P.oStrideL + h * P.dh;
  for (var c = 0u; c < nv; c++) {
    for (var e = 0u; e < 4u; e++) { let d = c * 4u + e; if (d < P.dh) { out[oBase + d] = acc[c][e] * inv; } }
  }
}
