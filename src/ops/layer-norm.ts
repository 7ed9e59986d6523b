/** LayerNorm over the last dim, optionally of (x + residual): the post-norm "add & norm". */
import code from '../../shaders/norm/layer-norm.wgsl?raw';
import rowsCode from '../../shaders/norm/layer-norm-rows.wgsl?raw';
import { defineKernel } from '../gpu/kernel.ts';
import { numel, type GraphBuilder, type Tensor } from '../graph/builder.ts';
import { expectShape, last, outputFor } from './common.ts';

export const layerNormKernel = defineKernel({
  name: 'layer-norm',
  code,
  params: [['rows', 'u32'], ['C', 'u32'], ['eps', 'f32'], ['xOff', 'u32'], ['rOff', 'u32'], ['gOff', 'u32'], ['bOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'read', 'read', 'read', 'write'],
  overrides: ['WG', 'HAS_RESIDUAL'],
});

/** Same contract, one invocation per row: for many short rows (Swin tokens, decoder queries). */
export const layerNormRowsKernel = defineKernel({
  name: 'layer-norm-rows',
  code: rowsCode,
  params: layerNormKernel.params,
  bindings: layerNormKernel.bindings,
  overrides: ['WG', 'HAS_RESIDUAL'],
});

const WG = 64;
/** Rows up to this length go one per invocation; longer rows get a workgroup each. */
export const ROW_PER_INVOCATION_MAX_C = 1024;

export interface LayerNormOptions {
  /** Force a kernel (tests compare both); by default the graph's policy and the row length decide. */
  readonly kernel?: 'rows' | 'workgroup';
  readonly eps?: number;
  readonly residual?: Tensor;
  readonly out?: Tensor;
}

export function layerNorm(g: GraphBuilder, x: Tensor, gamma: Tensor, beta: Tensor, o: LayerNormOptions = {}): Tensor {
  const C = last(x.shape);
  expectShape('layer-norm', gamma, [C]);
  expectShape('layer-norm', beta, [C]);
  if (o.residual) expectShape('layer-norm', o.residual, x.shape);
  const rows = numel(x.shape) / C;
  const y = outputFor(g, 'layer-norm', x.shape, o.out);
  const perRow = o.kernel === undefined ? g.policy.rowReduction === 'invocation' && C <= ROW_PER_INVOCATION_MAX_C : o.kernel === 'rows';
  g.step({
    label: 'layer-norm',
    kernel: perRow ? layerNormRowsKernel : layerNormKernel,
    constants: { WG, HAS_RESIDUAL: o.residual !== undefined },
    bindings: [x, o.residual ?? g.dummy(), gamma, beta, y],
    params: { rows, C, eps: o.eps ?? 1e-5, xOff: x.offset, rOff: o.residual?.offset ?? 0, gOff: gamma.offset, bOff: beta.offset, yOff: y.offset },
    workgroups: perRow ? Math.ceil(rows / WG) : rows,
  });
  return y;
}
