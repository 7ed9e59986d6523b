/** Eval-mode BatchNorm (running statistics) over NCHW, with optional residual add and activation (ResNet). */
import code from '../../shaders/norm/batch-norm.wgsl?raw';
import { ShapeError } from '../errors.ts';
import { defineKernel } from '../gpu/kernel.ts';
import { numel, type GraphBuilder, type Tensor } from '../graph/builder.ts';
import { expectShape, outputFor, perElement } from './common.ts';

export const batchNormKernel = defineKernel({
  name: 'batch-norm',
  code,
  params: [
    ['n', 'u32'], ['C', 'u32'], ['HW', 'u32'], ['eps', 'f32'],
    ['xOff', 'u32'], ['gOff', 'u32'], ['bOff', 'u32'], ['mOff', 'u32'],
    ['vOff', 'u32'], ['rOff', 'u32'], ['yOff', 'u32'],
  ],
  bindings: ['read', 'read', 'read', 'read', 'read', 'read', 'write'],
  overrides: ['WG', 'ACT', 'HAS_RESIDUAL'],
});

const WG = 256;
const ACTS = { none: 0, relu: 1, gelu: 2 } as const;
export type BatchNormActivation = keyof typeof ACTS;

export interface BatchNormParams {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
}

export interface BatchNormOptions {
  readonly eps?: number;
  /** Added after the normalisation, before the activation (a residual block's sum). */
  readonly residual?: Tensor;
  readonly act?: BatchNormActivation;
  readonly out?: Tensor;
}

/** x [B, C, ...spatial] -> act(bn(x) (+ residual)). */
export function batchNorm(g: GraphBuilder, x: Tensor, p: BatchNormParams, o: BatchNormOptions = {}): Tensor {
  if (x.shape.length < 2) throw new ShapeError('batch-norm', x.name, '[B, C, ...]', x.shape);
  const C = x.shape[1] as number;
  for (const t of [p.weight, p.bias, p.runningMean, p.runningVar]) expectShape('batch-norm', t, [C]);
  if (o.residual) expectShape('batch-norm', o.residual, x.shape);
  const y = outputFor(g, 'batch-norm', x.shape, o.out);
  const n = numel(x.shape);
  g.step({
    label: 'batch-norm',
    kernel: batchNormKernel,
    constants: { WG, ACT: ACTS[o.act ?? 'none'], HAS_RESIDUAL: o.residual !== undefined },
    bindings: [x, p.weight, p.bias, p.runningMean, p.runningVar, o.residual ?? g.dummy(), y],
    params: {
      n, C, HW: numel(x.shape.slice(2)), eps: o.eps ?? 1e-5,
      xOff: x.offset, gOff: p.weight.offset, bOff: p.bias.offset, mOff: p.runningMean.offset,
      vOff: p.runningVar.offset, rOff: o.residual ? o.residual.offset : 0, yOff: y.offset,
    },
    workgroups: perElement(n, WG),
  });
  return y;
}
