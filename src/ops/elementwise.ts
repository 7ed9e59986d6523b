/** Elementwise ops: add / mul with broadcasting of the second operand, relu, exact gelu, sigmoid, copy. */
import code from '../../shaders/elementwise/elementwise.wgsl?raw';
import { ShapeError } from '../errors.ts';
import { defineKernel } from '../gpu/kernel.ts';
import { numel, type GraphBuilder, type Tensor } from '../graph/builder.ts';
import { outputFor, perElement } from './common.ts';

export const elementwiseKernel = defineKernel({
  name: 'elementwise',
  code,
  params: [['n', 'u32'], ['aOff', 'u32'], ['bOff', 'u32'], ['yOff', 'u32'], ['bInner', 'u32'], ['bLen', 'u32']],
  bindings: ['read', 'read', 'write'],
  overrides: ['WG', 'OP'],
});

const WG = 256;
const OPS = { copy: 0, add: 1, mul: 2, relu: 3, gelu: 4, sigmoid: 5, 'sigmoid-below-half': 6 } as const;
/** 'sigmoid-below-half': 1.0 where sigmoid(x) < 0.5 else 0.0 (see maskFromLogits). */
export type UnaryOp = 'copy' | 'relu' | 'gelu' | 'sigmoid' | 'sigmoid-below-half';
export type BinaryOp = 'add' | 'mul';

function emit(g: GraphBuilder, op: keyof typeof OPS, a: Tensor, b: Tensor | null, bInner: number, bLen: number, out: Tensor | undefined): Tensor {
  const y = outputFor(g, op, a.shape, out);
  const n = numel(a.shape);
  g.step({
    label: op,
    kernel: elementwiseKernel,
    constants: { WG, OP: OPS[op] },
    bindings: [a, b ?? g.dummy(), y],
    params: { n, aOff: a.offset, bOff: b ? b.offset : 0, yOff: y.offset, bInner, bLen },
    workgroups: perElement(n, WG),
  });
  return y;
}

export function unary(g: GraphBuilder, op: UnaryOp, x: Tensor, out?: Tensor): Tensor {
  return emit(g, op, x, null, 1, 1, out);
}

/**
 * a op b, where b is the same size as a, or broadcast along trailing dims: b's shape must equal
 * a's dims [axis, axis + rank(b)) (e.g. [C] against [B, C, H, W] with axis 1; [C] against
 * [B, L, C] with axis 2; [L, C] against [B, L, C] with axis 1).
 */
export function binary(g: GraphBuilder, op: BinaryOp, a: Tensor, b: Tensor, axis = a.shape.length - b.shape.length, out?: Tensor): Tensor {
  const span = a.shape.slice(axis, axis + b.shape.length);
  if (axis < 0 || span.length !== b.shape.length || span.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(op, b.name, `dims [${span.join(', ')}] of ${a.name} [${a.shape.join(', ')}] at axis ${axis}`, b.shape);
  }
  const bInner = numel(a.shape.slice(axis + b.shape.length));
  return emit(g, op, a, b, bInner, numel(b.shape), out);
}

/**
 * Mask2Former's attention mask from mask logits: blocked (nonzero) where sigmoid(logit) < 0.5.
 * Written as 0.0 / 1.0 floats and viewed as u32, where +0.0 reads 0 (open) and 1.0 nonzero.
 */
export function maskFromLogits(g: GraphBuilder, logits: Tensor): Tensor {
  return g.bitcast(unary(g, 'sigmoid-below-half', logits), 'u32');
}
