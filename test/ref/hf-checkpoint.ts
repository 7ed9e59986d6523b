/**
 * What `Mask2FormerForUniversalSegmentation.state_dict()` holds for a config, written from the
 * Hugging Face module tree (transformers `modeling_mask2former.py`, `modeling_swin.py`), not from
 * `src/models`: the engine's binder is checked against this, so it must not share code with it.
 * Also synthesises checkpoints of any size (random weights, HF names, `save_pretrained` layout)
 * and the `config.json` HF writes for them.
 *
 * Module tree (keys relative to the nesting given; every Linear / Conv has `.weight` and, unless
 * noted, `.bias`):
 *
 *   model.pixel_level_module.encoder                  SwinBackbone
 *     embeddings.patch_embeddings.projection          Conv2d(3, C_0, 4, stride 4)
 *     embeddings.norm                                 LayerNorm(C_0)
 *     encoder.layers.{s}.blocks.{b}                   SwinLayer (C_s = embed_dim * 2^s, heads_s)
 *       layernorm_before, layernorm_after             LayerNorm(C_s)
 *       attention.self.{query,key,value}              Linear(C_s, C_s) (qkv_bias)
 *       attention.self.relative_position_bias_table   Parameter [(2ws-1)^2, heads_s]
 *       attention.self.relative_position_index        buffer, int64 [ws^2, ws^2]
 *       attention.output.dense                        Linear(C_s, C_s)
 *       intermediate.dense / output.dense             Linear(C_s, int(mlp_ratio C_s)) / back
 *     encoder.layers.{s}.downsample (s < 3)           SwinPatchMerging: norm LayerNorm(4C_s),
 *                                                     reduction Linear(4C_s, 2C_s, bias=False)
 *     hidden_states_norms.stage{1..4}                 LayerNorm(C_{s}) per out_feature
 *   model.pixel_level_module.decoder                  Mask2FormerPixelDecoder (F = feature_size)
 *     input_projections.{l}.{0: Conv2d(C_{3-l}, F, 1), 1: GroupNorm(32, F)}   l = 0 is stride 32
 *     level_embed                                     Parameter [3, F]
 *     encoder.layers.{i}                              Mask2FormerPixelDecoderEncoderLayer
 *       self_attn.sampling_offsets                    Linear(F, heads * 3 levels * 4 points * 2)
 *       self_attn.attention_weights                   Linear(F, heads * 3 * 4)
 *       self_attn.{value_proj, output_proj}           Linear(F, F)
 *       self_attn_layer_norm, final_layer_norm        LayerNorm(F)
 *       fc1, fc2                                      Linear(F, encoder_ffn), Linear(encoder_ffn, F)
 *     mask_projection                                 Conv2d(F, M, 1)
 *     adapter_1.{0: Conv2d(C_0, F, 1, bias=False), 1: GroupNorm(32, F)}
 *     layer_1.{0: Conv2d(F, F, 3, bias=False), 1: GroupNorm(32, F)}
 *   model.transformer_module                          Mask2FormerTransformerModule (D = hidden_dim)
 *     queries_embedder, queries_features              Embedding(Q, D)
 *     input_projections.{0,1,2}                       Conv2d(F, D, 1) only when F != D or enforced
 *                                                     (else an empty nn.Sequential: no keys)
 *     decoder.layers.{j} (j < decoder_layers - 1)     Mask2FormerMaskedAttentionDecoderLayer
 *       self_attn.{q,k,v,out}_proj                    Linear(D, D)
 *       cross_attn.in_proj_weight / in_proj_bias      nn.MultiheadAttention, packed [3D, D] / [3D]
 *       cross_attn.out_proj                           Linear(D, D)
 *       {self_attn, cross_attn, final}_layer_norm     LayerNorm(D)
 *       fc1, fc2                                      Linear(D, decoder_ffn), back
 *     decoder.layernorm                               LayerNorm(D)
 *     decoder.mask_predictor.mask_embedder.{0,1,2}.0  Linear D->D, D->D, D->M (PredictionBlock "0")
 *     level_embed                                     Embedding(3, D)
 *   class_predictor                                   Linear(D, labels + 1)
 *   criterion.empty_weight                            buffer [labels + 1] (ones, last no_object_weight)
 *
 * Fixed by HF, not by config: 4 backbone stages, feature strides [4, 8, 16, 32] with common
 * stride 4 (one FPN level: adapter_1 / layer_1), 3 deformable levels with 4 points, GroupNorm(32).
 */
