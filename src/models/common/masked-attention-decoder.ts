/**
 * Masked-attention transformer decoder (Mask2Former's, also OneFormer's after its query setup). Queries are kept batch-major
 * [B, Q, D] on the GPU (HF keeps [Q, B, D]; intermediates are permuted only when asked for).
 * Layer j cross-attends level j mod 3 (0 = stride 32) with the mask of prediction j; a query
 * whose mask blocks every position attends everywhere (HF's fully-masked-row rule, in-kernel).
 * Post-norm order per layer: cross-attn -> add & LN -> self-attn -> add & LN -> FFN -> add & LN.
 * Keys under `prefix` (Mask2Former: model.transformer_module): level_embed, input_projections.{l},
 * queries_embedder, decoder.layers.{j}, decoder.layernorm, plus the heads (heads.ts); the names
 * inside a layer and of the final norm are a family's (DecoderLayerKeys: Mask2Former's by default).
 * The initial queries are the caller's (Mask2Former: queries_features; OneFormer: its query transformer).
 */
import { ShapeError } from '../../errors.ts';
import type { Tensor } from '../../graph/builder.ts';
import * as ops from '../../ops/index.ts';
import { predictionHeads, type HeadsConfig, type HeadsKeys } from './heads.ts';
import { sinePositionEmbedding } from './position.ts';
import type { WeightBinder } from './weights.ts';

/** What the masked-attention decoder needs from a family's config. */
export interface MaskedAttentionDecoderConfig extends HeadsConfig {
  readonly numQueries: number;
  readonly numAttentionHeads: number;
  /** Levels cycled through by the layers (3: stride 32, 16, 8). */
  readonly numFeatureLevels: number;
  /** Decoder layers actually built (Mask2Former: decoder_layers - 1). */
  readonly numLayers: number;
  readonly dimFeedforward: number;
  /** 1x1 `input_projections.{l}` on the level features (feature size != hidden dim, or enforced). */
  readonly hasInputProjection: boolean;
  /** Eps of every LayerNorm here (Mask2Former: fixed 1e-5; OneFormer: layer_norm_eps). Default 1e-5. */
  readonly layerNormEps?: number;
}

/** Names relative to `prefix` (norm) and to `prefix.decoder.layers.{j}` (the rest). */
export interface DecoderLayerKeys {
  /** The norm before every prediction. */
  readonly decoderNorm: string;
  /** nn.MultiheadAttention: `.in_proj_weight` [3D, D] (q | k | v), `.in_proj_bias`, `.out_proj`. */
  readonly crossAttn: string;
  readonly crossNorm: string;
  /** DETR attention: `.q_proj`, `.k_proj`, `.v_proj`, `.out_proj`. */
  readonly selfAttn: string;
  readonly selfNorm: string;
  readonly fc1: string;
  readonly fc2: string;
  readonly ffnNorm: string;
}

export const MASK2FORMER_DECODER_KEYS: DecoderLayerKeys = {
  decoderNorm: 'decoder.layernorm',
  crossAttn: 'cross_attn',
  crossNorm: 'cross_attn_layer_norm',
  selfAttn: 'self_attn',
  selfNorm: 'self_attn_layer_norm',
  fc1: 'fc1',
  fc2: 'fc2',
  ffnNorm: 'final_layer_norm',
};

export interface Prediction {
  /** [B, Q, L+1] */
  readonly classLogits: Tensor;
  /** [B, Q, h_m, w_m] */
  readonly maskLogits: Tensor;
  /** Layer-normed queries [B, Q, D] (transformer_decoder_intermediate_states, batch-major). */
  readonly normed: Tensor;
}

