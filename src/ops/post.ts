/**
 * Post-processing kernels: per-pixel decisions at the target size computed from low-resolution
 * planes on the fly (fused bilinear taps + argmax + per-entry areas, nearest label maps with their
 * histogram), exact row-partial reductions, per-plane mask statistics and final map painting.
 * Memory of every op here grows with the target's H x W, never with entries x H x W.
 */
import resizeArgmaxCode from '../../shaders/post/resize-argmax.wgsl?raw';
import nearestLabelsCode from '../../shaders/post/nearest-labels.wgsl?raw';
import rowReduceCode from '../../shaders/post/row-reduce.wgsl?raw';
import statsCode from '../../shaders/post/plane-stats.wgsl?raw';
import paintCode from '../../shaders/post/paint.wgsl?raw';
import { ShapeError, UnsupportedError } from '../errors.ts';
import { defineKernel } from '../gpu/kernel.ts';
import { numel, type GraphBuilder, type Tensor } from '../graph/builder.ts';
import { expectDtype, expectPositive, expectRank, expectShape, perElement, treeWorkgroup } from './common.ts';

export const resizeArgmaxKernel = defineKernel({
  name: 'resize-argmax', code: resizeArgmaxCode,
  params: [['Hi', 'u32'], ['Wi', 'u32'], ['Ho', 'u32'], ['Wo', 'u32'], ['scaleY', 'f32'], ['scaleX', 'f32'], ['count', 'u32'], ['threshold', 'f32'], ['xOff', 'u32'], ['tOff', 'u32'], ['wOff', 'u32'], ['yOff', 'u32'], ['pOff', 'u32']],
  bindings: ['read', 'read', 'read', 'write', 'write'], overrides: ['WG', 'CAP', 'OWN'],
});
export const nearestLabelsKernel = defineKernel({
  name: 'nearest-labels', code: nearestLabelsCode,
  params: [['Hi', 'u32'], ['Wi', 'u32'], ['Ho', 'u32'], ['Wo', 'u32'], ['scaleY', 'f32'], ['scaleX', 'f32'], ['count', 'u32'], ['base', 'i32'], ['xOff', 'u32'], ['yOff', 'u32'], ['pOff', 'u32']],
  bindings: ['read', 'write', 'write'], overrides: ['WG', 'CAP'],
});
export const rowReduceKernel = defineKernel({
  name: 'row-reduce', code: rowReduceCode,
  params: [['rows', 'u32'], ['cap', 'u32'], ['count', 'u32'], ['pOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'write'], overrides: ['WG'],
});
export const planeStatsKernel = defineKernel({
  name: 'plane-stats', code: statsCode,
  params: [['planes', 'u32'], ['n', 'u32'], ['cols', 'u32'], ['xOff', 'u32'], ['hOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'read', 'write'], overrides: ['WG', 'MODE'],
});
export const paintKernel = defineKernel({
  name: 'paint', code: paintCode,
  params: [['n', 'u32'], ['count', 'u32'], ['fill', 'i32'], ['iOff', 'u32'], ['xOff', 'u32'], ['tOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'read', 'read', 'write'], overrides: ['WG', 'MODE'],
});

const WG = 256;
const ROW_WG = 128;
/** Workgroup memory every WebGPU device has (maxComputeWorkgroupStorageSize's minimum). */
const WORKGROUP_BYTES = 16384;
/** Largest target side: a row's column sum (u32) must not overflow. */
export const MAX_TARGET_SIDE = 65536;

/** Counter slots: entries rounded up to 64, so few pipeline variants serve every model. */
function capacity(op: string, entries: number, bytesPerEntry: number): number {
  const cap = Math.max(64, Math.ceil(entries / 64) * 64);
  if (cap * bytesPerEntry > WORKGROUP_BYTES) {
    throw new UnsupportedError(`${op}: ${entries} entries need ${cap * bytesPerEntry} bytes of workgroup memory; at most ${Math.floor(WORKGROUP_BYTES / bytesPerEntry / 64) * 64} entries are supported`);
  }
  return cap;
}

function checkTarget(op: string, [Ho, Wo]: readonly [number, number]): void {
  expectPositive(op, 'target height', Ho);
  expectPositive(op, 'target width', Wo);
  // Row sums (u32) and the exact u32 counts of row-reduce need sides <= 65536 and H x W < 2^32.
  if (Ho > MAX_TARGET_SIDE || Wo > MAX_TARGET_SIDE || Ho * Wo >= 2 ** 32) throw new ShapeError(op, 'target size', `sides <= ${MAX_TARGET_SIDE} and fewer than 2^32 pixels`, [Ho, Wo]);
}

/** Per-entry statistics of a label map (see row-reduce.wgsl): u32 [entries, 6] = (area, own, sum x lo, hi, sum y lo, hi). */
export interface LabelStats {
  readonly map: Tensor;
  readonly stats: Tensor;
}

function rowReduce(g: GraphBuilder, part: Tensor, rows: number, cap: number, count: number): Tensor {
  const y = g.empty('row-reduce', [count, 6], 'u32');
  g.step({
    label: 'row-reduce', kernel: rowReduceKernel, constants: { WG: treeWorkgroup('row-reduce', g.policy.reductionWorkgroup) },
    bindings: [part, y],
    params: { rows, cap, count, pOff: part.offset, yOff: y.offset },
    workgroups: count,
  });
  return y;
}

/**
 * x [P, Hi, Wi] (one image's planes), plane i32 [K] (source plane of entry k; the first < 0 ends the list),
 * w f32 [K] -> map i32 [Ho, Wo] = first k maximising bilinear(x[plane[k]]) * w[k] (-1 if no entry),
 * stats u32 [K, 6] (area of map == k, #(value >= ownThreshold) when given, centre sums).
 */
export function resizeArgmax(g: GraphBuilder, x: Tensor, plane: Tensor, w: Tensor, size: readonly [number, number], options: { readonly ownThreshold?: number } = {}): LabelStats {
  expectRank('resize-argmax', x, 3, '[planes, height, width]');
  expectRank('resize-argmax', plane, 1, '[entries]');
  expectDtype('resize-argmax', plane, 'i32');
  const K = plane.shape[0] as number;
  expectShape('resize-argmax', w, [K]);
  expectDtype('resize-argmax', w, 'f32');
  checkTarget('resize-argmax', size);
  const [, Hi, Wi] = x.shape as [number, number, number];
  const [Ho, Wo] = size;
  const cap = capacity('resize-argmax', K, 12);
  const map = g.empty('resize-argmax', [Ho, Wo], 'i32');
  const part = g.empty('row-partials', [Ho, cap, 3], 'u32');
  g.step({
    label: 'resize-argmax', kernel: resizeArgmaxKernel, constants: { WG: ROW_WG, CAP: cap, OWN: options.ownThreshold !== undefined },
    bindings: [x, plane, w, map, part],
    // torch passes the scale as in/out computed in float (no scale_factor given).
    params: {
      Hi, Wi, Ho, Wo, scaleY: Math.fround(Hi / Ho), scaleX: Math.fround(Wi / Wo), count: K, threshold: options.ownThreshold ?? 0,
      xOff: x.offset, tOff: plane.offset, wOff: w.offset, yOff: map.offset, pOff: part.offset,
    },
    workgroups: Ho,
  });
  return { map, stats: rowReduce(g, part, Ho, cap, K) };
}

/** x i32 [Hi, Wi] -> map i32 [Ho, Wo] (nearest), stats u32 [bins, 6] of labels base .. base + bins - 1. */
export function nearestLabels(g: GraphBuilder, x: Tensor, size: readonly [number, number], bins: { readonly base: number; readonly count: number }): LabelStats {
  expectRank('nearest-labels', x, 2, '[height, width]');
  expectDtype('nearest-labels', x, 'i32');
  checkTarget('nearest-labels', size);
  expectPositive('nearest-labels', 'bins', bins.count);
  const [Hi, Wi] = x.shape as [number, number];
  const [Ho, Wo] = size;
  const cap = capacity('nearest-labels', bins.count, 8);
  const map = g.empty('nearest-labels', [Ho, Wo], 'i32');
  const part = g.empty('row-partials', [Ho, cap, 3], 'u32');
  g.step({
    label: 'nearest-labels', kernel: nearestLabelsKernel, constants: { WG: ROW_WG, CAP: cap },
    bindings: [x, map, part],
    params: { Hi, Wi, Ho, Wo, scaleY: Math.fround(Hi / Ho), scaleX: Math.fround(Wi / Wo), count: bins.count, base: bins.base, xOff: x.offset, yOff: map.offset, pOff: part.offset },
    workgroups: Ho,
  });
  return { map, stats: rowReduce(g, part, Ho, cap, bins.count) };
}

export type PlaneStatsMode =
  | { readonly kind: 'positive-sigmoid' }
  /** hits: i32 [rows + cols], 1 where a nearest resize samples that source row / column. */
  | { readonly kind: 'sampled-positive'; readonly hits: Tensor };

/** x [B, C, rows, cols] -> f32 [B, C, 2] per-plane (a, s), see plane-stats.wgsl for each mode. */
export function planeStats(g: GraphBuilder, x: Tensor, mode: PlaneStatsMode): Tensor {
  expectRank('plane-stats', x, 4, '[B, C, rows, cols]');
  const [B, C, rows, cols] = x.shape as [number, number, number, number];
  if (mode.kind === 'sampled-positive') {
    expectShape('plane-stats', mode.hits, [rows + cols]);
    expectDtype('plane-stats', mode.hits, 'i32');
  }
  const y = g.empty('plane-stats', [B, C, 2]);
  const hits = mode.kind === 'sampled-positive' ? mode.hits : g.dummy();
  g.step({
    label: 'plane-stats', kernel: planeStatsKernel,
    constants: { WG: treeWorkgroup('plane-stats', g.policy.reductionWorkgroup), MODE: mode.kind === 'positive-sigmoid' ? 0 : 1 },
    bindings: [x, hits, y],
    params: { planes: B * C, n: rows * cols, cols, xOff: x.offset, hOff: hits.offset, yOff: y.offset },
    workgroups: B * C,
  });
  return y;
}

/**
 * Which source rows / columns a nearest resize from [Hi, Wi] to [Ho, Wo] samples, as
 * resize/bilinear.wgsl (NEAREST) and torch compute it: src = min(floor(f32(dst) * f32(in / out)), in - 1).
 * i32 [Hi + Wi]: 1 = sampled.
 */
export function nearestHits(source: readonly [number, number], target: readonly [number, number]): Int32Array {
  const hits = new Int32Array(source[0] + source[1]);
  const mark = (inSize: number, outSize: number, at: number): void => {
    const scale = Math.fround(inSize / outSize);
    for (let o = 0; o < outSize; o++) hits[at + Math.min(Math.floor(Math.fround(o * scale)), inSize - 1)] = 1;
  };
  mark(source[0], target[0], 0);
  mark(source[1], target[1], source[0]);
  return hits;
}

/** The source index of each target index of a nearest resize (see nearestHits). */
export function nearestIndex(inSize: number, outSize: number): Int32Array {
  const scale = Math.fround(inSize / outSize);
  return Int32Array.from({ length: outSize }, (_, o) => Math.min(Math.floor(Math.fround(o * scale)), inSize - 1));
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
