/**
 * `config.json` of a Hugging Face `MaskFormerForInstanceSegmentation` checkpoint, narrowed from
 * `unknown` into a resolved, frozen object.
 *
 * Defaults are HF's (transformers 4.47 `MaskFormerConfig`, `DetrConfig`, `MaskFormerSwinConfig`,
 * `ResNetConfig`): `save_pretrained` drops every `decoder_config` key equal to `DetrConfig()`'s
 * default (d_model 256, decoder_layers 6, decoder_attention_heads 8, decoder_ffn_dim 2048,
 * num_queries 100, activation_function "relu", ...) and every backbone key equal to its config
 * class default; `num_labels` is `len(id2label)`.
 */
import { ConfigError } from '../errors.ts';
import { parseLabels, parseSwin, type SwinBackboneConfig } from './mask2former.ts';
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
  positiveNumberAt,
  show,
  stringAt,
  unsupported,
} from './validate.ts';

/** HF `ResNetConfig` as a MaskFormer backbone (`ResNetBackbone`). */
export interface ResNetBackboneConfig {
  readonly modelType: 'resnet';
  readonly numChannels: number;
  /** Stem convolution (7x7/2) channels. */
  readonly embeddingSize: number;
  /** Output channels of each stage. */
  readonly hiddenSizes: readonly number[];
  /** Layers per stage. */
  readonly depths: readonly number[];
  readonly layerType: 'bottleneck' | 'basic';
  /** Activation of the stem and after each residual sum (inner conv layers are always ReLU in HF). */
  readonly hiddenAct: 'relu' | 'gelu';
  /** The first stage's first layer has stride 2 (else 1). */
  readonly downsampleInFirstStage: boolean;
  /** Bottleneck: the stride sits on the first 1x1 convolution instead of the 3x3. */
  readonly downsampleInBottleneck: boolean;
  /** `['stem', 'stage1', ...]`. */
  readonly stageNames: readonly string[];
  /** Output stages, indices into stageNames, increasing (0 = the stem after max-pool). */
  readonly outIndices: readonly number[];
  readonly outFeatures: readonly string[];
  /** Channels of stageNames[i]: [embeddingSize, ...hiddenSizes]. */
  readonly stageChannels: readonly number[];
}

/** The DETR decoder of MaskFormer (`decoder_config`, a DetrConfig). */
export interface DetrDecoderConfig {
  readonly dModel: number;
  readonly decoderLayers: number;
  readonly decoderAttentionHeads: number;
  readonly decoderFfnDim: number;
  readonly numQueries: number;
  readonly activation: 'relu' | 'gelu';
  /** DETR's own `auxiliary_loss`: layer-norm the state after every layer, inside the loop. */
  readonly auxiliaryLoss: boolean;
}

export interface MaskFormerConfig {
  readonly modelType: 'maskformer';
  readonly numLabels: number;
  readonly id2label: Readonly<Record<number, string>>;
  /** = decoder.numQueries. */
  readonly numQueries: number;
  /** FPN channels (GroupNorm with 32 groups: a multiple of 32). */
  readonly fpnFeatureSize: number;
  /** Mask-feature channels (mask_projection and mask-embedder output). */
  readonly maskFeatureSize: number;
  /** Heads applied to every decoder hidden state (auxiliary logits); the final logits are unchanged. */
  readonly useAuxiliaryLoss: boolean;
  readonly outputAuxiliaryLogits: boolean;
  readonly noObjectWeight: number;
  readonly decoder: DetrDecoderConfig;
  readonly backbone: SwinBackboneConfig | ResNetBackboneConfig;
  /** Channels of the backbone's output maps, in order (the last feeds the transformer). */
  readonly backboneChannels: readonly number[];
}

/** `DetrConfig()` defaults that matter at inference. */
export const DETR_DEFAULTS = {
  dModel: 256,
  decoderLayers: 6,
  decoderAttentionHeads: 8,
  decoderFfnDim: 2048,
  numQueries: 100,
  activationFunction: 'relu',
  auxiliaryLoss: false,
} as const;