import { writeSafetensors, type WritableTensor } from '../../src/weights/safetensors.ts';

/** The config values that decide the state dict's keys and shapes. */
export interface HfShapeConfig {
  /** Swin `embed_dim` (C_0). */
  readonly embedDim: number;
  /** Swin blocks per stage (4 stages). */
  readonly depths: readonly number[];
  /** Swin heads per stage. */
  readonly numHeads: readonly number[];
  readonly windowSize: number;
  /** Swin `mlp_ratio` (default 4). */
  readonly mlpRatio?: number;
  readonly featureSize: number;
  readonly maskFeatureSize: number;
  readonly hiddenDim: number;
  /** Deformable encoder layers in the pixel decoder. */
  readonly encoderLayers: number;
  /** `encoder_feedforward_dim`. */
  readonly encoderFfn: number;
  /** `decoder_layers` as in config.json: `decoderLayers - 1` layers exist. */
  readonly decoderLayers: number;
  /** `dim_feedforward`. */
  readonly decoderFfn: number;
  /** `num_attention_heads` (deformable attention and both decoder attentions). */
  readonly heads: number;
  readonly queries: number;
  readonly labels: number;
  readonly enforceInputProjection?: boolean;
}

/** How `randomCheckpoint` fills a tensor. */
export type InitKind =
  | 'weight' // Linear / Conv weight: N(0, 1/sqrt(fan_in))
  | 'bias' // Linear / Conv bias: N(0, 0.02)
  | 'norm-weight' // LayerNorm / GroupNorm gamma: 1 + N(0, 0.1)
  | 'norm-bias' // LayerNorm / GroupNorm beta: N(0, 0.05)
  | 'embedding' // query embeddings: N(0, 1)
  | 'level-embed' // level embeddings (pixel decoder Parameter, transformer Embedding): N(0, 0.5)
  | 'rel-table' // Swin relative_position_bias_table: N(0, 0.5)
  | 'rel-index' // Swin relative_position_index: the standard index, int64
  | 'empty-weight'; // criterion.empty_weight: ones, last = no_object_weight (0.1)

export interface HfTensorSpec {
  readonly shape: number[];
  readonly dtype: 'F32' | 'I64';
  readonly init: InitKind;
}

/** HF's fixed pixel-decoder constants. */
const FEATURE_LEVELS = 3;
const DEFORM_POINTS = 4;
const NO_OBJECT_WEIGHT = 0.1;

/**
 * Every key of `Mask2FormerForUniversalSegmentation(config).state_dict()` with its shape and
 * dtype, in module registration order (which `save_pretrained` does not keep: it sorts).
 */
