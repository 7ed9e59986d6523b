/**
 * The state dict of HF `MaskFormerForInstanceSegmentation`, enumerated independently of maskgpu's
 * model code from HF's module tree (MaskFormerSwinBackbone or ResNetBackbone, MaskFormerFPNModel,
 * DetrDecoder, heads): key -> shape and dtype. Checked against both fixtures' model.safetensors,
 * then used to bind hub-size checkpoints shape-only.
 */

export type MaskFormerBackboneShape =
  | { readonly kind: 'swin'; readonly embedDim: number; readonly depths: readonly number[]; readonly numHeads: readonly number[]; readonly windowSize: number; readonly mlpRatio: number }
  | {
      readonly kind: 'resnet';
      readonly embeddingSize: number;
      readonly hiddenSizes: readonly number[];
      readonly depths: readonly number[];
      readonly layerType: 'bottleneck' | 'basic';
      readonly downsampleInFirstStage: boolean;
      /** Output stages (indices into ['stem', 'stage1', ...]); default: every stage. */
      readonly outIndices?: readonly number[];
    };

export interface MaskFormerShapeConfig {
  readonly backbone: MaskFormerBackboneShape;
  readonly fpn: number;
  readonly mask: number;
  readonly dModel: number;
  readonly decoderLayers: number;
  readonly ffn: number;
  readonly heads: number;
  readonly queries: number;
  readonly labels: number;
}

export interface TensorShape {
  readonly shape: number[];
  readonly dtype: 'F32' | 'I64';
}

