/**
 * Swin backbone as HF's SwinBackbone runs it under Mask2Former / OneFormer (always_partition =
 * True), and HF's MaskFormerSwinBackbone (no window shrinking at all: the same computation under
 * other key names): patch embedding (image zero-padded to a multiple of the patch), stages of
 * window-attention blocks (shift = ws/2 on odd blocks, kept even when the map is smaller than a
 * window), patch merging, and a LayerNorm per output stage. Tokens are [B, h*w, C], row-major.
 * Keys: see SwinKeys (`swinKeys` for SwinBackbone, `maskFormerSwinKeys` for MaskFormerSwinBackbone).
 */
import type { Tensor } from '../../graph/builder.ts';
import * as ops from '../../ops/index.ts';
import type { WeightBinder } from './weights.ts';

/** What the Swin block needs from a config (SwinConfig and MaskFormerSwinConfig both give it). */
export interface SwinBlockConfig {
  readonly patchSize: number;
  readonly numChannels: number;
  readonly embedDim: number;
  /** Blocks per stage. */
  readonly depths: readonly number[];
  readonly numHeads: readonly number[];
  readonly windowSize: number;
  /** Channels of each stage: embedDim * 2^i. */
  readonly stageChannels: readonly number[];
  /** MLP hidden size per stage: int(mlpRatio * stageChannels[i]). */
  readonly mlpHiddenDims: readonly number[];
  /** Eps of the block LayerNorms (embeddings.norm and the stage norms always use 1e-5). */
  readonly layerNormEps: number;
}

/** Where the Swin tensors live in a checkpoint (hooks are named after the same keys). */
export interface SwinKeys {
  /** Prefix of `embeddings.*` and `encoder.layers.*`. */
  readonly root: string;
  /** Key prefix of the LayerNorm applied to stage s's output (s from 0). */
  stageNorm(s: number): string;
  /** Checkpoint tensors the backbone carries but never reads. */
  readonly unusedPrefixes: readonly string[];
}

/** HF `SwinBackbone` under `prefix` (Mask2Former, OneFormer: `model.pixel_level_module.encoder`). */
export function swinKeys(prefix: string): SwinKeys {
  return { root: prefix, stageNorm: (s) => `${prefix}.hidden_states_norms.stage${s + 1}`, unusedPrefixes: [] };
}

/** HF `MaskFormerSwinBackbone` under `prefix`: the model under `.model`, norms by index, an unused final `model.layernorm`. */
export function maskFormerSwinKeys(prefix: string): SwinKeys {
  return { root: `${prefix}.model`, stageNorm: (s) => `${prefix}.hidden_states_norms.${s}`, unusedPrefixes: [`${prefix}.model.layernorm.`] };
}

export interface SwinOutput {
  /** Per stage, normalised, NCHW [B, C_s, h_s, w_s] (encoder_hidden_states.{s}). */
  readonly maps: Tensor[];
  /** Hooks named like the fixtures' expected.safetensors. */
  readonly hooks: Map<string, Tensor>;
}

function block(wb: WeightBinder, x: Tensor, prefix: string, dims: [number, number, number, number], heads: number, ws: number, shift: number, mlp: number, eps: number): Tensor {
  const { g } = wb;
  const [B, h, w, C] = dims;
  return g.within(prefix.slice(prefix.indexOf('layers.')), () => {
    const ln1 = wb.norm(`${prefix}.layernorm_before`, C);
    const normed = ops.layerNorm(g, x, ln1.g, ln1.b, { eps });
    const geo = ops.windowGeometry(B, h, w, C, ws, shift);
    const win = ops.windowPartition(g, g.reshape(normed, [B, h, w, C]), geo);
    const q = wb.linear(`${prefix}.attention.self.query`, C, C);
    const k = wb.linear(`${prefix}.attention.self.key`, C, C);
    const v = wb.linear(`${prefix}.attention.self.value`, C, C);
    const table = wb.w(`${prefix}.attention.self.relative_position_bias_table`, [(2 * ws - 1) ** 2, heads]);
    const bias = ops.relativePositionBias(g, table, ws, heads);
    const mask = shift > 0 ? g.constant(`shift-mask-${geo.Hp}x${geo.Wp}-${ws}-${shift}`, [geo.windows, ws * ws, ws * ws], ops.shiftMask(geo.Hp, geo.Wp, ws, shift)) : undefined;
    const att = ops.attention(g, ops.linear(g, win, q.w, q.b), ops.linear(g, win, k.w, k.b), ops.linear(g, win, v.w, v.b), {
      heads, bias, ...(mask ? { mask: { kind: 'additive' as const, tensor: mask } } : {}),
    });
    const dense = wb.linear(`${prefix}.attention.output.dense`, C, C);
    const projected = ops.linear(g, att, dense.w, dense.b);
    const h1 = g.reshape(ops.windowReverse(g, projected, g.reshape(x, [B, h, w, C]), geo), [B, h * w, C]);
    const ln2 = wb.norm(`${prefix}.layernorm_after`, C);
    const fc1 = wb.linear(`${prefix}.intermediate.dense`, mlp, C);
    const fc2 = wb.linear(`${prefix}.output.dense`, C, mlp);
    const inner = ops.unary(g, 'gelu', ops.linear(g, ops.layerNorm(g, h1, ln2.g, ln2.b, { eps }), fc1.w, fc1.b));
    const out = ops.linear(g, inner, fc2.w, fc2.b);
    return ops.binary(g, 'add', out, h1);
  });
}