export function stateDictShapes(cfg: HfShapeConfig): Map<string, HfTensorSpec> {
  const out = new Map<string, HfTensorSpec>();
  const add = (key: string, shape: number[], init: InitKind, dtype: 'F32' | 'I64' = 'F32'): void => {
    if (out.has(key)) throw new Error(`hf-checkpoint: duplicate key ${key}`);
    out.set(key, { shape, dtype, init });
  };
  const linear = (p: string, outF: number, inF: number, bias = true): void => {
    add(`${p}.weight`, [outF, inF], 'weight');
    if (bias) add(`${p}.bias`, [outF], 'bias');
  };
  const conv = (p: string, outC: number, inC: number, k: number, bias = true): void => {
    add(`${p}.weight`, [outC, inC, k, k], 'weight');
    if (bias) add(`${p}.bias`, [outC], 'bias');
  };
  const norm = (p: string, c: number): void => {
    add(`${p}.weight`, [c], 'norm-weight');
    add(`${p}.bias`, [c], 'norm-bias');
  };

  const { embedDim, depths, numHeads, windowSize: ws } = cfg;
  const mlpRatio = cfg.mlpRatio ?? 4;
  if (depths.length !== 4 || numHeads.length !== 4) throw new Error('hf-checkpoint: Mask2Former uses a 4-stage Swin');
  const C = depths.map((_, s) => embedDim * 2 ** s);
  const F = cfg.featureSize;
  const D = cfg.hiddenDim;
  const M = cfg.maskFeatureSize;

  // Swin backbone.
  const sw = 'model.pixel_level_module.encoder';
  conv(`${sw}.embeddings.patch_embeddings.projection`, C[0] as number, 3, 4);
  norm(`${sw}.embeddings.norm`, C[0] as number);
  depths.forEach((depth, s) => {
    const c = C[s] as number;
    const h = numHeads[s] as number;
    for (let b = 0; b < depth; b++) {
      const p = `${sw}.encoder.layers.${s}.blocks.${b}`;
      norm(`${p}.layernorm_before`, c);
      add(`${p}.attention.self.relative_position_bias_table`, [(2 * ws - 1) * (2 * ws - 1), h], 'rel-table');
      add(`${p}.attention.self.relative_position_index`, [ws * ws, ws * ws], 'rel-index', 'I64');
      linear(`${p}.attention.self.query`, c, c);
      linear(`${p}.attention.self.key`, c, c);
      linear(`${p}.attention.self.value`, c, c);
      linear(`${p}.attention.output.dense`, c, c);
      norm(`${p}.layernorm_after`, c);
      // SwinIntermediate: nn.Linear(dim, int(config.mlp_ratio * dim)).
      const hidden = Math.trunc(mlpRatio * c);
      linear(`${p}.intermediate.dense`, hidden, c);
      linear(`${p}.output.dense`, c, hidden);
    }
    if (s < depths.length - 1) {
      // SwinPatchMerging registers reduction before norm.
      linear(`${sw}.encoder.layers.${s}.downsample.reduction`, 2 * c, 4 * c, false);
      norm(`${sw}.encoder.layers.${s}.downsample.norm`, 4 * c);
    }
  });
  C.forEach((c, s) => norm(`${sw}.hidden_states_norms.stage${s + 1}`, c));

  // Pixel decoder.
  const pd = 'model.pixel_level_module.decoder';
  for (let l = 0; l < FEATURE_LEVELS; l++) {
    conv(`${pd}.input_projections.${l}.0`, F, C[3 - l] as number, 1);
    norm(`${pd}.input_projections.${l}.1`, F);
  }
  for (let i = 0; i < cfg.encoderLayers; i++) {
    const p = `${pd}.encoder.layers.${i}`;
    linear(`${p}.self_attn.sampling_offsets`, cfg.heads * FEATURE_LEVELS * DEFORM_POINTS * 2, F);
    linear(`${p}.self_attn.attention_weights`, cfg.heads * FEATURE_LEVELS * DEFORM_POINTS, F);
    linear(`${p}.self_attn.value_proj`, F, F);
    linear(`${p}.self_attn.output_proj`, F, F);
    norm(`${p}.self_attn_layer_norm`, F);
    linear(`${p}.fc1`, cfg.encoderFfn, F);
    linear(`${p}.fc2`, F, cfg.encoderFfn);
    norm(`${p}.final_layer_norm`, F);
  }
  add(`${pd}.level_embed`, [FEATURE_LEVELS, F], 'level-embed');
  conv(`${pd}.mask_projection`, M, F, 1);
  conv(`${pd}.adapter_1.0`, F, C[0] as number, 1, false);
  norm(`${pd}.adapter_1.1`, F);
  conv(`${pd}.layer_1.0`, F, F, 3, false);
  norm(`${pd}.layer_1.1`, F);

  // Transformer module.
  const tm = 'model.transformer_module';
  add(`${tm}.queries_embedder.weight`, [cfg.queries, D], 'embedding');
  add(`${tm}.queries_features.weight`, [cfg.queries, D], 'embedding');
  if (F !== D || cfg.enforceInputProjection === true) {
    for (let l = 0; l < FEATURE_LEVELS; l++) conv(`${tm}.input_projections.${l}`, D, F, 1);
  }
  for (let j = 0; j < cfg.decoderLayers - 1; j++) {
    const p = `${tm}.decoder.layers.${j}`;
    for (const proj of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) linear(`${p}.self_attn.${proj}`, D, D);
    norm(`${p}.self_attn_layer_norm`, D);
    add(`${p}.cross_attn.in_proj_weight`, [3 * D, D], 'weight');
    add(`${p}.cross_attn.in_proj_bias`, [3 * D], 'bias');
    linear(`${p}.cross_attn.out_proj`, D, D);
    norm(`${p}.cross_attn_layer_norm`, D);
    linear(`${p}.fc1`, cfg.decoderFfn, D);
    linear(`${p}.fc2`, D, cfg.decoderFfn);
    norm(`${p}.final_layer_norm`, D);
  }
  norm(`${tm}.decoder.layernorm`, D);
  linear(`${tm}.decoder.mask_predictor.mask_embedder.0.0`, D, D);
  linear(`${tm}.decoder.mask_predictor.mask_embedder.1.0`, D, D);
  linear(`${tm}.decoder.mask_predictor.mask_embedder.2.0`, M, D);
  add(`${tm}.level_embed.weight`, [FEATURE_LEVELS, D], 'level-embed');

  linear('class_predictor', cfg.labels + 1, D);
  add('criterion.empty_weight', [cfg.labels + 1], 'empty-weight');
  return out;
}

