/** Softmax over the last dim. */
import code from '../../shaders/norm/softmax.wgsl?raw';
import rowsCode from '../../shaders/norm/softmax-rows.wgsl?raw';
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

/** Same contract, one invocation per row. */
export const softmaxRowsKernel = defineKernel({
  name: 'softmax-rows',
  code: rowsCode,
  params: softmaxKernel.params,
  bindings: softmaxKernel.bindings,
  overrides: ['WG'],
});

const WG = 64;
/** Rows up to this length go one per invocation; longer rows get a workgroup each. */
export const SOFTMAX_ROW_PER_INVOCATION_MAX = 1024;

export function softmax(g: GraphBuilder, x: Tensor, out?: Tensor, kernel?: 'rows' | 'workgroup'): Tensor {
  const n = last(x.shape);
  const rows = numel(x.shape) / n;
  const y = outputFor(g, 'softmax', x.shape, out);
  const perRow = kernel === undefined ? g.policy.rowReduction === 'invocation' && n <= SOFTMAX_ROW_PER_INVOCATION_MAX : kernel === 'rows';
  g.step({
    label: 'softmax',
    kernel: perRow ? softmaxRowsKernel : softmaxKernel,
    constants: { WG },
    bindings: [x, y],
    params: { rows, n, xOff: x.offset, yOff: y.offset },
    workgroups: perRow ? Math.ceil(rows / WG) : rows,
  });
  return y;
}
