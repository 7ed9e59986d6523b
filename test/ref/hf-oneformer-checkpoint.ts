/**
 * What `OneFormerForUniversalSegmentation(config).state_dict()` holds (is_training false), written
 * from HF's module tree (transformers `modeling_oneformer.py`), not from `src/models`:
 *
 *   model.pixel_level_module.{encoder,decoder}       as Mask2Former's (SwinBackbone, pixel decoder with
 *                                                    F = conv_dim, M = mask_dim): see hf-checkpoint.ts
 *   model.transformer_module                         OneFormerTransformerModule (D = hidden_dim)
 *     queries_embedder                               Embedding(Q, D)
 *     input_projections.{0,1,2}                      Conv2d(F, D, 1) only when F != D or enforce_input_proj
 *     level_embed                                    Embedding(3, D)
 *     decoder.query_transformer.decoder.layers.{i}   i < query_dec_layers:
 *       self_attn, multihead_attn                    nn.MultiheadAttention: in_proj_weight [3D, D], in_proj_bias, out_proj
 *       linear1, linear2                             Linear(D, dim_feedforward), back
 *       norm1, norm2, norm3                          LayerNorm(D)
 *     decoder.query_transformer.decoder.norm         LayerNorm(D)
 *     decoder.decoder_norm                           LayerNorm(D)
 *     decoder.layers.{j} (j < decoder_layers - 1)
 *       cross_attn.multihead_attn                    nn.MultiheadAttention (packed)
 *       cross_attn.norm                              LayerNorm(D)
 *       self_attn.self_attn.{k,v,q,out}_proj         Linear(D, D)
 *       self_attn.norm                               LayerNorm(D)
 *       ffn.linear1, ffn.linear2, ffn.norm           Linear(D, dim_feedforward), back, LayerNorm(D)
 *     decoder.query_input_projection                 Conv2d(F, D, 1)
 *     decoder.class_embed                            Linear(D, labels + 1)
 *     decoder.mask_embed.layers.{0,1,2}.0            Linear D->D, D->D, D->M
 *   model.task_encoder.task_mlp.layers.{0,1}.0       Linear(task_seq_len, D), Linear(D, D)
 *   criterion.empty_weight [labels + 1], criterion.logit_scale []
 */
import { stateDictShapes, type HfShapeConfig, type HfTensorSpec } from './hf-checkpoint.ts';

export interface HfOneFormerShapeConfig extends Omit<HfShapeConfig, 'enforceInputProjection'> {
  readonly queryDecLayers: number;
  readonly taskSeqLen: number;
  readonly enforceInputProj?: boolean;
}

export function oneFormerStateDictShapes(cfg: HfOneFormerShapeConfig): Map<string, HfTensorSpec> {
  const out = new Map<string, HfTensorSpec>();
  // The pixel-level module is Mask2Former's, key for key.
  for (const [k, v] of stateDictShapes(cfg)) if (k.startsWith('model.pixel_level_module.')) out.set(k, v);
  const add = (key: string, shape: number[]): void => {
    if (out.has(key)) throw new Error(`hf-oneformer-checkpoint: duplicate key ${key}`);
    out.set(key, { shape, dtype: 'F32', init: 'weight' });
  };
  const linear = (p: string, o: number, i: number): void => (add(`${p}.weight`, [o, i]), add(`${p}.bias`, [o]));
  const norm = (p: string, c: number): void => (add(`${p}.weight`, [c]), add(`${p}.bias`, [c]));
  const mha = (p: string, d: number): void => {
    add(`${p}.in_proj_weight`, [3 * d, d]);
    add(`${p}.in_proj_bias`, [3 * d]);
    linear(`${p}.out_proj`, d, d);
  };
  const D = cfg.hiddenDim;
  const F = cfg.featureSize;
  const tm = 'model.transformer_module';
  add(`${tm}.queries_embedder.weight`, [cfg.queries, D]);
  if (F !== D || cfg.enforceInputProj === true) for (let l = 0; l < 3; l++) (add(`${tm}.input_projections.${l}.weight`, [D, F, 1, 1]), add(`${tm}.input_projections.${l}.bias`, [D]));
  add(`${tm}.level_embed.weight`, [3, D]);
  const qt = `${tm}.decoder.query_transformer.decoder`;
  for (let i = 0; i < cfg.queryDecLayers; i++) {
    mha(`${qt}.layers.${i}.self_attn`, D);
    mha(`${qt}.layers.${i}.multihead_attn`, D);
    linear(`${qt}.layers.${i}.linear1`, cfg.decoderFfn, D);
    linear(`${qt}.layers.${i}.linear2`, D, cfg.decoderFfn);
    for (const n of ['norm1', 'norm2', 'norm3']) norm(`${qt}.layers.${i}.${n}`, D);
  }
  norm(`${qt}.norm`, D);
  norm(`${tm}.decoder.decoder_norm`, D);
  for (let j = 0; j < cfg.decoderLayers - 1; j++) {
    const p = `${tm}.decoder.layers.${j}`;
    mha(`${p}.cross_attn.multihead_attn`, D);
    norm(`${p}.cross_attn.norm`, D);
    for (const proj of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) linear(`${p}.self_attn.self_attn.${proj}`, D, D);
    norm(`${p}.self_attn.norm`, D);
    linear(`${p}.ffn.linear1`, cfg.decoderFfn, D);
    linear(`${p}.ffn.linear2`, D, cfg.decoderFfn);
    norm(`${p}.ffn.norm`, D);
  }
  add(`${tm}.decoder.query_input_projection.weight`, [D, F, 1, 1]);
  add(`${tm}.decoder.query_input_projection.bias`, [D]);
  linear(`${tm}.decoder.class_embed`, cfg.labels + 1, D);
  linear(`${tm}.decoder.mask_embed.layers.0.0`, D, D);
  linear(`${tm}.decoder.mask_embed.layers.1.0`, D, D);
  linear(`${tm}.decoder.mask_embed.layers.2.0`, cfg.maskFeatureSize, D);
  linear('model.task_encoder.task_mlp.layers.0.0', D, cfg.taskSeqLen);
  linear('model.task_encoder.task_mlp.layers.1.0', D, D);
  add('criterion.empty_weight', [cfg.labels + 1]);
  add('criterion.logit_scale', []);
  return out;
}