/** Learnable parameter count (`model.num_parameters()`): every F32 tensor but the loss buffer. */
export function parameterCount(cfg: HfShapeConfig): number {
  let n = 0;
  for (const [k, t] of stateDictShapes(cfg)) if (t.dtype === 'F32' && k !== 'criterion.empty_weight') n += numelOf(t.shape);
  return n;
}

function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The standard Swin `relative_position_index` [ws^2, ws^2]: for window tokens i = (h_i, w_i) and
 * j, `(h_i - h_j + ws - 1) * (2ws - 1) + (w_i - w_j + ws - 1)`.
 */
export function swinRelativePositionIndex(ws: number): BigInt64Array {
  const n = ws * ws;
  const out = new BigInt64Array(n * n);
  for (let i = 0; i < n; i++) {
    const hi = Math.floor(i / ws);
    const wi = i % ws;
    for (let j = 0; j < n; j++) {
      const hj = Math.floor(j / ws);
      const wj = j % ws;
      out[i * n + j] = BigInt((hi - hj + ws - 1) * (2 * ws - 1) + (wi - wj + ws - 1));
    }
  }
  return out;
}

/**
 * Fills `out` with N(mean, std) samples. xorshift128 state (4 x 32 bits, advanced in place) and the
 * Marsaglia polar method: no trig, both samples of a pair used, all on typed arrays, so 50M
 * values take about a second. Deterministic for a given state.
 */
function fillNormal(out: Float32Array, mean: number, std: number, s: Int32Array): void {
  // State kept as int32 (| 0) so V8 keeps it in small integers, never heap doubles.
  let x = s[0] as number;
  let y = s[1] as number;
  let z = s[2] as number;
  let w = s[3] as number;
  const n = out.length;
  const SCALE = 2 / 4294967296;
  let i = 0;
  while (i < n) {
    // Two uniforms in [-1, 1).
    let t = x ^ (x << 11);
    x = y;
    y = z;
    z = w;
    w = (w ^ (w >>> 19) ^ t ^ (t >>> 8)) | 0;
    const u = (w >>> 0) * SCALE - 1;
    t = x ^ (x << 11);
    x = y;
    y = z;
    z = w;
    w = (w ^ (w >>> 19) ^ t ^ (t >>> 8)) | 0;
    const v = (w >>> 0) * SCALE - 1;
    const r = u * u + v * v;
    if (r >= 1 || r === 0) continue;
    const f = std * Math.sqrt((-2 * Math.log(r)) / r);
    out[i++] = mean + u * f;
    if (i < n) out[i++] = mean + v * f;
  }
  s[0] = x;
  s[1] = y;
  s[2] = z;
  s[3] = w;
}