/** Every state-dict key with its shape; backbone output channels (all four / all stages out). */
export function maskFormerStateDict(cfg: MaskFormerShapeConfig): { tensors: Map<string, TensorShape>; channels: number[] } {
  const t = new Map<string, TensorShape>();
  const f32 = (k: string, ...shape: number[]): void => void t.set(k, { shape, dtype: 'F32' });
  const i64 = (k: string, ...shape: number[]): void => void t.set(k, { shape, dtype: 'I64' });
  const ln = (k: string, c: number): void => (f32(`${k}.weight`, c), f32(`${k}.bias`, c));
  const lin = (k: string, o: number, i: number, bias = true): void => {
    f32(`${k}.weight`, o, i);
    if (bias) f32(`${k}.bias`, o);
  };
  const bn = (k: string, c: number): void => {
    ln(k, c);
    f32(`${k}.running_mean`, c);
    f32(`${k}.running_var`, c);
    i64(`${k}.num_batches_tracked`);
  };
  const E = 'model.pixel_level_module.encoder';
  const b = cfg.backbone;
  let channels: number[];
  if (b.kind === 'swin') {
    const C0 = b.embedDim;
    f32(`${E}.model.embeddings.patch_embeddings.projection.weight`, C0, 3, 4, 4);
    f32(`${E}.model.embeddings.patch_embeddings.projection.bias`, C0);
    ln(`${E}.model.embeddings.norm`, C0);
    channels = b.depths.map((_, s) => C0 * 2 ** s);
    b.depths.forEach((depth, s) => {
      const C = channels[s] as number;
      const mlp = Math.trunc(b.mlpRatio * C);
      for (let k = 0; k < depth; k++) {
        const p = `${E}.model.encoder.layers.${s}.blocks.${k}`;
        ln(`${p}.layernorm_before`, C);
        f32(`${p}.attention.self.relative_position_bias_table`, (2 * b.windowSize - 1) ** 2, b.numHeads[s] as number);
        i64(`${p}.attention.self.relative_position_index`, b.windowSize ** 2, b.windowSize ** 2);
        for (const n of ['query', 'key', 'value']) lin(`${p}.attention.self.${n}`, C, C);
        lin(`${p}.attention.output.dense`, C, C);
        ln(`${p}.layernorm_after`, C);
        lin(`${p}.intermediate.dense`, mlp, C);
        lin(`${p}.output.dense`, C, mlp);
      }
      if (s < b.depths.length - 1) {
        ln(`${E}.model.encoder.layers.${s}.downsample.norm`, 4 * C);
        lin(`${E}.model.encoder.layers.${s}.downsample.reduction`, 2 * C, 4 * C, false);
      }
    });
    ln(`${E}.model.layernorm`, channels[channels.length - 1] as number);
    channels.forEach((c, i) => ln(`${E}.hidden_states_norms.${i}`, c));
  } else {
    f32(`${E}.embedder.embedder.convolution.weight`, b.embeddingSize, 3, 7, 7);
    bn(`${E}.embedder.embedder.normalization`, b.embeddingSize);
    const conv = (k: string, o: number, i: number, ks: number): void => (f32(`${k}.convolution.weight`, o, i, ks, ks), bn(`${k}.normalization`, o));
    let cin = b.embeddingSize;
    b.hiddenSizes.forEach((out, s) => {
      const stride = s === 0 ? (b.downsampleInFirstStage ? 2 : 1) : 2;
      for (let l = 0; l < (b.depths[s] as number); l++) {
        const p = `${E}.encoder.stages.${s}.layers.${l}`;
        const inC = l === 0 ? cin : out;
        if (inC !== out || (l === 0 && stride !== 1)) conv(`${p}.shortcut`, out, inC, 1);
        if (b.layerType === 'bottleneck') {
          const r = Math.floor(out / 4);
          conv(`${p}.layer.0`, r, inC, 1);
          conv(`${p}.layer.1`, r, r, 3);
          conv(`${p}.layer.2`, out, r, 1);
        } else {
          conv(`${p}.layer.0`, out, inC, 3);
          conv(`${p}.layer.1`, out, out, 3);
        }
      }
      cin = out;
    });
    const all = [b.embeddingSize, ...b.hiddenSizes];
    channels = (b.outIndices ?? b.hiddenSizes.map((_, i) => i + 1)).map((i) => all[i] as number);
  }
  const P = 'model.pixel_level_module.decoder';
  const last = channels[channels.length - 1] as number;
  f32(`${P}.fpn.stem.0.weight`, cfg.fpn, last, 3, 3);
  ln(`${P}.fpn.stem.1`, cfg.fpn);
  channels.slice(0, -1).reverse().forEach((lat, i) => {
    f32(`${P}.fpn.layers.${i}.proj.0.weight`, cfg.fpn, lat, 1, 1);
    ln(`${P}.fpn.layers.${i}.proj.1`, cfg.fpn);
    f32(`${P}.fpn.layers.${i}.block.0.weight`, cfg.fpn, cfg.fpn, 3, 3);
    ln(`${P}.fpn.layers.${i}.block.1`, cfg.fpn);
  });
  f32(`${P}.mask_projection.weight`, cfg.mask, cfg.fpn, 3, 3);
  f32(`${P}.mask_projection.bias`, cfg.mask);
  const T = 'model.transformer_module';
  const D = cfg.dModel;
  f32(`${T}.queries_embedder.weight`, cfg.queries, D);
  if (last !== D) {
    f32(`${T}.input_projection.weight`, D, last, 1, 1);
    f32(`${T}.input_projection.bias`, D);
  }
  for (let j = 0; j < cfg.decoderLayers; j++) {
    const p = `${T}.decoder.layers.${j}`;
    for (const a of ['self_attn', 'encoder_attn']) for (const n of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) lin(`${p}.${a}.${n}`, D, D);
    ln(`${p}.self_attn_layer_norm`, D);
    ln(`${p}.encoder_attn_layer_norm`, D);
    lin(`${p}.fc1`, cfg.ffn, D);
    lin(`${p}.fc2`, D, cfg.ffn);
    ln(`${p}.final_layer_norm`, D);
  }
  ln(`${T}.decoder.layernorm`, D);
  lin('class_predictor', cfg.labels + 1, D);
  lin('mask_embedder.0.0', D, D);
  lin('mask_embedder.1.0', D, D);
  lin('mask_embedder.2.0', cfg.mask, D);
  f32('criterion.empty_weight', cfg.labels + 1);
  return { tensors: t, channels };
}

