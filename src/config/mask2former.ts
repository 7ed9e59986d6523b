/**
 * `config.json` of a Hugging Face `Mask2FormerForUniversalSegmentation` checkpoint (Swin backbone),
 * narrowed from `unknown` into a fully-resolved, frozen, camelCase object.
 *
 * Defaults are HF's (transformers 4.47 `Mask2FormerConfig` / `SwinConfig`): `save_pretrained` omits
 * every `backbone_config` key equal to `SwinConfig()`'s default (window_size 7, embed_dim 96,
 * num_heads [3, 6, 12, 24], ...), and never writes `num_labels` (it is `len(id2label)`).
 */

import {
  type JsonObject,
  type Where,
  asObject,
  boolAt,
  child,
  configError,
  deepFreeze,
  intAt,
  intListAt,
  isObject,
  isUnset,
  keyOf,
  positiveNumberAt,
  show,
  stringAt,
  unsupported,
} from './validate.ts';
import { ConfigError } from '../errors.ts';

/** Swin backbone (`SwinBackbone`) as Mask2Former uses it; drop rates are ignored (inference only). */
export interface SwinBackboneConfig {
  /** 'maskformer-swin': HF's MaskFormerSwinConfig (MaskFormer), the same hyper-parameters and defaults. */
  readonly modelType: 'swin' | 'maskformer-swin';
  /** Pretraining image size; irrelevant at inference (Swin pads to any size). */
  readonly imageSize: number;
  readonly patchSize: number;
  /** Always 3 (RGB). */
  readonly numChannels: number;
  readonly embedDim: number;
  /** Blocks per stage, length 4. */
  readonly depths: readonly number[];
  /** Attention heads per stage, length 4; `embedDim * 2^i` is divisible by `numHeads[i]`. */
  readonly numHeads: readonly number[];
  readonly windowSize: number;
  readonly mlpRatio: number;
  readonly qkvBias: boolean;
  /** Exact (erf) GELU. */
  readonly hiddenAct: 'gelu';
  readonly layerNormEps: number;
  readonly useAbsoluteEmbeddings: false;
  /** `['stem', 'stage1', ..., 'stage4']` (derived from depths, as HF does). */
  readonly stageNames: readonly string[];
  /** Always `['stage1', 'stage2', 'stage3', 'stage4']` (validated). */
  readonly outFeatures: readonly string[];
  /** Always `[1, 2, 3, 4]` (validated; negative indices in the file are normalised). */
  readonly outIndices: readonly number[];
  /** Number of stages (= depths.length = 4). */
  readonly numLayers: number;
  /** Channels of each stage's output: `embedDim * 2^i`. */
  readonly stageChannels: readonly number[];
  /** Hidden size of each stage's MLP: `int(mlpRatio * stageChannels[i])` (HF `SwinIntermediate`). */
  readonly mlpHiddenDims: readonly number[];
  /** Channels after the last stage: `embedDim * 2^(numLayers - 1)` (HF recomputes `hidden_size`). */
  readonly hiddenSize: number;
}

