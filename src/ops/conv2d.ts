/**
 * conv2d, NCHW, groups = 1, zero padding; 1x1 stride-1 convolutions run as a batched matmul,
 * the others with the direct kernel ('cpu' policy) or as an implicit GEMM ('gpu' policy).
 */
import code from '../../shaders/conv/conv2d.wgsl?raw';
import gemmCode from '../../shaders/conv/conv2d-gemm.wgsl?raw';
import gemmF16Code from '../../shaders/conv/conv2d-gemm-f16.wgsl?raw';
import { ShapeError, UnsupportedError } from '../errors.ts';
import { defineKernel } from '../gpu/kernel.ts';
import type { GraphBuilder, Tensor } from '../graph/builder.ts';
import { expectRank, outputFor } from './common.ts';
import { matmul, TILED_BK, TILED_WG } from './matmul.ts';

export const conv2dKernel = defineKernel({
  name: 'conv2d',
  code,
  params: [
    ['B', 'u32'], ['Cin', 'u32'], ['H', 'u32'], ['W', 'u32'],
    ['Cout', 'u32'], ['Ho', 'u32'], ['Wo', 'u32'], ['KH', 'u32'],
    ['KW', 'u32'], ['strideY', 'u32'], ['strideX', 'u32'], ['padY', 'u32'],
    ['padX', 'u32'], ['xOff', 'u32'], ['wOff', 'u32'], ['biasOff', 'u32'],
    ['yOff', 'u32'], ['pixelBlocks', 'u32'], ['ocGroups', 'u32'], ['hasBias', 'u32'],
  ],
  bindings: ['read', 'read', 'read', 'write'],
  overrides: ['WG'],
});

/**
 * The implicit GEMM on the tiled matmul's tiles: (4 * TILED_WG)^2 outputs (channels x pixels) per
 * workgroup, weights and im2col slices of TILED_BK staged in workgroup memory. Each invocation
 * gathers one im2col column at every (TILED_WG / 4)-th k of a slice: TILED_WG must be a multiple
 * of 4 (tested in test/unit/policy.test.ts).
 */
export const conv2dGemmKernel = defineKernel({
  name: 'conv2d-gemm',
  code: gemmCode,
  params: [
    ['B', 'u32'], ['Cin', 'u32'], ['H', 'u32'], ['W', 'u32'],
    ['Cout', 'u32'], ['Ho', 'u32'], ['Wo', 'u32'], ['KH', 'u32'],
    ['KW', 'u32'], ['strideY', 'u32'], ['strideX', 'u32'], ['padY', 'u32'],
    ['padX', 'u32'], ['xOff', 'u32'], ['wOff', 'u32'], ['biasOff', 'u32'],
    ['yOff', 'u32'], ['tilesM', 'u32'], ['tilesN', 'u32'], ['hasBias', 'u32'],
  ],
  bindings: ['read', 'read', 'read', 'write'],
  overrides: ['WG', 'BK'],
  f16Capable: [1],
});

/** The implicit GEMM with the weights (binding 1) stored as f16: half-precision weights, f32 accumulation. */
export const conv2dGemmF16Kernel = defineKernel({
  name: 'conv2d-gemm-f16',
  code: gemmF16Code,
  params: conv2dGemmKernel.params,
  bindings: conv2dGemmKernel.bindings,
  overrides: conv2dGemmKernel.overrides,
  f16Bindings: [1],
});

const WG = 64;
/** Output channels per invocation: the kernel's `const OCB` (checked by a unit test). */
export const OC_BLOCK = 8;

export interface Conv2dOptions {
  readonly stride?: number | readonly [number, number];
  readonly padding?: number | readonly [number, number];
  /** Extra zero padding at the bottom / right only (Swin pads images to a multiple of the patch). */
  readonly padEnd?: readonly [number, number];
  readonly out?: Tensor;
  /** Force a kernel for convs that are not 1x1 stride 1 (tests run both); by default the graph's policy decides. */
  readonly kernel?: 'direct' | 'gemm';
}

