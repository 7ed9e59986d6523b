/**
 * Fused multi-head attention (scores, mask, bias, online softmax, weighted sum in one kernel).
 * Used for Swin window attention (additive relative-position bias + shift mask) and the
 * Mask2Former decoder (boolean masked cross-attention, plain self-attention).
 */
import code from '../../shaders/attention/attention.wgsl?raw';
import rowsCode from '../../shaders/attention/attention-rows.wgsl?raw';
import tiledCode from '../../shaders/attention/attention-tiled.wgsl?raw';
import { ShapeError, UnsupportedError } from '../errors.ts';
import { defineKernel } from '../gpu/kernel.ts';
import type { GraphBuilder, Tensor } from '../graph/builder.ts';
import { expectDtype, expectRank, expectShape, outputFor } from './common.ts';

export const attentionKernel = defineKernel({
  name: 'attention',
  code,
  params: [
    ['B', 'u32'], ['H', 'u32'], ['Lq', 'u32'], ['Lk', 'u32'],
    ['dh', 'u32'], ['scale', 'f32'], ['qOff', 'u32'], ['qStrideB', 'u32'],
    ['qStrideL', 'u32'], ['kOff', 'u32'], ['kStrideB', 'u32'], ['kStrideL', 'u32'],
    ['vOff', 'u32'], ['vStrideB', 'u32'], ['vStrideL', 'u32'], ['oOff', 'u32'],
    ['oStrideB', 'u32'], ['oStrideL', 'u32'], ['maskOff', 'u32'], ['maskBatch', 'u32'],
    ['biasOff', 'u32'],
  ],
  bindings: ['read', 'read', 'read', 'read', 'read', 'write'],
  overrides: ['WG', 'MAX_HEAD_DIM', 'MASK', 'HAS_BIAS', 'MASKED_ROW'],
});

/** Same contract, one invocation per query row, output row in registers (`const ACC` vec4s). */
export const attentionRowsKernel = defineKernel({
  name: 'attention-rows',
  code: rowsCode,
  params: attentionKernel.params,
  bindings: attentionKernel.bindings,
  overrides: ['WG', 'MASK', 'HAS_BIAS', 'MASKED_ROW'],
});

/**
 * Same contract, a block of TILED_QUERIES query rows of one (batch, head) per workgroup, K and V
 * staged in tiles through workgroup memory, online softmax per row (the gpu policy's attention).
 */
export const attentionTiledKernel = defineKernel({
  name: 'attention-tiled',
  code: tiledCode,
  params: attentionKernel.params,
  bindings: attentionKernel.bindings,
  overrides: ['WG', 'BK', 'DV', 'MASK', 'HAS_BIAS', 'MASKED_ROW'],
});

const WG = 64;
/** attention-tiled: query rows per workgroup (one per invocation). */
export const TILED_QUERIES = 32;
/** attention-tiled keeps dh / 4 vec4s of q and of the output in registers: `const MAX_DV = 16u` in its WGSL. */
export const TILED_MAX_HEAD_DIM = 64;
/**
 * attention-tiled specialisations: vec4s per head row (DV) and keys per tile (BK) for a head dim.
 * BK * DV = 256 vec4s, so K and V tiles take 8 KiB of workgroup memory (under WebGPU's 16 KiB
 * minimum limit); three variants at most (dh <= 16, 32, 64).
 */
export function tiledAttentionShape(dh: number): { DV: number; BK: number } {
  if (dh > TILED_MAX_HEAD_DIM) throw new UnsupportedError(`attention-tiled: head_dim ${dh} > ${TILED_MAX_HEAD_DIM}`);
  const DV = dh <= 16 ? 4 : dh <= 32 ? 8 : 16;
  return { DV, BK: 256 / DV };
}

/** Each invocation accumulates 4 head dims (see the kernel), so dh <= 4 * WG. */
export const MAX_HEAD_DIM = 4 * WG;
/** attention-rows keeps dh / 4 vec4 accumulators: `const ACC = 16u` in its WGSL (checked by a unit test). */
export const ROWS_MAX_HEAD_DIM = 64;

export interface AttentionOptions {
  /** Force a kernel instead of the policy's choice (tests compare all three). */
  readonly kernel?: 'rows' | 'workgroup' | 'tiled';
  readonly heads: number;
  /** Defaults to 1 / sqrt(head_dim). */
  readonly scale?: number;
  /**
   * [maskBatch, Lq, Lk]; batch b uses mask[b % maskBatch]. 'bool': u32, nonzero = blocked.
   * 'additive': f32 added to the logits (Swin's -100 shift mask).
   */
  readonly mask?: { readonly kind: 'bool' | 'additive'; readonly tensor: Tensor };
  /** Additive [heads, Lq, Lk], the same for every batch (Swin relative position bias). */
  readonly bias?: Tensor;
  /** A row whose keys are all blocked: attend to all keys (Mask2Former) or output zeros. */
  readonly maskedRow?: 'attend-all' | 'zero';
  readonly out?: Tensor;
}