/** `ResNetConfig()` defaults. */
export const RESNET_DEFAULTS = {
  numChannels: 3,
  embeddingSize: 64,
  hiddenSizes: [256, 512, 1024, 2048],
  depths: [3, 4, 6, 3],
  layerType: 'bottleneck',
  hiddenAct: 'relu',
  downsampleInFirstStage: false,
  downsampleInBottleneck: false,
} as const;

/** The backbone `MaskFormerConfig()` builds without `backbone_config` (swin-base-patch4-window12-384 shape). */
export const MASKFORMER_DEFAULT_BACKBONE: JsonObject = {
  model_type: 'swin',
  image_size: 384,
  num_channels: 3,
  patch_size: 4,
  embed_dim: 128,
  depths: [2, 2, 18, 2],
  num_heads: [4, 8, 16, 32],
  window_size: 12,
  drop_path_rate: 0.3,
  out_features: ['stage1', 'stage2', 'stage3', 'stage4'],
};

export const MASKFORMER_DEFAULTS = {
  fpnFeatureSize: 256,
  maskFeatureSize: 256,
  noObjectWeight: 0.1,
  useAuxiliaryLoss: false,
} as const;

/**
 * Parse and validate a MaskFormer `config.json`.
 *
 * @throws ConfigError      a malformed or inconsistent value (names the dotted key, expected vs got)
 * @throws UnsupportedError a valid HF option maskgpu does not implement (timm / named backbones,
 *                          backbones other than Swin and ResNet, decoders other than DETR, other activations)
 */
export function parseMaskFormerConfig(json: unknown, file = 'config.json'): MaskFormerConfig {
  const top: Where = { file, path: '' };
  const obj = asObject(json, top, '(root)');
  const modelType = obj['model_type'];
  if (!isUnset(modelType) && modelType !== 'maskformer') throw configError(top, 'model_type', '"maskformer"', modelType);
  const { numLabels, id2label } = parseLabels(obj, top);
  const backbone = parseBackbone(obj, top);
  const decoder = parseDecoder(obj, top);

  const fpnFeatureSize = intAt(obj, 'fpn_feature_size', top, MASKFORMER_DEFAULTS.fpnFeatureSize);
  if (fpnFeatureSize % 32 !== 0) throw configError(top, 'fpn_feature_size', 'a multiple of 32 (GroupNorm with 32 groups)', fpnFeatureSize);
  const maskFeatureSize = intAt(obj, 'mask_feature_size', top, MASKFORMER_DEFAULTS.maskFeatureSize);
  const backboneChannels = backbone.outIndices.map((i) => backbone.stageChannels[i - (backbone.modelType === 'resnet' ? 0 : 1)] as number);

  return deepFreeze<MaskFormerConfig>({
    modelType: 'maskformer',
    numLabels,
    id2label,
    numQueries: decoder.numQueries,
    fpnFeatureSize,
    maskFeatureSize,
    useAuxiliaryLoss: boolAt(obj, 'use_auxiliary_loss', top, MASKFORMER_DEFAULTS.useAuxiliaryLoss),
    outputAuxiliaryLogits: boolAt(obj, 'output_auxiliary_logits', top, false),
    noObjectWeight: positiveNumberAt(obj, 'no_object_weight', top, MASKFORMER_DEFAULTS.noObjectWeight, true),
    decoder,
    backbone,
    backboneChannels,
  });
}

