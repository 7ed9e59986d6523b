// The register-tiled matmul, written once for matmul.wgsl (f32 B) and matmul-f16.wgsl (f16 B):
// the contract (bindings, Params, what is computed) is in those files' headers. A kernel takes it
// with `// #import matmul/body/register` (src/gpu/wgsl-import.ts) and calls
// matmulRegister(lid, wg, nwg) from its entry point, with @workgroup_size(WG_X, WG_Y).
// #requires override TM
// #requires override WG_X
// #requires override WG_Y
// #requires var P
// #requires var a
// #requires fn loadB
// #requires fn store
// The kernel declares the bindings, and `fn loadB(i: u32) -> f32`: element i of b widened to f32
// (the one line where the element type of B shows). `store` is matmul/body/epilogue's.
// Threads: WG_X x WG_Y invocations; each computes TM rows x 4 columns in registers (TM = 4
// general, TM = 1 for small M such as ~100 decoder queries, so more workgroups share the work).
// Linear workgroup id (folded over x/y/z) = batch * tilesM * tilesN + tileM * tilesN + tileN.

fn matmulRegister(lid: vec3<u32>, wg: vec3<u32>, nwg: vec3<u32>) {
  let wid = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let perBatch = P.tilesN * P.tilesM;
  let batch = wid / perBatch;
  if (batch >= P.batch) { return; }
  let t = wid % perBatch;
  let col0 = ((t % P.tilesN) * WG_X + lid.x) * 4u;
  let row0 = ((t / P.tilesN) * WG_Y + lid.y) * TM;
  if (row0 >= P.M || col0 >= P.N) { return; }
  let aBase = P.aOff + batch * P.aStride;
  let bBase = P.bOff + batch * P.bStride;
  // Rows / columns past the matrix read a clamped (valid) element and are never stored: no
  // branches in the K loop. Four named accumulators (not an array) stay in registers.
  let a0 = aBase + row0 * P.K;
  let a1 = aBase + min(row0 + 1u, P.M - 1u) * P.K;
  let a2 = aBase + min(row0 + 2u, P.M - 1u) * P.K;
  let a3 = aBase + min(row0 + 3u, P.M - 1u) * P.K;
  var bCol: vec4<u32>;
  for (var j = 0u; j < 4u; j++) {
    let n = min(col0 + j, P.N - 1u);
    if (P.transB == 1u) { bCol[j] = bBase + n * P.K; } else { bCol[j] = bBase + n; }
  }
  var bStep = P.N;
  if (P.transB == 1u) { bStep = 1u; }
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < P.K; k++) {
    let o = k * bStep;
    let bv = vec4<f32>(loadB(bCol.x + o), loadB(bCol.y + o), loadB(bCol.z + o), loadB(bCol.w + o));
    acc0 += a[a0 + k] * bv;
    if (TM == 4u) {
      acc1 += a[a1 + k] * bv;
      acc2 += a[a2 + k] * bv;
      acc3 += a[a3 + k] * bv;
    }
  }
  let cBase = P.cOff + batch * P.cStride;
  store(cBase, row0, col0, acc0);
  if (TM == 4u) {
    store(cBase, row0 + 1u, col0, acc1);
    store(cBase, row0 + 2u, col0, acc2);
    store(cBase, row0 + 3u, col0, acc3);
  }
}
