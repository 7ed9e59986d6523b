// Counts NaN and +-Inf values per block, to tell a diverged model output from an empty one:
//   y[k] = #{ i in [k * chunk, min((k + 1) * chunk, n)) : x[i] is NaN or +-Inf }
// x: f32 [n] at P.xOff; y: u32 [ceil(n / chunk)] at P.yOff.
// Workgroup per block k: each invocation counts a strided share of the block, then
// workgroupSumU32 (shaders/common/reduce.wgsl; WG a power of two). The test is on the bits (exponent all
// ones), since WGSL lets implementations assume floats are finite in comparisons.
// Reference: test/ref/nonfinite.ts.

override WG: u32;

struct Params { n: u32, chunk: u32, blocks: u32, xOff: u32, yOff: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

// #import common/reduce

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  // No early return before the barriers: a block past the end counts nothing and stores nothing.
  let begin = min(k * P.chunk, P.n);
  let end = min(begin + P.chunk, P.n);
  var c = 0u;
  for (var i = begin + lid; i < end; i += WG) {
    if ((bitcast<u32>(x[P.xOff + i]) & 0x7f800000u) == 0x7f800000u) { c += 1u; }
  }
  let total = workgroupSumU32(lid, c);
  if (lid == 0u && k < P.blocks) { y[P.yOff + k] = total; }
}
