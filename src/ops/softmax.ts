/** Softmax over the last dim. */
import code from '../../shaders/norm/softmax.wgsl?raw';
import { defineKernel } from '../gpu/kernel.ts';
import { numel, type GraphBuilder, type Tensor } from '../graph/builder.ts';
import { last, outputFor } from './common.ts';

export const softmaxKernel = defineKernel({
  name: 'softmax',
  code,
  params: [['rows', 'u32'], ['n', 'u32'], ['xOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'write'],
  overrides: ['WG'],
});

const WG = 64;

export function softmax(g: GraphBuilder, x: Tensor, out?: Tensor): Tensor {
  const n = last(x.shape);
  const rows = numel(x.shape) / n;
  const y = outputFor(g, 'softmax', x.shape, out);
  g.step({
    label: 'softmax',
    kernel: softmaxKernel,
    constants: { WG },
    bindings: [x, y],
    params: { rows, n, xOff: x.offset, yOff: y.offset },
    workgroups: rows,
  });
  return y;
}
