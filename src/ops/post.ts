/** Post-processing kernels: weighted argmax over planes, per-plane reductions, final map painting. */
import argmaxCode from '../../shaders/post/argmax.wgsl?raw';
import statsCode from '../../shaders/post/plane-stats.wgsl?raw';
import paintCode from '../../shaders/post/paint.wgsl?raw';
import { ShapeError } from '../errors.ts';
import { defineKernel } from '../gpu/kernel.ts';
import { numel, type GraphBuilder, type Tensor } from '../graph/builder.ts';
import { expectDtype, expectRank, expectShape, perElement } from './common.ts';

export const argmaxKernel = defineKernel({
  name: 'argmax', code: argmaxCode,
  params: [['B', 'u32'], ['C', 'u32'], ['HW', 'u32'], ['xOff', 'u32'], ['wOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'read', 'write'], overrides: ['WG', 'WEIGHTED'],
});
export const planeStatsKernel = defineKernel({
  name: 'plane-stats', code: statsCode,
  params: [['planes', 'u32'], ['C', 'u32'], ['n', 'u32'], ['threshold', 'f32'], ['xOff', 'u32'], ['lOff', 'u32'], ['wOff', 'u32'], ['yOff', 'u32'], ['base', 'i32'], ['cols', 'u32']],
  bindings: ['read', 'read', 'read', 'write'], overrides: ['WG', 'MODE'],
});
export const paintKernel = defineKernel({
  name: 'paint', code: paintCode,
  params: [['n', 'u32'], ['count', 'u32'], ['fill', 'i32'], ['iOff', 'u32'], ['xOff', 'u32'], ['tOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'read', 'read', 'write'], overrides: ['WG', 'MODE'],
});

const WG = 256;

/** x [B, C, ...] -> i32 [B, ...]: first index of the max over C; with weights [B, C], planes with a negative weight are skipped and the rest scaled. */
export function argmaxChannels(g: GraphBuilder, x: Tensor, weights?: Tensor): Tensor {
  if (x.shape.length < 2) throw new ShapeError('argmax', x.name, '[B, C, ...]', x.shape);
  const [B, C] = x.shape as [number, number];
  const HW = numel(x.shape.slice(2));
  if (weights) expectShape('argmax', weights, [B, C]);
  const y = g.empty('argmax', [B, ...x.shape.slice(2)], 'i32');
  g.step({
    label: 'argmax', kernel: argmaxKernel, constants: { WG, WEIGHTED: weights !== undefined },
    bindings: [x, weights ?? g.dummy(), y],
    params: { B, C, HW, xOff: x.offset, wOff: weights?.offset ?? 0, yOff: y.offset },
    workgroups: perElement(B * HW, WG),
  });
  return y;
}

export type PlaneStatsMode =
  | { readonly kind: 'positive-sigmoid' }
  | { readonly kind: 'positive-count' }
  | { readonly kind: 'panoptic-areas'; readonly labels: Tensor; readonly weights: Tensor; readonly threshold: number }
  | { readonly kind: 'histogram'; readonly labels: Tensor; readonly base: number; readonly bins: number; readonly cols: number };

/**
 * x [B, C, ...] -> [B, C, 4] per-plane (a, s, sx, sy), see plane-stats.wgsl for each mode. For
 * 'histogram' pass the label map [B, ...] as x: the result is [B, bins, 4] (area, 0, sum col, sum row).
 */
export function planeStats(g: GraphBuilder, x: Tensor, mode: PlaneStatsMode): Tensor {
  if (mode.kind === 'histogram') {
    expectDtype('plane-stats', mode.labels, 'i32');
    const [B] = mode.labels.shape as [number];
    const n = numel(mode.labels.shape.slice(1));
    const y = g.empty('histogram', [B, mode.bins, 4]);
    g.step({
      label: 'histogram', kernel: planeStatsKernel, constants: { WG: g.policy.reductionWorkgroup, MODE: 3 },
      bindings: [g.dummy(), mode.labels, g.dummy(), y],
      params: { planes: B * mode.bins, C: mode.bins, n, threshold: 0, xOff: 0, lOff: mode.labels.offset, wOff: 0, yOff: y.offset, base: mode.base, cols: mode.cols },
      workgroups: B * mode.bins,
    });
    return y;
  }
  if (x.shape.length < 2) throw new ShapeError('plane-stats', x.name, '[B, C, ...]', x.shape);
  const [B, C] = x.shape as [number, number];
  const n = numel(x.shape.slice(2));
  if (mode.kind === 'panoptic-areas') {
    expectShape('plane-stats', mode.labels, [B, ...x.shape.slice(2)]);
    expectDtype('plane-stats', mode.labels, 'i32');
    expectShape('plane-stats', mode.weights, [B, C]);
  }
  const y = g.empty('plane-stats', [B, C, 4]);
  const p = mode.kind === 'panoptic-areas' ? mode : undefined;
  g.step({
    label: 'plane-stats', kernel: planeStatsKernel,
    constants: { WG: g.policy.reductionWorkgroup, MODE: mode.kind === 'positive-sigmoid' ? 0 : mode.kind === 'panoptic-areas' ? 1 : 2 },
    bindings: [x, p?.labels ?? g.dummy(), p?.weights ?? g.dummy(), y],
    params: { planes: B * C, C, n, threshold: p?.threshold ?? 0, xOff: x.offset, lOff: p?.labels.offset ?? 0, wOff: p?.weights.offset ?? 0, yOff: y.offset, base: 0, cols: 1 },
    workgroups: B * C,
  });
  return y;
}

/** y[p] = table[idx[p]] for 0 <= idx < count, else table[count]. idx i32 [...], table i32 [count + 1]. */
export function remap(g: GraphBuilder, idx: Tensor, table: Tensor): Tensor {
  expectDtype('remap', idx, 'i32');
  expectRank('remap', table, 1, '[count]');
  const n = numel(idx.shape);
  const y = g.empty('remap', idx.shape, 'i32');
  g.step({
    label: 'remap', kernel: paintKernel, constants: { WG, MODE: 0 },
    bindings: [idx, g.dummy(), table, y],
    params: { n, count: (table.shape[0] as number) - 1, fill: 0, iOff: idx.offset, xOff: 0, tOff: table.offset, yOff: y.offset },
    workgroups: perElement(n, WG),
  });
  return y;
}

/** masks [Q, ...] (logits), segments i32 [count, 2] (query, id) in paint order -> i32 [...]: last segment whose mask > 0, else fill. */
export function paintInstances(g: GraphBuilder, masks: Tensor, segments: Tensor, fill: number): Tensor {
  expectRank('paint-instances', segments, 2, '[count, 2]');
  const n = numel(masks.shape.slice(1));
  const y = g.empty('instances', masks.shape.slice(1), 'i32');
  g.step({
    label: 'paint-instances', kernel: paintKernel, constants: { WG, MODE: 1 },
    bindings: [g.dummy(), masks, segments, y],
    params: { n, count: segments.shape[0] as number, fill, iOff: 0, xOff: masks.offset, tOff: segments.offset, yOff: y.offset },
    workgroups: perElement(n, WG),
  });
  return y;
}