export interface DecoderOutput {
  readonly predictions: Prediction[];
  /** transformer_decoder_hidden_states.{k}, batch-major [B, Q, D]. */
  readonly hidden: Tensor[];
  /** debug.attention_mask_logits.{k}: [B, Q, h, w] at the size of level k mod 3. */
  readonly maskLogitsAtLevel: Tensor[];
  /** The 0/1 masks (u32, nonzero = blocked) decoder layer k used, before the fully-masked-row rule. */
  readonly attentionMasks: Tensor[];
}

/**
 * `initial`: the decoder's input queries [B, Q, D] (transformer_decoder_hidden_states.0).
 */
export function maskedAttentionDecoder(
  wb: WeightBinder,
  cfg: MaskedAttentionDecoderConfig,
  P: string,
  heads_: HeadsKeys,
  initial: Tensor,
  multiScale: readonly Tensor[],
  maskFeatures: Tensor,
  keys: DecoderLayerKeys = MASK2FORMER_DECODER_KEYS,
): DecoderOutput {
  const { g } = wb;
  const eps = cfg.layerNormEps ?? 1e-5;
  const D = cfg.hiddenDim;
  const Q = cfg.numQueries;
  const heads = cfg.numAttentionHeads;
  const nLevels = cfg.numFeatureLevels;
  const B = maskFeatures.shape[0] as number;
  return g.within('transformer_decoder', () => {
    // Level features as tokens [B, hw, D] (+ level embedding), and their position embeddings.
    const levelEmbed = wb.w(`${P}.level_embed.weight`, [nLevels, D]);
    const levels = multiScale.map((x, l) =>
      g.within(`level${l}`, () => {
        const [, C, h, w] = x.shape as [number, number, number, number];
        let src = x;
        if (cfg.hasInputProjection) {
          const pw = wb.w(`${P}.input_projections.${l}.weight`, [D, C, 1, 1]);
          const pb = wb.w(`${P}.input_projections.${l}.bias`, [D]);
          src = ops.conv2d(g, x, pw, pb);
        }
        const tokens = g.empty('tokens', [B, h * w, D]);
        ops.levelToTokens(g, src, tokens, 0);
        const feat = ops.binary(g, 'add', tokens, g.view(levelEmbed, l * D, [D]), 2);
        const pos = g.constant(`decoder-pos-${h}x${w}-${D}`, [h * w, D], sinePositionEmbedding(h, w, D / 2));
        const featPos = ops.binary(g, 'add', feat, pos, 1);
        return { feat, featPos, size: [h, w] as [number, number] };
      }),
    );
    const queryPos = wb.w(`${P}.queries_embedder.weight`, [Q, D]);
    const decNorm = wb.norm(`${P}.${keys.decoderNorm}`, D);
    const headsFn = predictionHeads(wb, cfg, heads_);

    const predict = (x: Tensor, k: number): { p: Prediction; atLevel: Tensor } =>
      g.within(`prediction${k}`, () => {
        const normed = ops.layerNorm(g, x, decNorm.g, decNorm.b, { eps });
        const { classLogits, maskLogits } = headsFn(normed, maskFeatures);
        const size = (levels[k % nLevels] as { size: [number, number] }).size;
        const atLevel = ops.resizeBilinear(g, maskLogits, size);
        return { p: { classLogits, maskLogits, normed }, atLevel };
      });

    if (initial.shape.length !== 3 || initial.shape[0] !== B || initial.shape[1] !== Q || initial.shape[2] !== D) {
      throw new ShapeError('maskedAttentionDecoder', initial.name, `[${B}, ${Q}, ${D}]`, initial.shape);
    }
    let x = initial;
    const hidden = [x];
    const first = predict(x, 0);
    const predictions = [first.p];
    const maskLogitsAtLevel = [first.atLevel];
    const attentionMasks: Tensor[] = [];
    let atLevel = first.atLevel;
    for (let j = 0; j < cfg.numLayers; j++) {
      const pre = `${P}.decoder.layers.${j}`;
      const level = levels[j % nLevels] as (typeof levels)[number];
      const [h, w] = level.size;
      x = g.within(`layers.${j}`, () => {
        const mask = g.reshape(ops.maskFromLogits(g, atLevel), [B, Q, h * w]);
        attentionMasks.push(mask);
        // Masked cross-attention; in_proj_weight [3D, D] is used packed: rows q | k | v.
        const inW = wb.w(`${pre}.${keys.crossAttn}.in_proj_weight`, [3 * D, D]);
        const inB = wb.w(`${pre}.${keys.crossAttn}.in_proj_bias`, [3 * D]);
        const part = (i: number) => ({ w: g.view(inW, i * D * D, [D, D]), b: g.view(inB, i * D, [D]) });
        const [pq, pk, pv] = [part(0), part(1), part(2)];
        const qIn = ops.binary(g, 'add', x, queryPos, 1);
        const q = ops.linear(g, qIn, pq.w, pq.b);
        const k = ops.linear(g, level.featPos, pk.w, pk.b);
        const v = ops.linear(g, level.feat, pv.w, pv.b);
        const cross = ops.attention(g, q, k, v, { heads, mask: { kind: 'bool', tensor: mask }, maskedRow: 'attend-all' });
        const co = wb.linear(`${pre}.${keys.crossAttn}.out_proj`, D, D);
        const cn = wb.norm(`${pre}.${keys.crossNorm}`, D);
        const x1 = ops.layerNorm(g, ops.linear(g, cross, co.w, co.b), cn.g, cn.b, { residual: x, eps });
        // Self-attention: q = k = x + query_pos, v = x.
        const sq = wb.linear(`${pre}.${keys.selfAttn}.q_proj`, D, D);
        const sk = wb.linear(`${pre}.${keys.selfAttn}.k_proj`, D, D);
        const sv = wb.linear(`${pre}.${keys.selfAttn}.v_proj`, D, D);
        const so = wb.linear(`${pre}.${keys.selfAttn}.out_proj`, D, D);
        const qk = ops.binary(g, 'add', x1, queryPos, 1);
        const self = ops.attention(g, ops.linear(g, qk, sq.w, sq.b), ops.linear(g, qk, sk.w, sk.b), ops.linear(g, x1, sv.w, sv.b), { heads });
        const sn = wb.norm(`${pre}.${keys.selfNorm}`, D);
        const x2 = ops.layerNorm(g, ops.linear(g, self, so.w, so.b), sn.g, sn.b, { residual: x1, eps });
        const fc1 = wb.linear(`${pre}.${keys.fc1}`, cfg.dimFeedforward, D);
        const fc2 = wb.linear(`${pre}.${keys.fc2}`, D, cfg.dimFeedforward);
        const ffn = ops.linear(g, ops.linear(g, x2, fc1.w, fc1.b, { act: 'relu' }), fc2.w, fc2.b);
        const fn = wb.norm(`${pre}.${keys.ffnNorm}`, D);
        return ops.layerNorm(g, ffn, fn.g, fn.b, { residual: x2, eps });
      });
      hidden.push(x);
      const next = predict(x, j + 1);
      predictions.push(next.p);
      maskLogitsAtLevel.push(next.atLevel);
      atLevel = next.atLevel;
    }
    return { predictions, hidden, maskLogitsAtLevel, attentionMasks };
  });
}

/**
 * HF's view of a decoder layer's attention mask: our raw 0/1 mask [B, Q, hw] (u32, nonzero =
 * blocked) with the fully-masked-row rule applied (such rows become all open), as U8.
 */
export function attentionMaskAsHf(raw: Uint32Array, rows: number, n: number): Uint8Array {
  const out = new Uint8Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let blocked = 0;
    for (let j = 0; j < n; j++) if (raw[r * n + j] !== 0) blocked++;
    if (blocked === n) continue;
    for (let j = 0; j < n; j++) out[r * n + j] = raw[r * n + j] !== 0 ? 1 : 0;
  }
  return out;
}
