/**
 * OneFormer's query transformer (`transformer_module.decoder.query_transformer`): `query_dec_layers`
 * post-norm DETR decoder layers (`nn.MultiheadAttention`, packed `in_proj_weight` rows q | k | v,
 * ReLU FFN) and a final `norm`, turning the task token into the Q - 1 object queries.
 *
 *   target    = task token [B, D] repeated Q - 1 times (zeros when use_task_norm is false)
 *   query_pos = queries_embedder.weight[:-1]                       [Q-1, D]
 *   memory    = sine position embedding of the mask features       [hm*wm, D]
 *   mem. pos  = query_input_projection(mask features) (1x1 conv)   [B, hm*wm, D]
 * HF passes the position embedding as the memory and the projected features as its position (the
 * original code does the same); reproduced as is. Per layer:
 *   self-attn (q = k = x + query_pos, v = x) -> add -> norm1;
 *   cross-attn (q = x + query_pos, k = memory + pos, v = memory) -> add -> norm2;
 *   linear2(relu(linear1(x))) -> add -> norm3.
 * Tensors are batch-major [B, L, D]. Keys: `${keys.decoder}.query_transformer.decoder.*`,
 * `${keys.decoder}.query_input_projection`, `${keys.queriesEmbedder}.weight`.
 */
import type { Tensor } from '../../graph/builder.ts';
import * as ops from '../../ops/index.ts';
import { stridedCopy } from '../../ops/strided-copy.ts';
import { sinePositionEmbedding } from '../common/position.ts';
import type { WeightBinder } from '../common/weights.ts';

export interface QueryTransformerConfig {
  readonly hiddenDim: number;
  readonly numQueries: number;
  readonly numAttentionHeads: number;
  readonly queryDecLayers: number;
  readonly dimFeedforward: number;
  readonly layerNormEps: number;
  /** Mask-feature channels (= conv_dim, the projection's input). */
  readonly maskDim: number;
}

/** `nn.MultiheadAttention` with packed in-projection: q, k, v inputs [B, L, D] -> [B, Lq, D]. */
function multiheadAttention(wb: WeightBinder, prefix: string, D: number, heads: number, q: Tensor, k: Tensor, v: Tensor): Tensor {
  const { g } = wb;
  const inW = wb.w(`${prefix}.in_proj_weight`, [3 * D, D]);
  const inB = wb.w(`${prefix}.in_proj_bias`, [3 * D]);
  const part = (i: number) => ({ w: g.view(inW, i * D * D, [D, D]), b: g.view(inB, i * D, [D]) });
  const [pq, pk, pv] = [part(0), part(1), part(2)];
  const att = ops.attention(g, ops.linear(g, q, pq.w, pq.b), ops.linear(g, k, pk.w, pk.b), ops.linear(g, v, pv.w, pv.b), { heads });
  const out = wb.linear(`${prefix}.out_proj`, D, D);
  return ops.linear(g, att, out.w, out.b);
}

/**
 * `task` [B, D]: the (normed) task token, or null for HF's zero target (use_task_norm false).
 * Returns the Q - 1 object queries [B, Q-1, D] after the final norm.
 */
export interface QueryTransformerKeys {
  /** `model.transformer_module.decoder` */
  readonly decoder: string;
  /** `model.transformer_module.queries_embedder` */
  readonly queriesEmbedder: string;
}

export function queryTransformer(wb: WeightBinder, cfg: QueryTransformerConfig, keys: QueryTransformerKeys, task: Tensor | null, maskFeatures: Tensor): Tensor {
  const { g } = wb;
  const D = cfg.hiddenDim;
  const Qo = cfg.numQueries - 1;
  const heads = cfg.numAttentionHeads;
  const eps = cfg.layerNormEps;
  const [B, , hm, wm] = maskFeatures.shape as [number, number, number, number];
  const P = keys.decoder;
  const T = `${P}.query_transformer.decoder`;
  return g.within('query_transformer', () => {
    // Memory: the sine embedding of the mask-feature grid, the same for every image.
    const pe = g.constant(`query-memory-${hm}x${wm}-${D}`, [hm * wm, D], sinePositionEmbedding(hm, wm, D / 2));
    const memory = ops.repeatLeading(g, pe, B);
    // Memory position: query_input_projection(mask features) as tokens [B, hw, D].
    const projW = wb.w(`${P}.query_input_projection.weight`, [D, cfg.maskDim, 1, 1]);
    const projB = wb.w(`${P}.query_input_projection.bias`, [D]);
    const proj = ops.conv2d(g, maskFeatures, projW, projB);
    const memPos = g.empty('memory-pos', [B, hm * wm, D]);
    ops.levelToTokens(g, proj, memPos, 0);
    const memKey = ops.binary(g, 'add', memory, memPos);

    const queryEmbed = wb.w(`${keys.queriesEmbedder}.weight`, [cfg.numQueries, D]);
    const queryPos = g.view(queryEmbed, 0, [Qo, D]);
    // Target: the task token broadcast over the Q - 1 queries (stride 0 along the query axis).
    let x: Tensor;
    if (task) {
      x = g.empty('target', [B, Qo, D]);
      stridedCopy(g, task, x, [B, Qo, D], [D, 0, 1], [Qo * D, D, 1], 0, 'repeat-task');
    } else {
      x = g.constant(`query-zero-target-${B}x${Qo}x${D}`, [B, Qo, D], new Float32Array(B * Qo * D));
    }

    for (let i = 0; i < cfg.queryDecLayers; i++) {
      const pre = `${T}.layers.${i}`;
      x = g.within(`layers.${i}`, () => {
        const qk = ops.binary(g, 'add', x, queryPos, 1);
        const sa = multiheadAttention(wb, `${pre}.self_attn`, D, heads, qk, qk, x);
        const n1 = wb.norm(`${pre}.norm1`, D);
        const x1 = ops.layerNorm(g, sa, n1.g, n1.b, { residual: x, eps });
        const ca = multiheadAttention(wb, `${pre}.multihead_attn`, D, heads, ops.binary(g, 'add', x1, queryPos, 1), memKey, memory);
        const n2 = wb.norm(`${pre}.norm2`, D);
        const x2 = ops.layerNorm(g, ca, n2.g, n2.b, { residual: x1, eps });
        const l1 = wb.linear(`${pre}.linear1`, cfg.dimFeedforward, D);
        const l2 = wb.linear(`${pre}.linear2`, D, cfg.dimFeedforward);
        const ffn = ops.linear(g, ops.linear(g, x2, l1.w, l1.b, { act: 'relu' }), l2.w, l2.b);
        const n3 = wb.norm(`${pre}.norm3`, D);
        return ops.layerNorm(g, ffn, n3.g, n3.b, { residual: x2, eps });
      });
    }
    const fn = wb.norm(`${T}.norm`, D);
    return ops.layerNorm(g, x, fn.g, fn.b, { eps });
  });
}
