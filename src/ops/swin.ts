/** Swin building blocks: window partition / reverse with cyclic shift, relative position bias, patch merging gather. */
import partitionCode from '../../shaders/swin/window-partition.wgsl?raw';
import reverseCode from '../../shaders/swin/window-reverse.wgsl?raw';
import biasCode from '../../shaders/swin/relative-position-bias.wgsl?raw';
import mergeCode from '../../shaders/swin/patch-merge.wgsl?raw';
import { defineKernel } from '../gpu/kernel.ts';
import { numel, type GraphBuilder, type Tensor } from '../graph/builder.ts';
import { expectPositive, expectRank, expectShape, outputFor, perElement } from './common.ts';

const WG = 256;
const geometry = [['B', 'u32'], ['H', 'u32'], ['W', 'u32'], ['C', 'u32'], ['ws', 'u32'], ['shift', 'u32'], ['Hp', 'u32'], ['Wp', 'u32']] as const;

export const windowPartitionKernel = defineKernel({
  name: 'window-partition', code: partitionCode,
  params: [...geometry, ['xOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'write'], overrides: ['WG'],
});
export const windowReverseKernel = defineKernel({
  name: 'window-reverse', code: reverseCode,
  params: [...geometry, ['winOff', 'u32'], ['resOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'read', 'write'], overrides: ['WG'],
});
export const relativePositionBiasKernel = defineKernel({
  name: 'relative-position-bias', code: biasCode,
  params: [['ws', 'u32'], ['heads', 'u32'], ['tOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'write'], overrides: ['WG'],
});
export const patchMergeKernel = defineKernel({
  name: 'patch-merge', code: mergeCode,
  params: [['B', 'u32'], ['H', 'u32'], ['W', 'u32'], ['C', 'u32'], ['Hh', 'u32'], ['Wh', 'u32'], ['xOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'write'], overrides: ['WG'],
});

export interface WindowGeometry {
  readonly B: number;
  readonly H: number;
  readonly W: number;
  readonly C: number;
  readonly ws: number;
  readonly shift: number;
  /** Padded to multiples of ws. */
  readonly Hp: number;
  readonly Wp: number;
  readonly windows: number;
}

export function windowGeometry(B: number, H: number, W: number, C: number, ws: number, shift: number): WindowGeometry {
  expectPositive('swin', 'window_size', ws);
  const Hp = Math.ceil(H / ws) * ws;
  const Wp = Math.ceil(W / ws) * ws;
  return { B, H, W, C, ws, shift, Hp, Wp, windows: (Hp / ws) * (Wp / ws) };
}

/** x [B, H, W, C] -> windows [B*nW, ws*ws, C] (zero padded, rolled by -shift). */
export function windowPartition(g: GraphBuilder, x: Tensor, geo: WindowGeometry, out?: Tensor): Tensor {
  expectShape('window-partition', x, [geo.B, geo.H, geo.W, geo.C]);
  const y = outputFor(g, 'window-partition', [geo.B * geo.windows, geo.ws * geo.ws, geo.C], out);
  const { B, H, W, C, ws, shift, Hp, Wp } = geo;
  g.step({
    label: 'window-partition', kernel: windowPartitionKernel, constants: { WG }, bindings: [x, y],
    params: { B, H, W, C, ws, shift, Hp, Wp, xOff: x.offset, yOff: y.offset },
    workgroups: perElement(numel(y.shape), WG),
  });
  return y;
}

/** windows [B*nW, ws*ws, C] -> residual + (merged, rolled back, cropped) [B, H, W, C]. */
export function windowReverse(g: GraphBuilder, win: Tensor, residual: Tensor, geo: WindowGeometry, out?: Tensor): Tensor {
  expectShape('window-reverse', win, [geo.B * geo.windows, geo.ws * geo.ws, geo.C]);
  expectShape('window-reverse', residual, [geo.B, geo.H, geo.W, geo.C]);
  const y = outputFor(g, 'window-reverse', residual.shape, out);
  const { B, H, W, C, ws, shift, Hp, Wp } = geo;
  g.step({
    label: 'window-reverse', kernel: windowReverseKernel, constants: { WG }, bindings: [win, residual, y],
    params: { B, H, W, C, ws, shift, Hp, Wp, winOff: win.offset, resOff: residual.offset, yOff: y.offset },
    workgroups: perElement(numel(y.shape), WG),
  });
  return y;
}

/** table [(2ws-1)^2, heads] -> bias [heads, ws*ws, ws*ws]. */
export function relativePositionBias(g: GraphBuilder, table: Tensor, ws: number, heads: number): Tensor {
  expectShape('relative-position-bias', table, [(2 * ws - 1) ** 2, heads]);
  const n = ws * ws;
  const y = g.empty('relative-position-bias', [heads, n, n]);
  g.step({
    label: 'relative-position-bias', kernel: relativePositionBiasKernel, constants: { WG }, bindings: [table, y],
    params: { ws, heads, tOff: table.offset, yOff: y.offset },
    workgroups: perElement(numel(y.shape), WG),
  });
  return y;
}

/**
 * HF Swin's shifted-window attention mask, [nW, N, N] with -100 between tokens of different
 * regions (regions by slices (0,-ws), (-ws,-shift), (-shift,) of the padded map). Depends
 * only on shapes, so it is computed here once and uploaded as a constant.
 */
export function shiftMask(Hp: number, Wp: number, ws: number, shift: number): Float32Array {
  const region = (i: number, size: number): number => (i < size - ws ? 0 : i < size - shift ? 1 : 2);
  const nWx = Wp / ws;
  const nW = (Hp / ws) * nWx;
  const N = ws * ws;
  const out = new Float32Array(nW * N * N);
  if (shift === 0) return out;
  for (let w = 0; w < nW; w++) {
    const y0 = Math.floor(w / nWx) * ws;
    const x0 = (w % nWx) * ws;
    const id = (t: number): number => region(y0 + Math.floor(t / ws), Hp) * 3 + region(x0 + (t % ws), Wp);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) out[(w * N + i) * N + j] = id(i) === id(j) ? 0 : -100;
    }
  }
  return out;
}

/** x [B, H, W, C] -> [B, ceil(H/2)*ceil(W/2), 4C] in HF's concat order. */
export function patchMergeGather(g: GraphBuilder, x: Tensor, out?: Tensor): Tensor {
  expectRank('patch-merge', x, 4, '[B, H, W, C]');
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const Hh = Math.ceil(H / 2);
  const Wh = Math.ceil(W / 2);
  const y = outputFor(g, 'patch-merge', [B, Hh * Wh, 4 * C], out);
  g.step({
    label: 'patch-merge', kernel: patchMergeKernel, constants: { WG }, bindings: [x, y],
    params: { B, H, W, C, Hh, Wh, xOff: x.offset, yOff: y.offset },
    workgroups: perElement(numel(y.shape), WG),
  });
  return y;
}
