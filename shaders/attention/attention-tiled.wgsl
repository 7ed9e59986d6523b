// Multi-head attention, a block of queries per workgroup with K/V tiles in workgroup memory
// (the gpu policy's attention). Same contract as attention.wgsl and attention-rows.wgsl:
//   s[k] = scale * q . k[k] + bias[h, q, k] + (MASK == 2 ? mask[b % maskBatch, q, k] : 0)
//   out[b, q, h, :] = sum_k softmax(s)[k] * v[b, k, h, :]
// q: element (b, l, h, d) at qOff + b*qStrideB + l*qStrideL + h*dh + d (same for k, v, out)
// mask: MASK == 1: u32 [maskBatch, Lq, Lk], nonzero = blocked; MASK == 2: f32 bits, additive
// bias: HAS_BIAS: f32 [H, Lq, Lk] at biasOff, shared by every batch (Swin relative position bias)
// A query row whose keys are all blocked (MASK == 1): MASKED_ROW == 0 attends to every key
// (Mask2Former's rule; decided before the softmax by a scan of the row's mask), MASKED_ROW == 1
// writes zeros (the online softmax ends with a zero sum).
// Threads: workgroup id = ((b * H + h) * ceil(Lq / WG) + block); WG invocations, one query row
// each (row = block * WG + lid), q row and output accumulator in registers (DV vec4s, dh <= 4*DV,
// lanes past dh are zero in q and in the K tile, so the dot products need no branches). Keys in
// tiles of BK: the workgroup stages BK x 4*DV floats of K and of V (coalesced along the head
// dims, zero past dh and past Lk), then each invocation scores the tile, rescales once by the
// tile's max (online softmax) and accumulates p * V. Rows past Lq and workgroups past the count
// (folded dispatch) read clamped indices and store nothing: no early return before a barrier.
// Reference: test/ref/attention.ts.

override WG: u32;      // query rows per workgroup (one per invocation)
override BK: u32;      // keys per K/V tile (<= MAX_BK)
override DV: u32;      // vec4s per head row (<= MAX_DV); dh <= 4 * DV
override MASK: u32;
override HAS_BIAS: bool;
override MASKED_ROW: u32;

const MAX_DV = 16u;
const MAX_BK = 64u;

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

// [BK keys][DV vec4s]: key jj's head dims 4c..4c+3 at [jj * DV + c].
var<workgroup> ks: array<vec4<f32>, BK * DV>;
var<workgroup> vs: array<vec4<f32>, BK * DV>;

const NEG_INF = -0x1.fffffep+127f;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let blocks = (P.Lq + WG - 1u) / WG;
  let count = P.B * P.H * blocks;
  let wid = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let inRange = wid < count;                // same for the whole workgroup
  let w = min(wid, count - 1u);
  let block = w % blocks;
  let h = (w / blocks) % P.H;
  let b = w / (blocks * P.H);
  let iq = block * WG + lid;
  let store = inRange && iq < P.Lq;
  let iqc = min(iq, P.Lq - 1u);             // rows past Lq compute on the last row, store nothing
  let qBase = P.qOff + b * P.qStrideB + iqc * P.qStrideL + h * P.dh;
  let kBase = P.kOff + b * P.kStrideB + h * P.dh;
  let vBase = P.vOff + b * P.vStrideB + h * P.dh;
  let maskRow = P.maskOff + ((b % P.maskBatch) * P.Lq + iqc) * P.Lk;
  let biasRow = P.biasOff + (h * P.Lq + iqc) * P.Lk;
  let PD = 4u * DV;                         // padded head dims per staged key

  // Is any key of this row open? Decides the fully-blocked-row rule before the softmax.
  var useMask = MASK == 1u;
  if (MASK == 1u && MASKED_ROW == 0u) {
    var open = false;
    for (var j = 0u; j < P.Lk; j++) { if (mask[maskRow + j] == 0u) { open = true; break; } }
    useMask = open;
  }

  var qv: array<vec4<f32>, MAX_DV>;
  var acc: array<vec4<f32>, MAX_DV>;
  for (var c = 0u; c < DV; c++) {
    var t = vec4<f32>(0.0);
    for (var e = 0u; e < 4u; e++) { let d = c * 4u + e; if (d < P.dh) { t[e] = q[qBase + d]; } }
    qv[c] = t;
    acc[c] = vec4<f32>(0.0);
  }

  var m = NEG_INF;   // running max of the row's logits
  var l = 0.0;       // running sum of exp(s - m)
  var s: array<f32, MAX_BK>;
  for (var t0 = 0u; t0 < P.Lk; t0 += BK) {
    // Stage the tile: consecutive invocations read consecutive head dims of a key row.
    for (var e = lid; e < BK * PD; e += WG) {
      let jj = e / PD;
      let d = e % PD;
      let j = t0 + jj;
      var kx = 0.0;
      var vx = 0.0;
      if (j < P.Lk && d < P.dh) {
        kx = k[kBase + j * P.kStrideL + d];
        vx = v[vBase + j * P.vStrideL + d];
      }
      ks[e / 4u][e % 4u] = kx;
      vs[e / 4u][e % 4u] = vx;
    }
    workgroupBarrier();

    let n = min(BK, P.Lk - t0);
    var tileMax = NEG_INF;
    for (var jj = 0u; jj < BK; jj++) {
      var x = NEG_INF;
      if (jj < n) {
        let j = t0 + jj;
        var dot4 = vec4<f32>(0.0);
        for (var c = 0u; c < DV; c++) { dot4 += qv[c] * ks[jj * DV + c]; }
        x = (dot4.x + dot4.y + dot4.z + dot4.w) * P.scale;
        if (HAS_BIAS) { x += bias[biasRow + j]; }
        if (MASK == 2u) { x += bitcast<f32>(mask[maskRow + j]); }
        if (useMask && mask[maskRow + j] != 0u) { x = NEG_INF; }
      }
      s[jj] = x;
      tileMax = max(tileMax, x);
    }
    let mNew = max(m, tileMax);
    var alpha = 0.0;                        // acc and l are zero while m is NEG_INF
    if (m > NEG_INF) { alpha = exp(m - mNew); }
    l = l * alpha;
    for (var c = 0u; c < DV; c++) { acc[c] = acc[c] * alpha; }
    for (var jj = 0u; jj < BK; jj++) {
      var p = 0.0;                          // blocked keys and keys past Lk (V zero there)
      if (s[jj] > NEG_INF) { p = exp(s[jj] - mNew); }
      l += p;
      for (var c = 0u; c < DV; c++) { acc[c] += p * vs[jj * DV + c]; }
    }
    m = mNew;
    workgroupBarrier();                     // the next tile overwrites ks / vs
  }

  var inv = 0.0;
  if (l > 0.0) { inv = 1.0 / l; }
  let oBase = P.oOff + b * P.oStrideB + iq * P.oStrideL + h * P.dh;
  if (store) {
    for (var c = 0u; c < DV; c++) {
      for (var e = 0u; e < 4u; e++) { let d = c * 4u + e; if (d < P.dh) { out[oBase + d] = acc[c][e] * inv; } }
    }
  }
}
