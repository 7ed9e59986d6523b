// Elementwise ops, one element per invocation:
//   OP 0 copy, 1 add, 2 mul: y[i] = a[i] (op b[(i / bInner) % bLen])   (b broadcast: per channel of
//   NCHW with bInner = HW, bLen = C; per last dim with bInner = 1, bLen = C; same shape: bLen = n)
//   OP 3 relu, 4 gelu (exact, erf), 5 sigmoid: y[i] = f(a[i])
//   OP 6 mask: y[i] = sigmoid(a[i]) < 0.5 ? 1.0 : 0.0 (Mask2Former's blocked positions; the 0/1 floats
//   are read as u32 by attention, where +0.0 is 0 = open)
// a, y: [n] at P.aOff / P.yOff; b at P.bOff. Reference: test/ref/elementwise.ts.

override WG: u32;
override OP: u32;

struct Params { n: u32, aOff: u32, bOff: u32, yOff: u32, bInner: u32, bLen: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// erfc(z) for z >= 0 (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
fn erfcPos(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(poly);
}

// gelu(x) = 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2), accurate for large |x| too.
fn gelu(x: f32) -> f32 {
  let z = -x * 0.70710678118654752;
  var e = erfcPos(abs(z));
  if (z < 0.0) { e = 2.0 - e; }
  return 0.5 * x * e;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (wg.x + nwg.x * (wg.y + nwg.y * wg.z)) * WG + lid;
  if (i >= P.n) { return; }
  let v = a[P.aOff + i];
  var r: f32;
  switch OP {
    case 0u: { r = v; }
    case 1u: { r = v + b[P.bOff + (i / P.bInner) % P.bLen]; }
    case 2u: { r = v * b[P.bOff + (i / P.bInner) % P.bLen]; }
    case 3u: { r = max(v, 0.0); }
    case 4u: { r = gelu(v); }
    case 5u: { r = 1.0 / (1.0 + exp(-v)); }
    default: { r = select(0.0, 1.0, 1.0 / (1.0 + exp(-v)) < 0.5); }
  }
  y[P.yOff + i] = r;
}