/** Fully-resolved `Mask2FormerConfig`. */
export interface Mask2FormerConfig {
  readonly modelType: 'mask2former';
  /** `len(id2label)` (HF: `id2label` wins over a disagreeing `num_labels`). Class logits have numLabels + 1. */
  readonly numLabels: number;
  /** Label names by class index (keys converted from the JSON's strings). */
  readonly id2label: Readonly<Record<number, string>>;
  /** Pixel-decoder channels (deformable encoder, FPN); divisible by 32 (GroupNorm) and by numAttentionHeads. */
  readonly featureSize: number;
  /** Channels of the mask features (`mask_projection` output and mask-embedder output). */
  readonly maskFeatureSize: number;
  /** Transformer-decoder width; divisible by numAttentionHeads and even (sine position embedding). */
  readonly hiddenDim: number;
  /** FFN width of the deformable (pixel-decoder) encoder layers. */
  readonly encoderFeedforwardDim: number;
  /** FFN width of the transformer-decoder layers. */
  readonly dimFeedforward: number;
  /** Deformable encoder layers in the pixel decoder. */
  readonly encoderLayers: number;
  /** `decoder_layers` as written in config.json (predictions = decoderLayers, one per layer + the initial one). */
  readonly decoderLayers: number;
  /** Decoder layers HF actually builds: `decoderLayers - 1`. */
  readonly numInstantiatedDecoderLayers: number;
  /** Heads of deformable attention (pixel decoder) and of both decoder attentions. */
  readonly numAttentionHeads: number;
  readonly numQueries: number;
  readonly commonStride: number;
  /** Backbone strides `[4, 8, 16, 32]`; the last 3 feed the deformable encoder. */
  readonly featureStrides: readonly number[];
  /** Always 3: deformable-encoder / decoder-attention levels (strides 32, 16, 8). */
  readonly numFeatureLevels: number;
  /** `int(log2(min(featureStrides[-3:])) - log2(commonStride))` (1 for the defaults): `adapter_{i}` / `layer_{i}` count. */
  readonly numFpnLevels: number;
  /** FFN activation of the decoder (and the pixel-decoder encoder, which is hard-wired ReLU in HF). */
  readonly activation: 'relu';
  readonly preNorm: false;
  /** 1x1 input projection in the decoder even when featureSize == hiddenDim. */
  readonly enforceInputProjection: boolean;
  /** True when the transformer module has `input_projections` (featureSize != hiddenDim or enforced). */
  readonly hasDecoderInputProjection: boolean;
  /** Every LayerNorm outside Swin (pixel-decoder encoder, decoder): fixed 1e-5 in HF, not configurable. */
  readonly layerNormEps: number;
  /** GroupNorm in the pixel decoder: always 32 groups, eps 1e-5. */
  readonly groupNormGroups: number;
  readonly groupNormEps: number;
  /** Training-only values kept for completeness. */
  readonly ignoreValue: number;
  readonly noObjectWeight: number;
  readonly useAuxiliaryLoss: boolean;
  /** `output_auxiliary_logits` (null in files = off). */
  readonly outputAuxiliaryLogits: boolean;
  readonly backbone: SwinBackboneConfig;
}

/** `SwinConfig()` defaults (transformers `configuration_swin.py`): what `save_pretrained` leaves out. */
export const SWIN_DEFAULTS = {
  imageSize: 224,
  patchSize: 4,
  numChannels: 3,
  embedDim: 96,
  depths: [2, 2, 6, 2],
  numHeads: [3, 6, 12, 24],
  windowSize: 7,
  mlpRatio: 4.0,
  qkvBias: true,
  hiddenAct: 'gelu',
  useAbsoluteEmbeddings: false,
  layerNormEps: 1e-5,
} as const;

/**
 * The backbone `Mask2FormerConfig()` builds when `backbone_config` is absent: Swin with depths
 * [2, 2, 18, 2] (a Swin-S shape, despite HF's docstring mentioning swin-base-window12-384),
 * drop_path_rate 0.3, out_features stage1..stage4; every other key a `SwinConfig()` default.
 */
export const MASK2FORMER_DEFAULT_BACKBONE: JsonObject = {
  model_type: 'swin',
  image_size: 224,
  patch_size: 4,
  embed_dim: 96,
  depths: [2, 2, 18, 2],
  num_heads: [3, 6, 12, 24],
  window_size: 7,
  drop_path_rate: 0.3,
  use_absolute_embeddings: false,
  out_features: ['stage1', 'stage2', 'stage3', 'stage4'],
};

/** `Mask2FormerConfig()` top-level defaults. */
export const MASK2FORMER_DEFAULTS = {
  featureSize: 256,
  maskFeatureSize: 256,
  hiddenDim: 256,
  encoderFeedforwardDim: 1024,
  activationFunction: 'relu',
  encoderLayers: 6,
  decoderLayers: 10,
  numAttentionHeads: 8,
  dimFeedforward: 2048,
  preNorm: false,
  enforceInputProjection: false,
  commonStride: 4,
  ignoreValue: 255,
  numQueries: 100,
  noObjectWeight: 0.1,
  useAuxiliaryLoss: true,
  featureStrides: [4, 8, 16, 32],
} as const;