/** A config.json as transformers 4.47 writes it for `cfg` (keys equal to the defaults left out, as save_pretrained does). */
export function maskFormerConfigJson(cfg: MaskFormerShapeConfig): Record<string, unknown> {
  const b = cfg.backbone;
  const backbone_config: Record<string, unknown> =
    b.kind === 'swin'
      ? { model_type: 'maskformer-swin', embed_dim: b.embedDim, depths: b.depths, num_heads: b.numHeads, window_size: b.windowSize, out_features: ['stage1', 'stage2', 'stage3', 'stage4'], out_indices: [1, 2, 3, 4] }
      : {
          model_type: 'resnet', embedding_size: b.embeddingSize, hidden_sizes: b.hiddenSizes, depths: b.depths, layer_type: b.layerType,
          downsample_in_first_stage: b.downsampleInFirstStage,
          out_features: (b.outIndices ?? b.hiddenSizes.map((_, i) => i + 1)).map((i) => (i === 0 ? 'stem' : `stage${i}`)),
        };
  const decoder_config: Record<string, unknown> = { model_type: 'detr' };
  if (cfg.dModel !== 256) decoder_config.d_model = cfg.dModel;
  if (cfg.decoderLayers !== 6) decoder_config.decoder_layers = cfg.decoderLayers;
  if (cfg.heads !== 8) decoder_config.decoder_attention_heads = cfg.heads;
  if (cfg.ffn !== 2048) decoder_config.decoder_ffn_dim = cfg.ffn;
  if (cfg.queries !== 100) decoder_config.num_queries = cfg.queries;
  const id2label: Record<string, string> = {};
  for (let i = 0; i < cfg.labels; i++) id2label[String(i)] = `class_${i}`;
  return {
    architectures: ['MaskFormerForInstanceSegmentation'],
    model_type: 'maskformer',
    backbone_config,
    decoder_config,
    fpn_feature_size: cfg.fpn,
    mask_feature_size: cfg.mask,
    id2label,
    use_auxiliary_loss: false,
  };
}

/** Hub checkpoint shapes (facebook/maskformer-*, their README cards' backbones; DETR defaults; 100 queries). */
export const MASKFORMER_HUB: Readonly<Record<string, MaskFormerShapeConfig>> = (() => {
  const base = { fpn: 256, mask: 256, dModel: 256, decoderLayers: 6, ffn: 2048, heads: 8, queries: 100 };
  const swin = (embedDim: number, depths: number[], numHeads: number[], windowSize: number): MaskFormerBackboneShape => ({ kind: 'swin', embedDim, depths, numHeads, windowSize, mlpRatio: 4 });
  const resnet = (depths: number[]): MaskFormerBackboneShape => ({ kind: 'resnet', embeddingSize: 64, hiddenSizes: [256, 512, 1024, 2048], depths, layerType: 'bottleneck', downsampleInFirstStage: false });
  return {
    'maskformer-swin-tiny-coco': { ...base, backbone: swin(96, [2, 2, 6, 2], [3, 6, 12, 24], 7), labels: 133 },
    'maskformer-swin-small-coco': { ...base, backbone: swin(96, [2, 2, 18, 2], [3, 6, 12, 24], 7), labels: 133 },
    'maskformer-swin-base-ade': { ...base, backbone: swin(128, [2, 2, 18, 2], [4, 8, 16, 32], 12), labels: 150 },
    'maskformer-swin-large-ade': { ...base, backbone: swin(192, [2, 2, 18, 2], [6, 12, 24, 48], 12), labels: 150 },
    'maskformer-resnet50-ade': { ...base, backbone: resnet([3, 4, 6, 3]), labels: 150 },
    'maskformer-resnet101-cityscapes': { ...base, backbone: resnet([3, 4, 23, 3]), labels: 19 },
  };
})();