/** xorshift128 state from a seed (splitmix32-style scrambling; never all zero). */
function seedState(seed: number): Int32Array {
  const s = new Int32Array(4);
  let a = seed >>> 0;
  for (let k = 0; k < 4; k++) {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    s[k] = z ^ (z >>> 16);
  }
  if (s.every((v) => v === 0)) s[0] = 1;
  return s;
}

/** The tensors of a random checkpoint for `cfg` (see `InitKind` for the distributions). */
export function randomTensors(cfg: HfShapeConfig, seed: number): Record<string, WritableTensor> {
  const state = seedState(seed);
  const tensors: Record<string, WritableTensor> = {};
  const indexByWindow = new Map<number, BigInt64Array>();
  for (const [key, spec] of stateDictShapes(cfg)) {
    const n = numelOf(spec.shape);
    if (spec.dtype === 'I64') {
      const ws = Math.round(Math.sqrt(spec.shape[0] as number));
      let idx = indexByWindow.get(ws);
      if (!idx) indexByWindow.set(ws, (idx = swinRelativePositionIndex(ws)));
      tensors[key] = { dtype: 'I64', shape: spec.shape, data: idx };
      continue;
    }
    const data = new Float32Array(n);
    switch (spec.init) {
      case 'weight':
        fillNormal(data, 0, 1 / Math.sqrt(numelOf(spec.shape.slice(1))), state);
        break;
      case 'bias':
        fillNormal(data, 0, 0.02, state);
        break;
      case 'norm-weight':
        fillNormal(data, 1, 0.1, state);
        break;
      case 'norm-bias':
        fillNormal(data, 0, 0.05, state);
        break;
      case 'embedding':
        fillNormal(data, 0, 1, state);
        break;
      case 'level-embed':
      case 'rel-table':
        fillNormal(data, 0, 0.5, state);
        break;
      case 'empty-weight':
        data.fill(1);
        data[n - 1] = NO_OBJECT_WEIGHT;
        break;
      case 'rel-index':
        throw new Error(`hf-checkpoint: ${key} is int64`);
    }
    tensors[key] = { dtype: 'F32', shape: spec.shape, data };
  }
  return tensors;
}

/**
 * A `model.safetensors` for `cfg` with random weights, as `save_pretrained` writes it
 * (`__metadata__` `{"format": "pt"}`, tensors by dtype then name).
 */
export function randomCheckpoint(cfg: HfShapeConfig, seed: number): Uint8Array<ArrayBuffer> {
  return writeSafetensors(randomTensors(cfg, seed), { format: 'pt' });
}

const SWIN_DEFAULT_HEADS = [3, 6, 12, 24];
const sameList = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * The `config.json` transformers 4.47 `save_pretrained` writes for `cfg` (key set and order as in
 * the fixtures): every Mask2Former key, and a `backbone_config` without the keys equal to
 * `SwinConfig()`'s defaults (`embed_dim` 96, `num_heads` [3, 6, 12, 24], `window_size` 7,
 * `mlp_ratio` 4). `extra` overrides top-level keys; an `extra.backbone_config` object is merged
 * into the generated one (a key set to `undefined` there is removed).
 */