const NUM_STAGES = 4;
const REQUIRED_OUT_FEATURES = ['stage1', 'stage2', 'stage3', 'stage4'] as const;

/**
 * Parse and validate a Mask2Former `config.json`.
 *
 * @param json  the parsed JSON (`JSON.parse` output)
 * @param file  file name used in error messages
 * @throws ConfigError      a value is malformed or inconsistent (names the dotted key, expected vs got)
 * @throws UnsupportedError a valid HF option maskgpu does not implement (timm/hub backbones, non-Swin
 *                          backbones, pre-norm decoder, absolute position embeddings, non-ReLU/GELU activations)
 */
export function parseMask2FormerConfig(json: unknown, file = 'config.json'): Mask2FormerConfig {
  const top: Where = { file, path: '' };
  const obj = asObject(json, top, '(root)');

  const modelType = obj['model_type'];
  if (!isUnset(modelType) && modelType !== 'mask2former') {
    throw configError(top, 'model_type', '"mask2former"', modelType);
  }
  if (obj['is_video'] === true) throw unsupported(top, 'is_video', 'video Mask2Former is not supported (got true)');

  const backbone = parseBackbone(obj, top);
  const { numLabels, id2label } = parseLabels(obj, top);

  const featureSize = intAt(obj, 'feature_size', top, MASK2FORMER_DEFAULTS.featureSize);
  const maskFeatureSize = intAt(obj, 'mask_feature_size', top, MASK2FORMER_DEFAULTS.maskFeatureSize);
  const hiddenDim = intAt(obj, 'hidden_dim', top, MASK2FORMER_DEFAULTS.hiddenDim);
  const encoderFeedforwardDim = intAt(obj, 'encoder_feedforward_dim', top, MASK2FORMER_DEFAULTS.encoderFeedforwardDim);
  const dimFeedforward = intAt(obj, 'dim_feedforward', top, MASK2FORMER_DEFAULTS.dimFeedforward);
  const encoderLayers = intAt(obj, 'encoder_layers', top, MASK2FORMER_DEFAULTS.encoderLayers);
  // transformers v5 maps num_hidden_layers onto decoder_layers; 4.x always writes both (equal).
  const decoderLayers = isUnset(obj['decoder_layers']) && !isUnset(obj['num_hidden_layers'])
    ? intAt(obj, 'num_hidden_layers', top, undefined)
    : intAt(obj, 'decoder_layers', top, MASK2FORMER_DEFAULTS.decoderLayers);
  const numAttentionHeads = intAt(obj, 'num_attention_heads', top, MASK2FORMER_DEFAULTS.numAttentionHeads);
  const numQueries = intAt(obj, 'num_queries', top, MASK2FORMER_DEFAULTS.numQueries);
  const commonStride = intAt(obj, 'common_stride', top, MASK2FORMER_DEFAULTS.commonStride);
  const featureStrides = intListAt(obj, 'feature_strides', top, MASK2FORMER_DEFAULTS.featureStrides, { length: NUM_STAGES });
  const ignoreValue = intAt(obj, 'ignore_value', top, MASK2FORMER_DEFAULTS.ignoreValue, Number.MIN_SAFE_INTEGER);
  const noObjectWeight = positiveNumberAt(obj, 'no_object_weight', top, MASK2FORMER_DEFAULTS.noObjectWeight, true);
  const useAuxiliaryLoss = boolAt(obj, 'use_auxiliary_loss', top, MASK2FORMER_DEFAULTS.useAuxiliaryLoss);
  const outputAuxiliaryLogits = boolAt(obj, 'output_auxiliary_logits', top, false);
  const enforceInputProjection = boolAt(obj, 'enforce_input_projection', top, MASK2FORMER_DEFAULTS.enforceInputProjection);

  const activation = stringAt(obj, 'activation_function', top, MASK2FORMER_DEFAULTS.activationFunction);
  if (activation !== 'relu') throw unsupported(top, 'activation_function', `expected "relu", got ${show(activation)}`);
  if (boolAt(obj, 'pre_norm', top, MASK2FORMER_DEFAULTS.preNorm)) {
    throw unsupported(top, 'pre_norm', 'expected false (HF Mask2Former decoder layers are post-norm), got true');
  }

  // GroupNorm(32, feature_size) in input_projections / adapter / layer (torch requires divisibility).
  if (featureSize % 32 !== 0) throw configError(top, 'feature_size', 'a multiple of 32 (GroupNorm with 32 groups)', featureSize);
  // Multi-scale deformable attention splits feature_size over the heads.
  if (featureSize % numAttentionHeads !== 0) {
    throw new ConfigError(file, 'feature_size', `expected a multiple of num_attention_heads (${numAttentionHeads}), got ${featureSize}`);
  }
  if (hiddenDim % numAttentionHeads !== 0) {
    throw new ConfigError(file, 'hidden_dim', `expected a multiple of num_attention_heads (${numAttentionHeads}), got ${hiddenDim}`);
  }
  // The decoder's sine position embedding has hidden_dim / 2 features per axis.
  if (hiddenDim % 2 !== 0) throw configError(top, 'hidden_dim', 'an even number (sine position embedding)', hiddenDim);

  // HF: num_fpn_levels = int(np.log2(min(strides[-3:])) - np.log2(common_stride)).
  const minTransformerStride = Math.min(...featureStrides.slice(-3));
  const numFpnLevels = Math.trunc(Math.log2(minTransformerStride) - Math.log2(commonStride));
  if (numFpnLevels < 0 || numFpnLevels > NUM_STAGES - 3) {
    throw new ConfigError(
      file,
      'common_stride',
      `expected common_stride with 0 <= log2(${minTransformerStride}) - log2(common_stride) <= ${NUM_STAGES - 3} ` +
        `(min of feature_strides[-3:] = ${minTransformerStride}), got ${commonStride}`,
    );
  }

  return deepFreeze<Mask2FormerConfig>({
    modelType: 'mask2former',
    numLabels,
    id2label,
    featureSize,
    maskFeatureSize,
    hiddenDim,
    encoderFeedforwardDim,
    dimFeedforward,
    encoderLayers,
    decoderLayers,
    numInstantiatedDecoderLayers: decoderLayers - 1,
    numAttentionHeads,
    numQueries,
    commonStride,
    featureStrides,
    numFeatureLevels: 3,
    numFpnLevels,
    activation: 'relu',
    preNorm: false,
    enforceInputProjection,
    hasDecoderInputProjection: enforceInputProjection || featureSize !== hiddenDim,
    layerNormEps: 1e-5,
    groupNormGroups: 32,
    groupNormEps: 1e-5,
    ignoreValue,
    noObjectWeight,
    useAuxiliaryLoss,
    outputAuxiliaryLogits,
    backbone,
  });
}

