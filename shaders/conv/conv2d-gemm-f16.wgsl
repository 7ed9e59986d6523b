// f16-weight variant of conv2d-gemm.wgsl (same contract, same algorithm: shaders/conv/body/gemm.wgsl):
// w is stored as f16 (checkpoint weights kept half on adapters with shader-f16), widened to f32 on
// load by loadW; x, bias, y and every accumulation stay f32. Reference: test/ref/conv.ts with w
// rounded to f16.
enable f16;

// 2-D convolution as an implicit GEMM, tiled for GPUs (the 'gpu' kernel policy, conv: 'gemm'):
//   y[b, oc, oy, ox] = bias[oc] + sum_k Wt[oc, k] * X_b[k, oy * Wo + ox]
// with k = (ic * KH + ky) * KW + kx. Wt = w seen as [Cout, K], K = Cin * KH * KW (the PyTorch
// layout [Cout, Cin, KH, KW] flattened, contiguous along k: no repacking). X_b is batch b's im2col
// matrix [K, Ho * Wo], X_b[k, n] = x[b, ic, oy * sY - pY + ky, ox * sX - pX + kx] (n = oy * Wo + ox),
// 0 outside the image (padding, including extra bottom/right padding: Ho/Wo may cover more than
// the image). It is gathered from x while the slice is staged and never stored.
// x: [B, Cin, H, W] f32 at P.xOff; w: [Cout, Cin, KH, KW] f16 at P.wOff; bias: [Cout] at P.biasOff
// when P.hasBias == 1; y: [B, Cout, Ho, Wo] at P.yOff (per batch the [Cout, Ho * Wo] matrix C).

override WG: u32; // invocations per side; the C tile is 4 * WG square (WG a multiple of 4, checked in TS)
override BK: u32; // k per slice

struct Params {
  B: u32, Cin: u32, H: u32, W: u32,
  Cout: u32, Ho: u32, Wo: u32, KH: u32,
  KW: u32, strideY: u32, strideX: u32, padY: u32,
  padX: u32, xOff: u32, wOff: u32, biasOff: u32,
  yOff: u32, tilesM: u32, tilesN: u32, hasBias: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f16>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn loadW(i: u32) -> f32 { return f32(w[i]); }

// #import conv/body/gemm

@compute @workgroup_size(WG, WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  conv2dGemm(lid, wg, nwg);
}
