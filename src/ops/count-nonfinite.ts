/** Counting NaN / Inf values of a tensor on the GPU, per block, for model-output checks. */
import code from '../../shaders/post/count-nonfinite.wgsl?raw';
import { ShapeError } from '../errors.ts';
import { defineKernel } from '../gpu/kernel.ts';
import { numel, type GraphBuilder, type Tensor } from '../graph/builder.ts';
import { expectDtype, treeWorkgroup } from './common.ts';

export const countNonFiniteKernel = defineKernel({
  name: 'count-nonfinite', code,
  params: [['n', 'u32'], ['chunk', 'u32'], ['blocks', 'u32'], ['xOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'write'], overrides: ['WG'],
});

/** Default elements per block: a few blocks per query plane, a small readback. */
export const NONFINITE_CHUNK = 16384;

/** f32 x (any shape) -> u32 [ceil(numel / chunk)]: how many NaN / +-Inf values each block of `chunk` elements holds. */
export function countNonFinite(g: GraphBuilder, x: Tensor, chunk = NONFINITE_CHUNK): Tensor {
  expectDtype('count-nonfinite', x, 'f32');
  if (!Number.isInteger(chunk) || chunk < 1) throw new ShapeError('count-nonfinite', 'chunk', 'a positive integer', `${chunk}`);
  const n = numel(x.shape);
  const blocks = Math.max(1, Math.ceil(n / chunk));
  const y = g.empty('nonfinite-counts', [blocks], 'u32');
  g.step({
    label: 'count-nonfinite', kernel: countNonFiniteKernel, constants: { WG: treeWorkgroup('count-nonfinite', g.policy.reductionWorkgroup) },
    bindings: [x, y],
    params: { n, chunk, blocks, xOff: x.offset, yOff: y.offset },
    workgroups: blocks,
  });
  return y;
}