const pair = (v: number | readonly [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

export function conv2dShape(x: readonly number[], w: readonly number[], o: Conv2dOptions): [number, number, number, number] {
  const [sY, sX] = pair(o.stride, 1);
  const [pY, pX] = pair(o.padding, 0);
  const [eY, eX] = o.padEnd ?? [0, 0];
  const Ho = Math.floor(((x[2] as number) + 2 * pY + eY - (w[2] as number)) / sY) + 1;
  const Wo = Math.floor(((x[3] as number) + 2 * pX + eX - (w[3] as number)) / sX) + 1;
  return [x[0] as number, w[0] as number, Ho, Wo];
}

/** x [B, Cin, H, W], w [Cout, Cin, KH, KW], bias [Cout] | null -> [B, Cout, Ho, Wo]. */
export function conv2d(g: GraphBuilder, x: Tensor, w: Tensor, bias: Tensor | null, o: Conv2dOptions = {}): Tensor {
  expectRank('conv2d', x, 4, '[B, Cin, H, W]');
  expectRank('conv2d', w, 4, '[Cout, Cin, KH, KW]');
  const [B, Cin, H, W] = x.shape as [number, number, number, number];
  const [Cout, Cw, KH, KW] = w.shape as [number, number, number, number];
  if (Cw !== Cin) throw new ShapeError('conv2d', w.name, `[Cout, ${Cin}, KH, KW] (Cin of ${x.name})`, w.shape);
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== Cout)) throw new ShapeError('conv2d', bias.name, `[${Cout}]`, bias.shape);
  if (x.dtype !== 'f32') throw new ShapeError('conv2d', x.name, 'dtype f32', `dtype ${x.dtype}`);
  if (w.dtype !== 'f32' && w.dtype !== 'f16') throw new ShapeError('conv2d', w.name, 'dtype f32 or f16', `dtype ${w.dtype}`);
  const [sY, sX] = pair(o.stride, 1);
  const [pY, pX] = pair(o.padding, 0);
  const shape = conv2dShape(x.shape, w.shape, o);
  const [, , Ho, Wo] = shape;
  if (Ho <= 0 || Wo <= 0) throw new ShapeError('conv2d', x.name, `spatial size >= kernel ${KH}x${KW} after padding`, x.shape);
  const asMatmul = KH === 1 && KW === 1 && sY === 1 && sX === 1 && pY === 0 && pX === 0 && Ho === H && Wo === W;
  const kernel = o.kernel ?? g.policy.conv;
  // Only the implicit GEMM reads f16 weights (the weight store keeps a conv weight f16 only when
  // every graph step that reads it is one: GraphBuilder.f16WeightKeys).
  if (w.dtype === 'f16' && (asMatmul || kernel !== 'gemm')) {
    throw new UnsupportedError(`${g.label('conv2d')}: f16 weight '${w.name}' ${JSON.stringify(w.shape)} needs the implicit-GEMM kernel; this conv runs ${asMatmul ? 'as a 1x1 matmul (weights as A, f32 only)' : 'with the direct kernel (f32 only)'}`);
  }
  if (asMatmul) {
    // y[b] = W [Cout, Cin] @ x[b] [Cin, H*W] (+ bias per row).
    const y = matmul(g, g.reshape(w, [Cout, Cin]), g.reshape(x, [B, Cin, H * W]), {
      bias, biasAlong: 'm', name: 'conv1x1', ...(o.out ? { out: o.out } : {}),
    });
    return g.reshape(y, shape);
  }
  const y = outputFor(g, 'conv2d', shape, o.out);
  const geometry = { B, Cin, H, W, Cout, Ho, Wo, KH, KW, strideY: sY, strideX: sX, padY: pY, padX: pX };
  const offsets = { xOff: x.offset, wOff: w.offset, biasOff: bias ? bias.offset : 0, yOff: y.offset, hasBias: bias ? 1 : 0 };
  if (kernel === 'gemm') {
    // Per batch C [Cout, Ho * Wo] = W [Cout, Cin * KH * KW] @ im2col(x[b]).
    const tile = 4 * TILED_WG;
    const tilesM = Math.ceil(Cout / tile);
    const tilesN = Math.ceil((Ho * Wo) / tile);
    g.step({
      label: 'conv2d',
      kernel: w.dtype === 'f16' ? conv2dGemmF16Kernel : conv2dGemmKernel,
      constants: { WG: TILED_WG, BK: TILED_BK },
      bindings: [x, w, bias ?? g.dummy(), y],
      params: { ...geometry, ...offsets, tilesM, tilesN },
      workgroups: B * tilesM * tilesN,
    });
    return y;
  }
  // Each invocation computes 4 consecutive output columns of one row for OC_BLOCK channels (see the kernel).
  const pixelBlocks = Math.ceil((Ho * Math.ceil(Wo / 4)) / WG);
  const ocGroups = Math.ceil(Cout / OC_BLOCK);
  g.step({
    label: 'conv2d',
    kernel: conv2dKernel,
    constants: { WG },
    bindings: [x, w, bias ?? g.dummy(), y],
    params: { ...geometry, ...offsets, pixelBlocks, ocGroups },
    workgroups: B * ocGroups * pixelBlocks,
  });
  return y;
}