/**
 * `id2label` (string keys -> numbers) and `num_labels`. HF's `PretrainedConfig`: with `id2label`
 * present, `num_labels` is `len(id2label)` (a disagreeing `num_labels` only logs a warning); without
 * it, `num_labels` (default 2) generates `LABEL_{i}` names.
 */
export function parseLabels(obj: JsonObject, top: Where): { numLabels: number; id2label: Record<number, string> } {
  const raw = obj['id2label'];
  const id2label: Record<number, string> = {};
  if (isUnset(raw)) {
    const numLabels = intAt(obj, 'num_labels', top, 2);
    for (let i = 0; i < numLabels; i++) id2label[i] = `LABEL_${i}`;
    return { numLabels, id2label };
  }
  if (!isObject(raw)) throw configError(top, 'id2label', 'an object {"<class index>": "<name>"}', raw);
  const where = child(top, 'id2label');
  for (const [key, name] of Object.entries(raw)) {
    // Python int(): optional sign and digits (HF converts keys with int(k)).
    if (!/^\s*\+?\d+\s*$/.test(key)) throw configError(top, 'id2label', 'non-negative integer keys', key);
    const index = Number(key);
    if (!Number.isSafeInteger(index)) throw configError(top, 'id2label', 'non-negative integer keys', key);
    if (typeof name !== 'string') throw configError(where, key, 'a string label name', name);
    if (index in id2label) throw configError(top, 'id2label', 'distinct keys', key);
    id2label[index] = name;
  }
  const numLabels = Object.keys(id2label).length;
  if (numLabels === 0) throw configError(top, 'id2label', 'at least one label', raw);
  // num_labels itself must at least be well-formed when written; id2label wins as in HF.
  intAt(obj, 'num_labels', top, numLabels);
  return { numLabels, id2label };
}