/** pixel_values [B, 3, H, W] -> four normalised stage maps. */
export function swinBackbone(wb: WeightBinder, cfg: SwinBlockConfig, keys: SwinKeys, pixelValues: Tensor): SwinOutput {
  const { g } = wb;
  const P = keys.root;
  const hooks = new Map<string, Tensor>();
  const [B, , H, W] = pixelValues.shape as [number, number, number, number];
  const p = cfg.patchSize;
  const C0 = cfg.embedDim;
  let h = Math.ceil(H / p);
  let w = Math.ceil(W / p);
  let x = g.within('backbone/embeddings', () => {
    const proj = wb.w(`${P}.embeddings.patch_embeddings.projection.weight`, [C0, cfg.numChannels, p, p]);
    const projB = wb.w(`${P}.embeddings.patch_embeddings.projection.bias`, [C0]);
    const conv = ops.conv2d(g, pixelValues, proj, projB, { stride: p, padEnd: [h * p - H, w * p - W] });
    const tokens = ops.permute(g, g.reshape(conv, [B, C0, h * w]), [0, 2, 1]);
    const n = wb.norm(`${P}.embeddings.norm`, C0);
    return ops.layerNorm(g, tokens, n.g, n.b); // nn.LayerNorm default eps, not config's
  });
  hooks.set(`${P}.embeddings`, x);
  const maps: Tensor[] = [];
  g.within('backbone', () => {
    cfg.depths.forEach((depth, s) => {
      const C = cfg.stageChannels[s] as number;
      const heads = cfg.numHeads[s] as number;
      const mlp = cfg.mlpHiddenDims[s] as number;
      for (let b = 0; b < depth; b++) {
        const shift = b % 2 === 0 ? 0 : Math.floor(cfg.windowSize / 2);
        x = block(wb, x, `${P}.encoder.layers.${s}.blocks.${b}`, [B, h, w, C], heads, cfg.windowSize, shift, mlp, cfg.layerNormEps);
      }
      hooks.set(`${P}.encoder.layers.${s}.hidden_states_before_downsampling`, x);
      const stageNorm = wb.norm(keys.stageNorm(s), C);
      const normed = g.within(`stage${s + 1}-norm`, () => ops.layerNorm(g, x, stageNorm.g, stageNorm.b));
      maps.push(g.reshape(ops.permute(g, g.reshape(normed, [B, h * w, C]), [0, 2, 1]), [B, C, h, w]));
      if (s < cfg.depths.length - 1) {
        x = g.within(`layers.${s}.downsample`, () => {
          const merged = ops.patchMergeGather(g, g.reshape(x, [B, h, w, C]));
          const n = wb.norm(`${P}.encoder.layers.${s}.downsample.norm`, 4 * C);
          const red = wb.linear(`${P}.encoder.layers.${s}.downsample.reduction`, 2 * C, 4 * C, false);
          return ops.linear(g, ops.layerNorm(g, merged, n.g, n.b), red.w, null);
        });
        h = Math.ceil(h / 2);
        w = Math.ceil(w / 2);
      }
      hooks.set(`${P}.encoder.layers.${s}`, x);
    });
  });
  // relative_position_index is recomputed in the relative-position-bias kernel.
  wb.store.ignore(wb.store.keys().filter((k) => (k.startsWith(`${P}.`) && k.endsWith('.relative_position_index')) || keys.unusedPrefixes.some((u) => k.startsWith(u))));
  return { maps, hooks };
}
