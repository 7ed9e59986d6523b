/**
 * DETR's transformer decoder as MaskFormer uses it: `layers` post-norm layers over a single-scale
 * memory, zeros as the decoder input and `queries_embedder` only as the query position.
 * Per layer: self-attn (q = k = x + query_pos, v = x) -> add & LN; cross-attn (q = x + query_pos,
 * k = memory + sine pos, v = memory) -> add & LN; FFN -> add & LN. A final `decoder.layernorm`
 * (with DETR's `auxiliary_loss`, also after every layer inside the loop). No attention masks.
 * Keys under `prefix` (MaskFormer: model.transformer_module): queries_embedder, input_projection,
 * decoder.layers.{j}.{self_attn, encoder_attn}.{q,k,v,out}_proj, {self_attn, encoder_attn, final}_layer_norm,
 * fc1, fc2, decoder.layernorm.
 */
import type { Tensor } from '../../graph/builder.ts';
import * as ops from '../../ops/index.ts';
import { sinePositionEmbedding } from './position.ts';
import type { WeightBinder } from './weights.ts';

export interface DetrDecoderBlockConfig {
  readonly dModel: number;
  readonly decoderLayers: number;
  readonly decoderAttentionHeads: number;
  readonly decoderFfnDim: number;
  readonly numQueries: number;
  readonly activation: 'relu' | 'gelu';
  /** Layer-norm after every layer inside the loop (DETR's auxiliary_loss). */
  readonly auxiliaryLoss: boolean;
}

export interface DetrDecoderOutput {
  /** transformer_decoder_hidden_states.{k}: k = 0 the zero input, 1..N-1 layer outputs, N the final layer-normed state. [B, Q, D] */
  readonly hidden: Tensor[];
  /** transformer_decoder_last_hidden_state (= hidden[N]). */
  readonly last: Tensor;
  readonly hooks: Map<string, Tensor>;
  /** The memory's sine position embedding, [h*w, D] token-major (the same for every image). */
  readonly positionTokens: Tensor;
}

/** image features [B, C, h, w] (the backbone's last map) -> decoder states. */
export function detrDecoder(wb: WeightBinder, cfg: DetrDecoderBlockConfig, P: string, features: Tensor): DetrDecoderOutput {
  const { g } = wb;
  const D = cfg.dModel;
  const Q = cfg.numQueries;
  const heads = cfg.decoderAttentionHeads;
  const hooks = new Map<string, Tensor>();
  return g.within('transformer_decoder', () => {
    const [B, C, h, w] = features.shape as [number, number, number, number];
    let src = features;
    // HF builds input_projection only when the channels differ from d_model.
    if (C !== D) {
      src = ops.conv2d(g, features, wb.w(`${P}.input_projection.weight`, [D, C, 1, 1]), wb.w(`${P}.input_projection.bias`, [D]));
      hooks.set(`${P}.input_projection`, src);
    }
    const memory = g.empty('memory', [B, h * w, D]);
    ops.levelToTokens(g, src, memory, 0);
    const pos = g.constant(`detr-pos-${h}x${w}-${D}`, [h * w, D], sinePositionEmbedding(h, w, D / 2));
    const memoryPos = ops.binary(g, 'add', memory, pos, 1);
    const queryPos = wb.w(`${P}.queries_embedder.weight`, [Q, D]);
    const norm = wb.norm(`${P}.decoder.layernorm`, D);
    const finalNorm = (x: Tensor): Tensor => ops.layerNorm(g, x, norm.g, norm.b);

    const attention = (pre: string, qIn: Tensor, kIn: Tensor, vIn: Tensor): Tensor => {
      const qp = wb.linear(`${pre}.q_proj`, D, D);
      const kp = wb.linear(`${pre}.k_proj`, D, D);
      const vp = wb.linear(`${pre}.v_proj`, D, D);
      const op = wb.linear(`${pre}.out_proj`, D, D);
      const att = ops.attention(g, ops.linear(g, qIn, qp.w, qp.b), ops.linear(g, kIn, kp.w, kp.b), ops.linear(g, vIn, vp.w, vp.b), { heads });
      return ops.linear(g, att, op.w, op.b);
    };

    let x = g.constant(`detr-zeros-${B}x${Q}x${D}`, [B, Q, D], new Float32Array(B * Q * D));
    const hidden = [x];
    for (let j = 0; j < cfg.decoderLayers; j++) {
      const pre = `${P}.decoder.layers.${j}`;
      x = g.within(`layers.${j}`, () => {
        const qk = ops.binary(g, 'add', x, queryPos, 1);
        const self = attention(`${pre}.self_attn`, qk, qk, x);
        hooks.set(`${pre}.self_attn`, self);
        const sn = wb.norm(`${pre}.self_attn_layer_norm`, D);
        const x1 = ops.layerNorm(g, self, sn.g, sn.b, { residual: x });
        const cross = attention(`${pre}.encoder_attn`, ops.binary(g, 'add', x1, queryPos, 1), memoryPos, memory);
        hooks.set(`${pre}.encoder_attn`, cross);
        const cn = wb.norm(`${pre}.encoder_attn_layer_norm`, D);
        const x2 = ops.layerNorm(g, cross, cn.g, cn.b, { residual: x1 });
        const fc1 = wb.linear(`${pre}.fc1`, cfg.decoderFfnDim, D);
        const fc2 = wb.linear(`${pre}.fc2`, D, cfg.decoderFfnDim);
        const inner = cfg.activation === 'relu' ? ops.linear(g, x2, fc1.w, fc1.b, { act: 'relu' }) : ops.unary(g, 'gelu', ops.linear(g, x2, fc1.w, fc1.b));
        const fn = wb.norm(`${pre}.final_layer_norm`, D);
        const out = ops.layerNorm(g, ops.linear(g, inner, fc2.w, fc2.b), fn.g, fn.b, { residual: x2 });
        hooks.set(pre, out);
        return cfg.auxiliaryLoss ? finalNorm(out) : out;
      });
      if (j < cfg.decoderLayers - 1) hidden.push(x);
    }
    const last = g.within('layernorm', () => finalNorm(x));
    hidden.push(last);
    return { hidden, last, hooks, positionTokens: pos };
  });
}
