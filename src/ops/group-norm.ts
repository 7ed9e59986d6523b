/** GroupNorm over NCHW with affine and optional fused ReLU (pixel decoder: always 32 groups). */
import code from '../../shaders/norm/group-norm.wgsl?raw';
import { ShapeError } from '../errors.ts';
import { defineKernel } from '../gpu/kernel.ts';
import { numel, type GraphBuilder, type Tensor } from '../graph/builder.ts';
import { expectShape, outputFor, treeWorkgroup } from './common.ts';

export const groupNormKernel = defineKernel({
  name: 'group-norm',
  code,
  params: [['B', 'u32'], ['C', 'u32'], ['HW', 'u32'], ['G', 'u32'], ['eps', 'f32'], ['xOff', 'u32'], ['gOff', 'u32'], ['bOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'read', 'read', 'write'],
  overrides: ['WG', 'RELU'],
});


export interface GroupNormOptions {
  readonly groups: number;
  readonly eps?: number;
  readonly relu?: boolean;
  readonly out?: Tensor;
}

/** x [B, C, ...spatial] */
export function groupNorm(g: GraphBuilder, x: Tensor, gamma: Tensor, beta: Tensor, o: GroupNormOptions): Tensor {
  if (x.shape.length < 2) throw new ShapeError('group-norm', x.name, '[B, C, ...]', x.shape);
  const [B, C] = x.shape as [number, number];
  const HW = numel(x.shape.slice(2));
  if (C % o.groups !== 0) throw new ShapeError('group-norm', x.name, `channels divisible by ${o.groups} groups`, x.shape);
  expectShape('group-norm', gamma, [C]);
  expectShape('group-norm', beta, [C]);
  const y = outputFor(g, 'group-norm', x.shape, o.out);
  g.step({
    label: 'group-norm',
    kernel: groupNormKernel,
    constants: { WG: treeWorkgroup('group-norm', g.policy.reductionWorkgroup), RELU: o.relu ?? false },
    bindings: [x, gamma, beta, y],
    params: { B, C, HW, G: o.groups, eps: o.eps ?? 1e-5, xOff: x.offset, gOff: gamma.offset, bOff: beta.offset, yOff: y.offset },
    workgroups: B * o.groups,
  });
  return y;
}