/** q [B, Lq, H*dh], k and v [B, Lk, H*dh] -> [B, Lq, H*dh]. */
export function attention(g: GraphBuilder, q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor {
  expectRank('attention', q, 3, '[B, Lq, heads*head_dim]');
  expectRank('attention', k, 3, '[B, Lk, heads*head_dim]');
  const [B, Lq, C] = q.shape as [number, number, number];
  const Lk = k.shape[1] as number;
  expectShape('attention', k, [B, Lk, C]);
  expectShape('attention', v, [B, Lk, C]);
  if (C % o.heads !== 0) throw new ShapeError('attention', q.name, `channels divisible by ${o.heads} heads`, q.shape);
  const dh = C / o.heads;
  if (dh > MAX_HEAD_DIM) throw new UnsupportedError(`attention: head_dim ${dh} > ${MAX_HEAD_DIM} is not supported`);
  let maskBatch = 1;
  if (o.mask) {
    const m = o.mask.tensor;
    expectRank('attention', m, 3, '[maskBatch, Lq, Lk]');
    maskBatch = m.shape[0] as number;
    if (m.shape[1] !== Lq || m.shape[2] !== Lk || maskBatch === 0 || B % maskBatch !== 0) {
      throw new ShapeError('attention', m.name, `[m, ${Lq}, ${Lk}] with ${B} % m == 0`, m.shape);
    }
    expectDtype('attention', m, o.mask.kind === 'bool' ? 'u32' : 'f32');
  }
  if (o.bias) expectShape('attention', o.bias, [o.heads, Lq, Lk]);
  const out = outputFor(g, 'attention', [B, Lq, C], o.out);
  // CPU policy: rows in registers when they fit (every Swin and Mask2Former head: dh 16..32).
  // GPU policy: query blocks with K/V tiles in workgroup memory when dh fits the registers.
  // Otherwise a workgroup per row with the head dims spread over its invocations.
  const kind = o.kernel ?? (g.policy.attention === 'rows' && dh <= ROWS_MAX_HEAD_DIM ? 'rows'
    : g.policy.attention === 'tiled' && dh <= TILED_MAX_HEAD_DIM ? 'tiled' : 'workgroup');
  if (kind === 'rows' && dh > ROWS_MAX_HEAD_DIM) throw new UnsupportedError(`attention-rows: head_dim ${dh} > ${ROWS_MAX_HEAD_DIM}`);
  const flags = {
    MASK: o.mask ? (o.mask.kind === 'bool' ? 1 : 2) : 0,
    HAS_BIAS: o.bias !== undefined,
    MASKED_ROW: (o.maskedRow ?? 'attend-all') === 'attend-all' ? 0 : 1,
  };
  const tiled = kind === 'tiled' ? tiledAttentionShape(dh) : undefined;
  const [kernel, constants, workgroups] =
    kind === 'rows' ? [attentionRowsKernel, { WG, ...flags }, Math.ceil((B * o.heads * Lq) / WG)] as const
    : tiled ? [attentionTiledKernel, { WG: TILED_QUERIES, ...tiled, ...flags }, B * o.heads * Math.ceil(Lq / TILED_QUERIES)] as const
    : [attentionKernel, { WG, MAX_HEAD_DIM, ...flags }, B * o.heads * Lq] as const;
  g.step({
    label: 'attention',
    kernel,
    constants,
    bindings: [q, k, v, o.mask?.tensor ?? g.dummy(), o.bias ?? g.dummy(), out],
    params: {
      B, H: o.heads, Lq, Lk, dh, scale: o.scale ?? 1 / Math.sqrt(dh),
      qOff: q.offset, qStrideB: Lq * C, qStrideL: C,
      kOff: k.offset, kStrideB: Lk * C, kStrideL: C,
      vOff: v.offset, vStrideB: Lk * C, vStrideL: C,
      oOff: out.offset, oStrideB: Lq * C, oStrideL: C,
      maskOff: o.mask?.tensor.offset ?? 0, maskBatch, biasOff: o.bias?.offset ?? 0,
    },
    workgroups,
  });
  return out;
}
