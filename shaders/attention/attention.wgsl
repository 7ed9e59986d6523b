// Fused multi-head attention with optional mask and relative-position bias, online softmax:
//   s[k] = scale * q . k[k] + bias[h, q, k] + (MASK == 2 ? mask[b % maskBatch, q, k] : 0)
//   out[b, q, h, :] = sum_k softmax(s)[k] * v[b, k, h, :]
// q: [B, Lq, H*dh] view: element (b, l, h, d) at qOff + b*qStrideB + l*qStrideL + h*dh + d (same for k, v, out)
// mask: MASK == 1: u32 [maskBatch, Lq, Lk], nonzero = blocked; MASK == 2: f32 bits, additive
// bias: HAS_BIAS: f32 [H, Lq, Lk] at biasOff, shared by every batch (Swin relative position bias)
// A query row whose keys are all blocked (MASK == 1): MASKED_ROW == 0 attends to every key
// (Mask2Former's rule), MASKED_ROW == 1 writes zeros.
// Threads: one workgroup of WG (power of two) per (b, h, q); keys in tiles of WG (one key per
// invocation for the scores, tile maxima by workgroupMax from shaders/common/reduce.wgsl), head
// dims spread over invocations (d = lid + r*WG, r < 4).
// Reference: test/ref/attention.ts.

override WG: u32;
override MAX_HEAD_DIM: u32;
override MASK: u32;
override HAS_BIAS: bool;
override MASKED_ROW: u32;

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

var<workgroup> qs: array<f32, MAX_HEAD_DIM>;
var<workgroup> p: array<f32, WG>;

const NEG_INF = -0x1.fffffep+127f;

// #import common/reduce

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let wid = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  if (wid >= P.B * P.H * P.Lq) { return; } // uniform per workgroup
  let iq = wid % P.Lq;
  let h = (wid / P.Lq) % P.H;
  let b = wid / (P.Lq * P.H);
  let qBase = P.qOff + b * P.qStrideB + iq * P.qStrideL + h * P.dh;
  let kBase = P.kOff + b * P.kStrideB + h * P.dh;
  let vBase = P.vOff + b * P.vStrideB + h * P.dh;
  let maskRow = P.maskOff + ((b % P.maskBatch) * P.Lq + iq) * P.Lk;
  for (var d = lid; d < P.dh; d += WG) { qs[d] = q[qBase + d]; }

  // Is any key open? Decides the fully-masked-row rule before the softmax.
  var useMask = MASK == 1u;
  if (MASK == 1u) {
    var open = 0.0;
    for (var j = lid; j < P.Lk; j += WG) { if (mask[maskRow + j] == 0u) { open = 1.0; } }
    let anyOpen = workgroupMax(lid, open) > 0.0;
    useMask = anyOpen || MASKED_ROW == 1u;
  }
  workgroupBarrier();

  var m = NEG_INF;   // running max (uniform: read from shared memory)
  var l = 0.0;       // running sum of exp
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var t0 = 0u; t0 < P.Lk; t0 += WG) {
    let j = t0 + lid;
    var s = NEG_INF;
    if (j < P.Lk) {
      let kRow = kBase + j * P.kStrideL;
      var dot = 0.0;
      for (var d = 0u; d < P.dh; d++) { dot += qs[d] * k[kRow + d]; }
      s = dot * P.scale;
      if (HAS_BIAS) { s += bias[P.biasOff + (h * P.Lq + iq) * P.Lk + j]; }
      if (MASK == 2u) { s += bitcast<f32>(mask[maskRow + j]); }
      if (useMask && mask[maskRow + j] != 0u) { s = NEG_INF; }
    }
    let tileMax = workgroupMax(lid, s);
    let mNew = max(m, tileMax);
    var pj = 0.0;
    if (s > NEG_INF) { pj = exp(s - mNew); }
    p[lid] = pj;
    workgroupBarrier();
    var alpha = 0.0;
    if (m > NEG_INF) { alpha = exp(m - mNew); }
    let n = min(WG, P.Lk - t0);
    var tileSum = 0.0;
    for (var i = 0u; i < n; i++) { tileSum += p[i]; }
    l = l * alpha + tileSum;
    for (var r = 0u; r < 4u; r++) {
      let d = lid + r * WG;
      if (d < P.dh) {
        var sv = 0.0;
        for (var i = 0u; i < n; i++) { sv += p[i] * v[vBase + (t0 + i) * P.vStrideL + d]; }
        acc[r] = acc[r] * alpha + sv;
      }
    }
    m = mNew;
    workgroupBarrier();
  }
  let oBase = P.oOff + b * P.oStrideB + iq * P.oStrideL + h * P.dh;
  var inv = 0.0;
  if (l > 0.0) { inv = 1.0 / l; }
  for (var r = 0u; r < 4u; r++) {
    let d = lid + r * WG;
    if (d < P.dh) { out[oBase + d] = acc[r] * inv; }
  }
}
