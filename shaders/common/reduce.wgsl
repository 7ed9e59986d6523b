// Workgroup reductions shared by kernels: every invocation passes its partial, every invocation
// gets the workgroup's total. A kernel takes them with the line `// #import common/reduce`
// (src/gpu/wgsl-import.ts pastes this text there when the kernel is defined).
// #requires override WG
// The importing kernel declares `override WG: u32` (its workgroup size, a power of two: checked in
// TS where the value is chosen) and calls these from uniform control flow with all WG invocations
// (they contain barriers). Each ends with a barrier, so the next call may reuse the scratch.
// Order: a tree over the invocation index, red[i] = red[i] (op) red[i + off] for off = WG/2 .. 1,
// the order every kernel used before the helper existed (results are bit-identical to them). The
// last level (red[0] (op) red[1]) is done by every invocation from the two values, which saves
// the barrier after it: log2(WG) + 1 barriers per call, the trailing one included.
// Scratch: one array of WG per value type; only the arrays of the functions a kernel calls count
// towards its workgroup memory (WebGPU counts statically used variables).
// No subgroup operations: they change the summation order (the HF parity budget) and no GPU was
// available to show a gain.

var<workgroup> reduceF32: array<f32, WG>;
var<workgroup> reduceF32x2: array<vec2<f32>, WG>;
var<workgroup> reduceU32: array<u32, WG>;

// Sum of v over the workgroup.
fn workgroupSum(lid: u32, v: f32) -> f32 {
  reduceF32[lid] = v;
  workgroupBarrier();
  for (var off = WG / 2u; off > 1u; off = off / 2u) {
    if (lid < off) { reduceF32[lid] += reduceF32[lid + off]; }
    workgroupBarrier();
  }
  var total = reduceF32[0];
  if (WG > 1u) { total += reduceF32[min(1u, WG - 1u)]; }
  workgroupBarrier();
  return total;
}

// Maximum of v over the workgroup.
fn workgroupMax(lid: u32, v: f32) -> f32 {
  reduceF32[lid] = v;
  workgroupBarrier();
  for (var off = WG / 2u; off > 1u; off = off / 2u) {
    if (lid < off) { reduceF32[lid] = max(reduceF32[lid], reduceF32[lid + off]); }
    workgroupBarrier();
  }
  var total = reduceF32[0];
  if (WG > 1u) { total = max(total, reduceF32[min(1u, WG - 1u)]); }
  workgroupBarrier();
  return total;
}

// Two sums in one tree (half the barriers of two calls); each component in workgroupSum's order.
fn workgroupSum2(lid: u32, v: vec2<f32>) -> vec2<f32> {
  reduceF32x2[lid] = v;
  workgroupBarrier();
  for (var off = WG / 2u; off > 1u; off = off / 2u) {
    if (lid < off) { reduceF32x2[lid] += reduceF32x2[lid + off]; }
    workgroupBarrier();
  }
  var total = reduceF32x2[0];
  if (WG > 1u) { total += reduceF32x2[min(1u, WG - 1u)]; }
  workgroupBarrier();
  return total;
}

// Sum of u32 counts over the workgroup (wraps at 2^32, as u32 addition does).
fn workgroupSumU32(lid: u32, v: u32) -> u32 {
  reduceU32[lid] = v;
  workgroupBarrier();
  for (var off = WG / 2u; off > 1u; off = off / 2u) {
    if (lid < off) { reduceU32[lid] += reduceU32[lid + off]; }
    workgroupBarrier();
  }
  var total = reduceU32[0];
  if (WG > 1u) { total += reduceU32[min(1u, WG - 1u)]; }
  workgroupBarrier();
  return total;
}