/** `backbone_config` (or HF's default Swin when absent), with the timm / hub-name paths rejected. */
function parseBackbone(obj: JsonObject, top: Where): SwinBackboneConfig {
  if (obj['use_timm_backbone'] === true) {
    throw unsupported(top, 'use_timm_backbone', 'timm backbones are not supported (expected false, got true)');
  }
  const raw = obj['backbone_config'];
  const backboneName = obj['backbone'];
  const hasKwargs = isObject(obj['backbone_kwargs']) && Object.keys(obj['backbone_kwargs']).length > 0;
  if (isUnset(raw)) {
    if (!isUnset(backboneName)) {
      throw unsupported(
        top,
        'backbone',
        `loading a backbone by name (${show(backboneName)}) is not supported; expected backbone_config with model_type "swin"`,
      );
    }
    if (hasKwargs) throw unsupported(top, 'backbone_kwargs', `expected null without backbone_config, got ${show(obj['backbone_kwargs'])}`);
    return parseSwin(MASK2FORMER_DEFAULT_BACKBONE, child(top, 'backbone_config'));
  }
  // HF verify_backbone_config_arguments: these combinations are errors in transformers itself.
  if (!isUnset(backboneName)) throw configError(top, 'backbone', 'null when backbone_config is given', backboneName);
  if (hasKwargs) throw configError(top, 'backbone_kwargs', 'null or {} when backbone_config is given', obj['backbone_kwargs']);
  if (!isObject(raw)) throw configError(top, 'backbone_config', 'an object', raw);
  return parseSwin(raw, child(top, 'backbone_config'));
}

/**
 * A Swin `backbone_config` (SwinConfig, or MaskFormerSwinConfig when `types` allows it). With
 * `forceAllStages`, out_features / out_indices are replaced by all four stages (HF's MaskFormer
 * does this for a "swin" backbone).
 */