function parseBackbone(obj: JsonObject, top: Where): SwinBackboneConfig | ResNetBackboneConfig {
  if (obj['use_timm_backbone'] === true) throw unsupported(top, 'use_timm_backbone', 'timm backbones are not supported (expected false, got true); supported backbones: swin, maskformer-swin, resnet');
  const raw = obj['backbone_config'];
  const name = obj['backbone'];
  const hasKwargs = isObject(obj['backbone_kwargs']) && Object.keys(obj['backbone_kwargs']).length > 0;
  const where = child(top, 'backbone_config');
  if (isUnset(raw)) {
    if (!isUnset(name)) throw unsupported(top, 'backbone', `loading a backbone by name (${show(name)}) is not supported; expected backbone_config (supported backbones: swin, maskformer-swin, resnet)`);
    if (hasKwargs) throw unsupported(top, 'backbone_kwargs', `expected null without backbone_config, got ${show(obj['backbone_kwargs'])}`);
    return parseSwin(MASKFORMER_DEFAULT_BACKBONE, where, ['swin'], true);
  }
  if (!isUnset(name)) throw configError(top, 'backbone', 'null when backbone_config is given', name);
  if (hasKwargs) throw configError(top, 'backbone_kwargs', 'null or {} when backbone_config is given', obj['backbone_kwargs']);
  if (!isObject(raw)) throw configError(top, 'backbone_config', 'an object', raw);
  const type = raw['model_type'];
  // HF converts a "swin" backbone to MaskFormerSwinConfig and forces all four stages out.
  if (type === 'swin') return parseSwin(raw, where, ['swin'], true);
  if (type === 'maskformer-swin') return parseSwin(raw, where, ['maskformer-swin']);
  if (type === 'resnet') return parseResNet(raw, where);
  throw unsupported(where, 'model_type', `MaskFormer backbone ${show(type)} is not supported; supported backbones: swin, maskformer-swin, resnet`);
}

function parseResNet(obj: JsonObject, where: Where): ResNetBackboneConfig {
  const numChannels = intAt(obj, 'num_channels', where, RESNET_DEFAULTS.numChannels);
  if (numChannels !== 3) throw unsupported(where, 'num_channels', `expected 3 (RGB input), got ${numChannels}`);
  const embeddingSize = intAt(obj, 'embedding_size', where, RESNET_DEFAULTS.embeddingSize);
  const hiddenSizes = intListAt(obj, 'hidden_sizes', where, RESNET_DEFAULTS.hiddenSizes);
  const depths = intListAt(obj, 'depths', where, RESNET_DEFAULTS.depths, { length: hiddenSizes.length });
  if (hiddenSizes.length === 0) throw configError(where, 'hidden_sizes', 'at least one stage', hiddenSizes);
  const layerType = stringAt(obj, 'layer_type', where, RESNET_DEFAULTS.layerType);
  if (layerType !== 'bottleneck' && layerType !== 'basic') throw configError(where, 'layer_type', '"bottleneck" or "basic"', layerType);
  if (layerType === 'bottleneck') {
    hiddenSizes.forEach((h, i) => {
      // Bottleneck reduces to out / 4 channels (HF: out_channels // reduction); 0 would be an empty conv.
      if (Math.floor(h / 4) < 1) throw new ConfigError(where.file, `${where.path}.hidden_sizes`, `expected every size >= 4 for bottleneck layers, got ${h} at stage ${i + 1}`);
    });
  }
  const hiddenAct = stringAt(obj, 'hidden_act', where, RESNET_DEFAULTS.hiddenAct);
  if (hiddenAct !== 'relu' && hiddenAct !== 'gelu') throw unsupported(where, 'hidden_act', `expected "relu" or "gelu", got ${show(hiddenAct)}`);
  const stageNames = ['stem', ...hiddenSizes.map((_, i) => `stage${i + 1}`)];
  const { outFeatures, outIndices } = alignResNetOutputs(obj, where, stageNames);
  return {
    modelType: 'resnet',
    numChannels,
    embeddingSize,
    hiddenSizes,
    depths,
    layerType,
    hiddenAct,
    downsampleInFirstStage: boolAt(obj, 'downsample_in_first_stage', where, RESNET_DEFAULTS.downsampleInFirstStage),
    downsampleInBottleneck: boolAt(obj, 'downsample_in_bottleneck', where, RESNET_DEFAULTS.downsampleInBottleneck),
    stageNames,
    outIndices,
    outFeatures,
    stageChannels: [embeddingSize, ...hiddenSizes],
  };
}

/**
 * HF `get_aligned_output_features_output_indices` (neither set: the last stage only; one derives
 * the other; both must agree), then MaskFormer's need: at least two maps (the FPN has a stem and
 * one lateral level at least), in stage order.
 */