export function hfConfigJson(cfg: HfShapeConfig, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const backbone: Record<string, unknown> = {
    depths: [...cfg.depths],
    drop_path_rate: 0.3,
    ...(cfg.embedDim === 96 ? {} : { embed_dim: cfg.embedDim }),
    hidden_size: cfg.embedDim * 2 ** (cfg.depths.length - 1),
    ...((cfg.mlpRatio ?? 4) === 4 ? {} : { mlp_ratio: cfg.mlpRatio }),
    model_type: 'swin',
    ...(sameList(cfg.numHeads, SWIN_DEFAULT_HEADS) ? {} : { num_heads: [...cfg.numHeads] }),
    out_features: ['stage1', 'stage2', 'stage3', 'stage4'],
    out_indices: [1, 2, 3, 4],
    ...(cfg.windowSize === 7 ? {} : { window_size: cfg.windowSize }),
  };
  const { backbone_config: extraBackbone, ...extraTop } = extra;
  if (extraBackbone !== undefined && extraBackbone !== null && typeof extraBackbone === 'object') {
    for (const [k, v] of Object.entries(extraBackbone)) {
      if (v === undefined) delete backbone[k];
      else backbone[k] = v;
    }
  }
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  for (let i = 0; i < cfg.labels; i++) {
    id2label[String(i)] = `class_${i}`;
    label2id[`class_${i}`] = i;
  }
  return {
    activation_function: 'relu',
    architectures: ['Mask2FormerForUniversalSegmentation'],
    backbone: null,
    backbone_config: backbone,
    backbone_kwargs: null,
    class_weight: 2.0,
    common_stride: 4,
    decoder_layers: cfg.decoderLayers,
    dice_weight: 5.0,
    dim_feedforward: cfg.decoderFfn,
    dropout: 0.0,
    encoder_feedforward_dim: cfg.encoderFfn,
    encoder_layers: cfg.encoderLayers,
    enforce_input_projection: cfg.enforceInputProjection ?? false,
    feature_size: cfg.featureSize,
    feature_strides: [4, 8, 16, 32],
    hidden_dim: cfg.hiddenDim,
    id2label,
    ignore_value: 255,
    importance_sample_ratio: 0.75,
    init_std: 0.02,
    init_xavier_std: 1.0,
    label2id,
    mask_feature_size: cfg.maskFeatureSize,
    mask_weight: 5.0,
    model_type: 'mask2former',
    no_object_weight: NO_OBJECT_WEIGHT,
    num_attention_heads: cfg.heads,
    num_hidden_layers: cfg.decoderLayers,
    num_queries: cfg.queries,
    output_auxiliary_logits: null,
    oversample_ratio: 3.0,
    pre_norm: false,
    torch_dtype: 'float32',
    train_num_points: 12544,
    transformers_version: '4.47.0.dev0',
    use_auxiliary_loss: true,
    use_pretrained_backbone: false,
    use_timm_backbone: false,
    ...extraTop,
  };
}

/** Swin widths of the hub checkpoints (facebook/mask2former-swin-{tiny,small,base,large}-*). */
export const HUB_BACKBONES = {
  'swin-tiny': { embedDim: 96, depths: [2, 2, 6, 2], numHeads: [3, 6, 12, 24], windowSize: 7 },
  'swin-small': { embedDim: 96, depths: [2, 2, 18, 2], numHeads: [3, 6, 12, 24], windowSize: 7 },
  'swin-base': { embedDim: 128, depths: [2, 2, 18, 2], numHeads: [4, 8, 16, 32], windowSize: 12 },
  'swin-large': { embedDim: 192, depths: [2, 2, 18, 2], numHeads: [6, 12, 24, 48], windowSize: 12 },
} as const satisfies Record<string, Pick<HfShapeConfig, 'embedDim' | 'depths' | 'numHeads' | 'windowSize'>>;

export type HubBackbone = keyof typeof HUB_BACKBONES;

/** Label counts of the hub datasets. */
export const HUB_DATASETS = {
  'coco-panoptic': 133,
  'coco-instance': 80,
  'ade-semantic': 150,
  'cityscapes-semantic': 19,
} as const;

export type HubDataset = keyof typeof HUB_DATASETS;

/**
 * The shapes of `facebook/mask2former-<backbone>-<dataset>`: Mask2FormerConfig defaults (256 wide,
 * 6 encoder layers, decoder_layers 10, 8 heads) with 100 queries, 200 for Swin-L on COCO.
 */
export function hubShapeConfig(backbone: HubBackbone, dataset: HubDataset): HfShapeConfig {
  const b = HUB_BACKBONES[backbone];
  return {
    embedDim: b.embedDim,
    depths: b.depths,
    numHeads: b.numHeads,
    windowSize: b.windowSize,
    mlpRatio: 4,
    featureSize: 256,
    maskFeatureSize: 256,
    hiddenDim: 256,
    encoderLayers: 6,
    encoderFfn: 1024,
    decoderLayers: 10,
    decoderFfn: 2048,
    heads: 8,
    queries: backbone === 'swin-large' && dataset.startsWith('coco') ? 200 : 100,
    labels: HUB_DATASETS[dataset],
  };
}
