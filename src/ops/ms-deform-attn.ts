/** Multi-scale deformable attention sampling (the core after value/offset/weight projections). */
import code from '../../shaders/attention/ms-deform-attn.wgsl?raw';
import { ShapeError, UnsupportedError } from '../errors.ts';
import { defineKernel } from '../gpu/kernel.ts';
import type { GraphBuilder, Tensor } from '../graph/builder.ts';
import { expectShape, outputFor, perElement } from './common.ts';

export const msDeformAttnKernel = defineKernel({
  name: 'ms-deform-attn',
  code,
  params: [
    ['B', 'u32'], ['Lq', 'u32'], ['H', 'u32'], ['dh', 'u32'],
    ['L', 'u32'], ['NP', 'u32'], ['S', 'u32'], ['valOff', 'u32'],
    ['offOff', 'u32'], ['wOff', 'u32'], ['refOff', 'u32'], ['outOff', 'u32'],
    ['h0', 'u32'], ['w0', 'u32'], ['s0', 'u32'], ['h1', 'u32'],
    ['w1', 'u32'], ['s1', 'u32'], ['h2', 'u32'], ['w2', 'u32'],
    ['s2', 'u32'], ['h3', 'u32'], ['w3', 'u32'], ['s3', 'u32'],
  ],
  bindings: ['read', 'read', 'read', 'read', 'write'],
  overrides: ['WG'],
});

const WG = 64;
export const MAX_LEVELS = 4;

export interface MsDeformAttnOptions {
  readonly heads: number;
  /** [h, w] per level; value tokens are the levels' maps flattened in this order. */
  readonly levels: readonly (readonly [number, number])[];
  readonly points: number;
  readonly out?: Tensor;
}

/**
 * value [B, S, H*dh]; offsets [B, Lq, H*L*P*2] (raw linear output, pixels of each level);
 * weights [B, Lq, H*L*P] (softmaxed over L*P); ref [Lq, 2] normalised (x, y) -> [B, Lq, H*dh].
 */
export function msDeformAttn(g: GraphBuilder, value: Tensor, offsets: Tensor, weights: Tensor, ref: Tensor, o: MsDeformAttnOptions): Tensor {
  const L = o.levels.length;
  if (L === 0 || L > MAX_LEVELS) throw new UnsupportedError(`ms-deform-attn: ${L} levels (1..${MAX_LEVELS} supported)`);
  const [B, S, C] = value.shape as [number, number, number];
  if (value.shape.length !== 3) throw new ShapeError('ms-deform-attn', value.name, '[B, S, heads*head_dim]', value.shape);
  const S2 = o.levels.reduce((a, [h, w]) => a + h * w, 0);
  if (S !== S2) throw new ShapeError('ms-deform-attn', value.name, `${S2} tokens (sum of level sizes)`, value.shape);
  if (C % o.heads !== 0) throw new ShapeError('ms-deform-attn', value.name, `channels divisible by ${o.heads} heads`, value.shape);
  const Lq = offsets.shape[1] as number;
  const H = o.heads;
  expectShape('ms-deform-attn', offsets, [B, Lq, H * L * o.points * 2]);
  expectShape('ms-deform-attn', weights, [B, Lq, H * L * o.points]);
  expectShape('ms-deform-attn', ref, [Lq, 2]);
  const out = outputFor(g, 'ms-deform-attn', [B, Lq, C], o.out);
  const lv: Record<string, number> = {};
  let start = 0;
  for (let l = 0; l < MAX_LEVELS; l++) {
    const [h, w] = o.levels[l] ?? [0, 0];
    lv[`h${l}`] = h;
    lv[`w${l}`] = w;
    lv[`s${l}`] = start;
    start += h * w;
  }
  g.step({
    label: 'ms-deform-attn',
    kernel: msDeformAttnKernel,
    constants: { WG },
    bindings: [value, offsets, weights, ref, out],
    params: {
      B, Lq, H, dh: C / H, L, NP: o.points, S,
      valOff: value.offset, offOff: offsets.offset, wOff: weights.offset, refOff: ref.offset, outOff: out.offset, ...lv,
    },
    workgroups: perElement(B * Lq * C, WG),
  });
  return out;
}
