/** 2-D max pooling over NCHW as torch nn.MaxPool2d (ResNet stem: kernel 3, stride 2, padding 1). */
import code from '../../shaders/conv/max-pool.wgsl?raw';
import { ShapeError } from '../errors.ts';
import { defineKernel } from '../gpu/kernel.ts';
import type { GraphBuilder, Tensor } from '../graph/builder.ts';
import { expectPositive, expectRank, outputFor, perElement } from './common.ts';

export const maxPoolKernel = defineKernel({
  name: 'max-pool',
  code,
  params: [['planes', 'u32'], ['H', 'u32'], ['W', 'u32'], ['Ho', 'u32'], ['Wo', 'u32'], ['K', 'u32'], ['S', 'u32'], ['PAD', 'u32'], ['xOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'write'],
  overrides: ['WG'],
});

const WG = 256;

export interface MaxPoolOptions {
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  readonly out?: Tensor;
}

/** torch's output size: floor((H + 2 pad - K) / S) + 1 (ceil_mode False). */
export function maxPoolShape(x: readonly number[], o: MaxPoolOptions): [number, number, number, number] {
  const out = (n: number): number => Math.floor((n + 2 * o.padding - o.kernel) / o.stride) + 1;
  return [x[0] as number, x[1] as number, out(x[2] as number), out(x[3] as number)];
}

/** x [B, C, H, W] -> [B, C, Ho, Wo]. */
export function maxPool2d(g: GraphBuilder, x: Tensor, o: MaxPoolOptions): Tensor {
  expectRank('max-pool', x, 4, '[B, C, H, W]');
  expectPositive('max-pool', 'kernel', o.kernel);
  expectPositive('max-pool', 'stride', o.stride);
  // torch: "pad should be at most half of effective kernel size".
  if (!Number.isInteger(o.padding) || o.padding < 0 || 2 * o.padding > o.kernel) throw new ShapeError('max-pool', 'padding', `an integer in [0, ${Math.floor(o.kernel / 2)}]`, String(o.padding));
  const [B, C, H, W] = x.shape as [number, number, number, number];
  const shape = maxPoolShape(x.shape, o);
  const [, , Ho, Wo] = shape;
  if (Ho <= 0 || Wo <= 0) throw new ShapeError('max-pool', x.name, `spatial size >= kernel ${o.kernel} after padding`, x.shape);
  const y = outputFor(g, 'max-pool', shape, o.out);
  g.step({
    label: 'max-pool',
    kernel: maxPoolKernel,
    constants: { WG },
    bindings: [x, y],
    params: { planes: B * C, H, W, Ho, Wo, K: o.kernel, S: o.stride, PAD: o.padding, xOff: x.offset, yOff: y.offset },
    workgroups: perElement(B * C * Ho * Wo, WG),
  });
  return y;
}