export function parseSwin(obj: JsonObject, where: Where, types: readonly ('swin' | 'maskformer-swin')[] = ['swin'], forceAllStages = false): SwinBackboneConfig {
  const modelType = obj['model_type'];
  if (!types.includes(modelType as 'swin')) {
    throw unsupported(where, 'model_type', `only ${types.map((t) => `"${t}"`).join(' or ')} backbones are supported here, got ${show(modelType)}`);
  }
  const depths = intListAt(obj, 'depths', where, SWIN_DEFAULTS.depths, { length: NUM_STAGES });
  const numHeads = intListAt(obj, 'num_heads', where, SWIN_DEFAULTS.numHeads, { length: depths.length });
  const embedDim = intAt(obj, 'embed_dim', where, SWIN_DEFAULTS.embedDim);
  const windowSize = intAt(obj, 'window_size', where, SWIN_DEFAULTS.windowSize);
  const patchSize = intAt(obj, 'patch_size', where, SWIN_DEFAULTS.patchSize);
  const numChannels = intAt(obj, 'num_channels', where, SWIN_DEFAULTS.numChannels);
  if (numChannels !== 3) throw unsupported(where, 'num_channels', `expected 3 (RGB input), got ${numChannels}`);
  const mlpRatio = positiveNumberAt(obj, 'mlp_ratio', where, SWIN_DEFAULTS.mlpRatio);
  const qkvBias = boolAt(obj, 'qkv_bias', where, SWIN_DEFAULTS.qkvBias);
  const layerNormEps = positiveNumberAt(obj, 'layer_norm_eps', where, SWIN_DEFAULTS.layerNormEps);
  const hiddenAct = stringAt(obj, 'hidden_act', where, SWIN_DEFAULTS.hiddenAct);
  if (hiddenAct !== 'gelu') throw unsupported(where, 'hidden_act', `expected "gelu", got ${show(hiddenAct)}`);
  if (boolAt(obj, 'use_absolute_embeddings', where, SWIN_DEFAULTS.useAbsoluteEmbeddings)) {
    throw unsupported(where, 'use_absolute_embeddings', 'absolute position embeddings are not supported (expected false, got true)');
  }
  const rawImageSize = obj['image_size'];
  // image_size may be an int or [h, w]; only informative.
  const imageSize = Array.isArray(rawImageSize)
    ? intListAt(obj, 'image_size', where, undefined, { length: 2 })[0] ?? SWIN_DEFAULTS.imageSize
    : intAt(obj, 'image_size', where, SWIN_DEFAULTS.imageSize);

  const stageChannels = depths.map((_, i) => embedDim * 2 ** i);
  stageChannels.forEach((channels, i) => {
    const heads = numHeads[i] ?? 0;
    if (channels % heads !== 0) {
      throw new ConfigError(
        where.file,
        keyOf(where, 'num_heads'),
        `expected num_heads[${i}] to divide stage ${i + 1} channels (embed_dim ${embedDim} * 2^${i} = ${channels}), got ${heads} (num_heads ${show(numHeads)})`,
      );
    }
  });
  const mlpHiddenDims = stageChannels.map((c) => Math.trunc(mlpRatio * c));

  const stageNames = ['stem', ...depths.map((_, i) => `stage${i + 1}`)];
  const { outFeatures, outIndices } = forceAllStages
    ? { outFeatures: [...REQUIRED_OUT_FEATURES], outIndices: REQUIRED_OUT_FEATURES.map((n) => stageNames.indexOf(n)) }
    : alignOutFeatures(obj, where, stageNames);

  return {
    modelType: modelType as 'swin' | 'maskformer-swin',
    imageSize,
    patchSize,
    numChannels,
    embedDim,
    depths,
    numHeads,
    windowSize,
    mlpRatio,
    qkvBias,
    hiddenAct: 'gelu',
    layerNormEps,
    useAbsoluteEmbeddings: false,
    stageNames,
    outFeatures,
    outIndices,
    numLayers: depths.length,
    stageChannels,
    mlpHiddenDims,
    hiddenSize: embedDim * 2 ** (depths.length - 1),
  };
}

/**
 * HF `get_aligned_output_features_output_indices` (either list derives the other; neither = last
 * stage only), then maskgpu's requirement: exactly stage1..stage4 in order.
 */
function alignOutFeatures(
  obj: JsonObject,
  where: Where,
  stageNames: readonly string[],
): { outFeatures: readonly string[]; outIndices: readonly number[] } {
  const rawFeatures = obj['out_features'];
  const rawIndices = obj['out_indices'];
  const wantFeatures = [...REQUIRED_OUT_FEATURES];
  const wantIndices = wantFeatures.map((name) => stageNames.indexOf(name));

  let features: readonly string[] | undefined;
  if (!isUnset(rawFeatures)) {
    if (!Array.isArray(rawFeatures) || !rawFeatures.every((f): f is string => typeof f === 'string')) {
      throw configError(where, 'out_features', 'a list of stage names', rawFeatures);
    }
    features = rawFeatures;
  }
  let indices: readonly number[] | undefined;
  if (!isUnset(rawIndices)) {
    if (!Array.isArray(rawIndices) || !rawIndices.every((i): i is number => typeof i === 'number' && Number.isSafeInteger(i))) {
      throw configError(where, 'out_indices', 'a list of stage indices', rawIndices);
    }
    // Python negative indexing into stage_names.
    indices = rawIndices.map((i) => (i < 0 ? i + stageNames.length : i));
  }

  if (features === undefined && indices === undefined) {
    throw configError(
      where,
      'out_features',
      `${show(wantFeatures)} (neither out_features nor out_indices is set, so HF would output only the last stage)`,
      rawFeatures,
    );
  }
  if (features !== undefined && !sameList(features, wantFeatures)) {
    throw configError(where, 'out_features', `${show(wantFeatures)} (all four Swin stages, in order)`, rawFeatures);
  }
  if (indices !== undefined && !sameList(indices, wantIndices)) {
    throw configError(where, 'out_indices', `${show(wantIndices)} (all four Swin stages, in order)`, rawIndices);
  }
  return { outFeatures: wantFeatures, outIndices: wantIndices };
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