function alignResNetOutputs(obj: JsonObject, where: Where, stageNames: readonly string[]): { outFeatures: string[]; outIndices: number[] } {
  const rawF = obj['out_features'];
  const rawI = obj['out_indices'];
  let features: string[] | undefined;
  let indices: number[] | undefined;
  if (!isUnset(rawF)) {
    if (!Array.isArray(rawF) || !rawF.every((f): f is string => typeof f === 'string' && stageNames.includes(f))) {
      throw configError(where, 'out_features', `a list of stage names from ${show(stageNames)}`, rawF);
    }
    features = rawF;
  }
  if (!isUnset(rawI)) {
    if (!Array.isArray(rawI) || !rawI.every((i): i is number => typeof i === 'number' && Number.isSafeInteger(i) && i >= -stageNames.length && i < stageNames.length)) {
      throw configError(where, 'out_indices', `a list of stage indices into ${show(stageNames)}`, rawI);
    }
    indices = rawI.map((i) => (i < 0 ? i + stageNames.length : i));
  }
  if (features === undefined && indices === undefined) indices = [stageNames.length - 1];
  if (features !== undefined && indices !== undefined) {
    const derived = features.map((f) => stageNames.indexOf(f));
    if (derived.length !== indices.length || derived.some((d, i) => d !== indices?.[i])) {
      throw configError(where, 'out_indices', `indices matching out_features ${show(features)} (${show(derived)})`, rawI);
    }
  }
  const outIndices = indices ?? (features as string[]).map((f) => stageNames.indexOf(f));
  const outFeatures = outIndices.map((i) => stageNames[i] as string);
  if (outIndices.some((v, i) => i > 0 && v <= (outIndices[i - 1] as number))) {
    throw configError(where, 'out_features', 'stages in increasing order without repeats', rawF ?? rawI);
  }
  if (outIndices.length < 2) {
    throw configError(where, 'out_features', 'at least two output stages (MaskFormer\'s FPN needs a stem map and a lateral map)', rawF ?? rawI ?? null);
  }
  return { outFeatures, outIndices };
}

function parseDecoder(obj: JsonObject, top: Where): DetrDecoderConfig {
  const raw = obj['decoder_config'];
  const where = child(top, 'decoder_config');
  const d: JsonObject = isUnset(raw) ? {} : isObject(raw) ? raw : (() => { throw configError(top, 'decoder_config', 'an object', raw); })();
  const type = d['model_type'];
  if (!isUnset(type) && type !== 'detr') throw unsupported(where, 'model_type', `MaskFormer decoder ${show(type)} is not supported; supported decoders: detr`);
  const dModel = intAt(d, 'd_model', where, DETR_DEFAULTS.dModel);
  const decoderLayers = intAt(d, 'decoder_layers', where, DETR_DEFAULTS.decoderLayers);
  const decoderAttentionHeads = intAt(d, 'decoder_attention_heads', where, DETR_DEFAULTS.decoderAttentionHeads);
  const decoderFfnDim = intAt(d, 'decoder_ffn_dim', where, DETR_DEFAULTS.decoderFfnDim);
  const numQueries = intAt(d, 'num_queries', where, DETR_DEFAULTS.numQueries);
  const activation = stringAt(d, 'activation_function', where, DETR_DEFAULTS.activationFunction);
  if (activation !== 'relu' && activation !== 'gelu') throw unsupported(where, 'activation_function', `expected "relu" or "gelu", got ${show(activation)}`);
  if (dModel % decoderAttentionHeads !== 0) {
    throw new ConfigError(top.file, `${where.path}.d_model`, `expected a multiple of decoder_attention_heads (${decoderAttentionHeads}), got ${dModel}`);
  }
  if (dModel % 2 !== 0) throw configError(where, 'd_model', 'an even number (sine position embedding)', dModel);
  return {
    dModel,
    decoderLayers,
    decoderAttentionHeads,
    decoderFfnDim,
    numQueries,
    activation,
    auxiliaryLoss: boolAt(d, 'auxiliary_loss', where, DETR_DEFAULTS.auxiliaryLoss),
  };
}
