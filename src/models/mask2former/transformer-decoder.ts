/**
 * Mask2Former transformer decoder with masked cross-attention. Queries are kept batch-major
 * [B, Q, D] on the GPU (HF keeps [Q, B, D]; intermediates are permuted only when asked for).
 * Layer j cross-attends level j mod 3 (0 = stride 32) with the mask of prediction j; a query
 * whose mask blocks every position attends everywhere (HF's fully-masked-row rule, in-kernel).
 * Post-norm order per layer: cross-attn -> add & LN -> self-attn -> add & LN -> FFN -> add & LN.
 * Keys: model.transformer_module.*, class_predictor.*
 */
import type { Mask2FormerConfig } from '../../config/index.ts';
import type { Tensor } from '../../graph/builder.ts';
import * as ops from '../../ops/index.ts';
import { sinePositionEmbedding } from './position.ts';
import type { WeightBinder } from './weights.ts';

const P = 'model.transformer_module';

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

export function transformerDecoder(wb: WeightBinder, cfg: Mask2FormerConfig, multiScale: readonly Tensor[], maskFeatures: Tensor): DecoderOutput {
  const { g } = wb;
  const D = cfg.hiddenDim;
  const Q = cfg.numQueries;
  const heads = cfg.numAttentionHeads;
  const nLevels = cfg.numFeatureLevels;
  const B = maskFeatures.shape[0] as number;
  const M = cfg.maskFeatureSize;
  return g.within('transformer_decoder', () => {
    // Level features as tokens [B, hw, D] (+ level embedding), and their position embeddings.
    const levelEmbed = wb.w(`${P}.level_embed.weight`, [nLevels, D]);
    const levels = multiScale.map((x, l) =>
      g.within(`level${l}`, () => {
        const [, C, h, w] = x.shape as [number, number, number, number];
        let src = x;
        if (cfg.hasDecoderInputProjection) {
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
    const queryFeat = wb.w(`${P}.queries_features.weight`, [Q, D]);
    const decNorm = wb.norm(`${P}.decoder.layernorm`, D);
    const cls = wb.linear('class_predictor', cfg.numLabels + 1, D);
    const mlp = [0, 1, 2].map((i) => wb.linear(`${P}.decoder.mask_predictor.mask_embedder.${i}.0`, i === 2 ? M : D, D));
    const [, , hm, wm] = maskFeatures.shape as [number, number, number, number];

    const predict = (x: Tensor, k: number): { p: Prediction; atLevel: Tensor } =>
      g.within(`prediction${k}`, () => {
        const normed = ops.layerNorm(g, x, decNorm.g, decNorm.b);
        const classLogits = ops.linear(g, normed, cls.w, cls.b);
        let emb = normed;
        mlp.forEach((l, i) => {
          emb = ops.linear(g, emb, l.w, l.b, i < 2 ? { act: 'relu' } : {});
        });
        const maskLogits = g.reshape(ops.maskEinsum(g, emb, maskFeatures), [B, Q, hm, wm]);
        const size = (levels[k % nLevels] as { size: [number, number] }).size;
        const atLevel = ops.resizeBilinear(g, maskLogits, size);
        return { p: { classLogits, maskLogits, normed }, atLevel };
      });

    let x = ops.repeatLeading(g, queryFeat, B);
    const hidden = [x];
    const first = predict(x, 0);
    const predictions = [first.p];
    const maskLogitsAtLevel = [first.atLevel];
    const attentionMasks: Tensor[] = [];
    let atLevel = first.atLevel;
    for (let j = 0; j < cfg.numInstantiatedDecoderLayers; j++) {
      const pre = `${P}.decoder.layers.${j}`;
      const level = levels[j % nLevels] as (typeof levels)[number];
      const [h, w] = level.size;
      x = g.within(`layers.${j}`, () => {
        const mask = g.reshape(ops.maskFromLogits(g, atLevel), [B, Q, h * w]);
        attentionMasks.push(mask);
        // Masked cross-attention; in_proj_weight [3D, D] is used packed: rows q | k | v.
        const inW = wb.w(`${pre}.cross_attn.in_proj_weight`, [3 * D, D]);
        const inB = wb.w(`${pre}.cross_attn.in_proj_bias`, [3 * D]);
        const part = (i: number) => ({ w: g.view(inW, i * D * D, [D, D]), b: g.view(inB, i * D, [D]) });
        const [pq, pk, pv] = [part(0), part(1), part(2)];
        const qIn = ops.binary(g, 'add', x, queryPos, 1);
        const q = ops.linear(g, qIn, pq.w, pq.b);
        const k = ops.linear(g, level.featPos, pk.w, pk.b);
        const v = ops.linear(g, level.feat, pv.w, pv.b);
        const cross = ops.attention(g, q, k, v, { heads, mask: { kind: 'bool', tensor: mask }, maskedRow: 'attend-all' });
        const co = wb.linear(`${pre}.cross_attn.out_proj`, D, D);
        const cn = wb.norm(`${pre}.cross_attn_layer_norm`, D);
        const x1 = ops.layerNorm(g, ops.linear(g, cross, co.w, co.b), cn.g, cn.b, { residual: x });
        // Self-attention: q = k = x + query_pos, v = x.
        const sq = wb.linear(`${pre}.self_attn.q_proj`, D, D);
        const sk = wb.linear(`${pre}.self_attn.k_proj`, D, D);
        const sv = wb.linear(`${pre}.self_attn.v_proj`, D, D);
        const so = wb.linear(`${pre}.self_attn.out_proj`, D, D);
        const qk = ops.binary(g, 'add', x1, queryPos, 1);
        const self = ops.attention(g, ops.linear(g, qk, sq.w, sq.b), ops.linear(g, qk, sk.w, sk.b), ops.linear(g, x1, sv.w, sv.b), { heads });
        const sn = wb.norm(`${pre}.self_attn_layer_norm`, D);
        const x2 = ops.layerNorm(g, ops.linear(g, self, so.w, so.b), sn.g, sn.b, { residual: x1 });
        const fc1 = wb.linear(`${pre}.fc1`, cfg.dimFeedforward, D);
        const fc2 = wb.linear(`${pre}.fc2`, D, cfg.dimFeedforward);
        const ffn = ops.linear(g, ops.linear(g, x2, fc1.w, fc1.b, { act: 'relu' }), fc2.w, fc2.b);
        const fn = wb.norm(`${pre}.final_layer_norm`, D);
        return ops.layerNorm(g, ffn, fn.g, fn.b, { residual: x2 });
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
