/**
 * `config.json` of a Hugging Face `OneFormerForUniversalSegmentation` checkpoint (Swin backbone) and
 * OneFormer's `preprocessor_config.json` / `class_info.json`, narrowed from `unknown` into frozen,
 * camelCase objects.
 *
 * Defaults are HF's (`OneFormerConfig()`, transformers 4.47): `save_pretrained` writes every
 * top-level key, but `backbone_config` drops keys equal to `SwinConfig()`'s defaults, and without a
 * `backbone_config` OneFormer builds a Swin-T (depths [2, 2, 6, 2], unlike Mask2Former's [2, 2, 18, 2]).
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
  positiveNumberAt,
  show,
  stringAt,
  unsupported,
} from './validate.ts';
import { parseLabels, parseSwin, type SwinBackboneConfig } from './mask2former.ts';
import { parsePreprocessorConfig, type PreprocessorConfig, type PreprocessorParseOptions } from './preprocessor.ts';
import { ConfigError } from '../errors.ts';

/** Fully-resolved `OneFormerConfig` (inference paths only: `is_training` false). */
export interface OneFormerConfig {
  readonly modelType: 'oneformer';
  /** `len(id2label)`; class logits have numLabels + 1. */
  readonly numLabels: number;
  readonly id2label: Readonly<Record<number, string>>;
  /** Pixel-decoder channels (`conv_dim`): deformable encoder, FPN; divisible by 32 and by numAttentionHeads. */
  readonly convDim: number;
  /** Mask-feature channels (`mask_dim`); HF requires mask_dim == conv_dim (query_input_projection). */
  readonly maskDim: number;
  /** Transformer-decoder width (`hidden_dim`). */
  readonly hiddenDim: number;
  readonly encoderFeedforwardDim: number;
  /** FFN width of the masked-attention decoder layers and of the query transformer layers. */
  readonly dimFeedforward: number;
  readonly encoderLayers: number;
  /** `decoder_layers` as written; HF builds `decoderLayers - 1` layers. */
  readonly decoderLayers: number;
  readonly numInstantiatedDecoderLayers: number;
  /** Heads of deformable attention, the query transformer and the masked decoder. */
  readonly numAttentionHeads: number;
  /** Q: Q - 1 queries come from the query transformer, the last is the task token. */
  readonly numQueries: number;
  /** Post-norm DETR layers of the query transformer. */
  readonly queryDecLayers: number;
  /** Length of `task_inputs` (= task_mlp input width). */
  readonly taskSeqLen: number;
  /** `decoder_norm` of the task token before use (and the query transformer starts from it). */
  readonly useTaskNorm: boolean;
  readonly commonStride: number;
  /** Backbone strides `[4, 8, 16, 32]` (`strides`). */
  readonly strides: readonly number[];
  /** Always 3. */
  readonly numFeatureLevels: number;
  readonly numFpnLevels: number;
  readonly enforceInputProj: boolean;
  /** `input_projections` in the transformer module (conv_dim != hidden_dim or enforced). */
  readonly hasDecoderInputProjection: boolean;
  /** `layer_norm_eps`: every LayerNorm outside Swin (pixel-decoder encoder, query transformer, decoder). */
  readonly layerNormEps: number;
  readonly groupNormGroups: number;
  readonly groupNormEps: number;
  readonly useAuxiliaryLoss: boolean;
  readonly outputAuxiliaryLogits: boolean;
  readonly backbone: SwinBackboneConfig;
}

/** `OneFormerConfig()` top-level defaults. */
export const ONEFORMER_DEFAULTS = {
  numQueries: 150,
  convDim: 256,
  maskDim: 256,
  hiddenDim: 256,
  encoderFeedforwardDim: 1024,
  norm: 'GN',
  encoderLayers: 6,
  decoderLayers: 10,
  useTaskNorm: true,
  numAttentionHeads: 8,
  dimFeedforward: 2048,
  preNorm: false,
  enforceInputProj: false,
  queryDecLayers: 2,
  commonStride: 4,
  strides: [4, 8, 16, 32],
  taskSeqLen: 77,
  layerNormEps: 1e-5,
  isTraining: false,
  useAuxiliaryLoss: true,
  outputAuxiliaryLogits: true,
} as const;

/** The backbone `OneFormerConfig()` builds when `backbone_config` and `backbone` are absent. */
export const ONEFORMER_DEFAULT_BACKBONE: JsonObject = {
  model_type: 'swin',
  image_size: 224,
  patch_size: 4,
  embed_dim: 96,
  depths: [2, 2, 6, 2],
  num_heads: [3, 6, 12, 24],
  window_size: 7,
  drop_path_rate: 0.3,
  use_absolute_embeddings: false,
  out_features: ['stage1', 'stage2', 'stage3', 'stage4'],
};

/**
 * Parse and validate a OneFormer `config.json`.
 * @throws ConfigError      malformed or inconsistent values (dotted key, expected vs got)
 * @throws UnsupportedError valid HF options maskgpu does not implement (`is_training`, non-Swin backbones, pre-norm)
 */
export function parseOneFormerConfig(json: unknown, file = 'config.json'): OneFormerConfig {
  const top: Where = { file, path: '' };
  const obj = asObject(json, top, '(root)');
  const modelType = obj['model_type'];
  if (!isUnset(modelType) && modelType !== 'oneformer') throw configError(top, 'model_type', '"oneformer"', modelType);
  if (boolAt(obj, 'is_training', top, ONEFORMER_DEFAULTS.isTraining)) {
    throw unsupported(top, 'is_training', 'expected false: the training path (text mapper, dropout inside the pixel decoder) is not supported, got true');
  }
  if (obj['use_pretrained_backbone'] === true) throw configError(top, 'use_pretrained_backbone', 'false (HF: "Pretrained backbones are not supported yet")', true);

  const backbone = parseBackbone(obj, top);
  const { numLabels, id2label } = parseLabels(obj, top);

  const convDim = intAt(obj, 'conv_dim', top, ONEFORMER_DEFAULTS.convDim);
  const maskDim = intAt(obj, 'mask_dim', top, ONEFORMER_DEFAULTS.maskDim);
  const hiddenDim = intAt(obj, 'hidden_dim', top, ONEFORMER_DEFAULTS.hiddenDim);
  const encoderFeedforwardDim = intAt(obj, 'encoder_feedforward_dim', top, ONEFORMER_DEFAULTS.encoderFeedforwardDim);
  const dimFeedforward = intAt(obj, 'dim_feedforward', top, ONEFORMER_DEFAULTS.dimFeedforward);
  const encoderLayers = intAt(obj, 'encoder_layers', top, ONEFORMER_DEFAULTS.encoderLayers);
  const decoderLayers = intAt(obj, 'decoder_layers', top, ONEFORMER_DEFAULTS.decoderLayers);
  const numAttentionHeads = intAt(obj, 'num_attention_heads', top, ONEFORMER_DEFAULTS.numAttentionHeads);
  const numQueries = intAt(obj, 'num_queries', top, ONEFORMER_DEFAULTS.numQueries);
  const queryDecLayers = intAt(obj, 'query_dec_layers', top, ONEFORMER_DEFAULTS.queryDecLayers);
  const taskSeqLen = intAt(obj, 'task_seq_len', top, ONEFORMER_DEFAULTS.taskSeqLen);
  const useTaskNorm = boolAt(obj, 'use_task_norm', top, ONEFORMER_DEFAULTS.useTaskNorm);
  const commonStride = intAt(obj, 'common_stride', top, ONEFORMER_DEFAULTS.commonStride);
  const strides = intListAt(obj, 'strides', top, ONEFORMER_DEFAULTS.strides, { length: 4 });
  const enforceInputProj = boolAt(obj, 'enforce_input_proj', top, ONEFORMER_DEFAULTS.enforceInputProj);
  const layerNormEps = positiveNumberAt(obj, 'layer_norm_eps', top, ONEFORMER_DEFAULTS.layerNormEps);
  const useAuxiliaryLoss = boolAt(obj, 'use_auxiliary_loss', top, ONEFORMER_DEFAULTS.useAuxiliaryLoss);
  const outputAuxiliaryLogits = boolAt(obj, 'output_auxiliary_logits', top, ONEFORMER_DEFAULTS.outputAuxiliaryLogits);

  const norm = stringAt(obj, 'norm', top, ONEFORMER_DEFAULTS.norm);
  if (norm !== 'GN') throw unsupported(top, 'norm', `expected "GN" (HF builds GroupNorm whatever this says), got ${show(norm)}`);
  if (boolAt(obj, 'pre_norm', top, ONEFORMER_DEFAULTS.preNorm)) throw unsupported(top, 'pre_norm', 'expected false (post-norm decoder layers), got true');
  if (decoderLayers < 2) throw configError(top, 'decoder_layers', 'an integer >= 2 (HF builds decoder_layers - 1 layers)', decoderLayers);
  if (numQueries < 2) throw configError(top, 'num_queries', 'an integer >= 2 (num_queries - 1 object queries plus the task token)', numQueries);
  // query_input_projection is Conv2d(conv_dim, hidden_dim) applied to the mask features (mask_dim channels).
  if (maskDim !== convDim) throw new ConfigError(file, 'mask_dim', `expected mask_dim == conv_dim (${convDim}): query_input_projection reads the mask features with conv_dim input channels; got ${maskDim}`);
  if (convDim % 32 !== 0) throw configError(top, 'conv_dim', 'a multiple of 32 (GroupNorm with 32 groups)', convDim);
  if (convDim % numAttentionHeads !== 0) throw new ConfigError(file, 'conv_dim', `expected a multiple of num_attention_heads (${numAttentionHeads}), got ${convDim}`);
  if (hiddenDim % numAttentionHeads !== 0) throw new ConfigError(file, 'hidden_dim', `expected a multiple of num_attention_heads (${numAttentionHeads}), got ${hiddenDim}`);
  if (hiddenDim % 2 !== 0) throw configError(top, 'hidden_dim', 'an even number (sine position embedding)', hiddenDim);

  const minTransformerStride = Math.min(...strides.slice(-3));
  const numFpnLevels = Math.trunc(Math.log2(minTransformerStride) - Math.log2(commonStride));
  if (numFpnLevels < 0 || numFpnLevels > 1) {
    throw new ConfigError(file, 'common_stride', `expected 0 <= log2(${minTransformerStride}) - log2(common_stride) <= 1 (min of strides[-3:] = ${minTransformerStride}), got ${commonStride}`);
  }

  return deepFreeze<OneFormerConfig>({
    modelType: 'oneformer',
    numLabels,
    id2label,
    convDim,
    maskDim,
    hiddenDim,
    encoderFeedforwardDim,
    dimFeedforward,
    encoderLayers,
    decoderLayers,
    numInstantiatedDecoderLayers: decoderLayers - 1,
    numAttentionHeads,
    numQueries,
    queryDecLayers,
    taskSeqLen,
    useTaskNorm,
    commonStride,
    strides,
    numFeatureLevels: 3,
    numFpnLevels,
    enforceInputProj,
    hasDecoderInputProjection: enforceInputProj || convDim !== hiddenDim,
    layerNormEps,
    groupNormGroups: 32,
    groupNormEps: 1e-5,
    useAuxiliaryLoss,
    outputAuxiliaryLogits,
    backbone,
  });
}

function parseBackbone(obj: JsonObject, top: Where): SwinBackboneConfig {
  if (obj['use_timm_backbone'] === true) throw unsupported(top, 'use_timm_backbone', 'timm backbones are not supported (expected false, got true)');
  const raw = obj['backbone_config'];
  const name = obj['backbone'];
  if (isUnset(raw)) {
    if (!isUnset(name)) throw unsupported(top, 'backbone', `loading a backbone by name (${show(name)}) is not supported; expected backbone_config with model_type "swin"`);
    return parseSwin(ONEFORMER_DEFAULT_BACKBONE, child(top, 'backbone_config'));
  }
  if (!isUnset(name)) throw configError(top, 'backbone', 'null when backbone_config is given', name);
  if (!isObject(raw)) throw configError(top, 'backbone_config', 'an object', raw);
  return parseSwin(raw, child(top, 'backbone_config'));
}

/** OneFormer's class metadata: names by id and the "thing" classes (instance post-processing with task_type "panoptic"). */
export interface OneFormerMetadata {
  readonly classNames: readonly string[];
  readonly names: Readonly<Record<number, string>>;
  readonly thingIds: readonly number[];
  /** Where it came from, for messages. */
  readonly source: string;
}

/** `OneFormerImageProcessor` settings: Mask2Former's resize and normalisation without a size divisor, plus metadata. */
export interface OneFormerPreprocessorConfig extends PreprocessorConfig {
  readonly sizeDivisor: 0;
  /** `class_info_file` as written (hub checkpoints name a file of the `shi-labs/oneformer_demo` dataset). */
  readonly classInfoFile: string | undefined;
  /** `metadata` from preprocessor_config.json, else the checkpoint folder's class_info file; undefined when neither exists. */
  readonly metadata: OneFormerMetadata | undefined;
}

/**
 * Parse OneFormer's `preprocessor_config.json`. `classInfo` is the checkpoint folder's class_info
 * file (the one `class_info_file` names), used when the preprocessor file carries no `metadata`.
 * `size_divisor` keys are ignored as HF's OneFormerImageProcessor ignores them.
 */
export function parseOneFormerPreprocessor(
  json: unknown,
  classInfo?: { readonly json: unknown; readonly file: string },
  file = 'preprocessor_config.json',
  options: PreprocessorParseOptions = {},
): OneFormerPreprocessorConfig {
  const top: Where = { file, path: '' };
  const obj = asObject(json ?? {}, top, '(root)');
  const base = parsePreprocessorConfig({ ...obj, size_divisor: 0, size_divisibility: 0 }, file, options);
  const classInfoFile = isUnset(obj['class_info_file']) ? undefined : stringAt(obj, 'class_info_file', top, '');
  let metadata: OneFormerMetadata | undefined;
  if (!isUnset(obj['metadata'])) metadata = parseMetadataObject(obj['metadata'], child(top, 'metadata'));
  else if (classInfo !== undefined) metadata = parseClassInfo(classInfo.json, classInfo.file);
  return deepFreeze<OneFormerPreprocessorConfig>({ ...base, sizeDivisor: 0, classInfoFile, metadata });
}

/** `metadata` as HF's `prepare_metadata` writes it: `{"<id>": name, ..., "class_names": [...], "thing_ids": [...]}`. */
function parseMetadataObject(raw: unknown, where: Where): OneFormerMetadata {
  if (!isObject(raw)) throw new ConfigError(where.file, where.path, `expected an object, got ${show(raw)}`);
  const thingIds = intListAt(raw, 'thing_ids', where, [], { min: 0 });
  const names: Record<number, string> = {};
  for (const [key, v] of Object.entries(raw)) {
    if (key === 'thing_ids' || key === 'class_names') continue;
    if (!/^\d+$/.test(key)) throw new ConfigError(where.file, `${where.path}.${key}`, 'expected a class id key, "class_names" or "thing_ids"');
    if (typeof v !== 'string') throw configError(where, key, 'a class name', v);
    names[Number(key)] = v;
  }
  const rawNames = raw['class_names'];
  let classNames: string[];
  if (isUnset(rawNames)) classNames = Object.keys(names).map(Number).sort((a, b) => a - b).map((k) => names[k] as string);
  else if (Array.isArray(rawNames) && rawNames.every((n): n is string => typeof n === 'string')) classNames = rawNames;
  else throw configError(where, 'class_names', 'a list of names', rawNames);
  return { classNames, names, thingIds, source: `${where.file}: ${where.path}` };
}

/** A class_info file (`{"<id>": {"name": ..., "isthing": 0|1}}`), as HF's `prepare_metadata` reads it. */
export function parseClassInfo(json: unknown, file: string): OneFormerMetadata {
  const top: Where = { file, path: '' };
  const obj = asObject(json, top, '(root)');
  const names: Record<number, string> = {};
  const classNames: string[] = [];
  const thingIds: number[] = [];
  for (const [key, info] of Object.entries(obj)) {
    if (!/^\d+$/.test(key)) throw configError(top, key, 'a class id key', key);
    if (!isObject(info)) throw configError(top, key, '{"name": ..., "isthing": 0 or 1}', info);
    const where = child(top, key);
    const name = info['name'];
    if (typeof name !== 'string') throw configError(where, 'name', 'a class name', name);
    const isThing = info['isthing'];
    if (isThing !== 0 && isThing !== 1 && isThing !== true && isThing !== false) throw configError(where, 'isthing', '0 or 1', isThing);
    names[Number(key)] = name;
    classNames.push(name);
    if (isThing === 1 || isThing === true) thingIds.push(Number(key));
  }
  return { classNames, names, thingIds, source: file };
}

/**
 * The "thing" class ids a task needs (HF: instance post-processing with task_type "panoptic"
 * keeps only these labels). A ConfigError saying where they could have come from when the
 * checkpoint has neither `metadata` in preprocessor_config.json nor its class_info file.
 */
export function requireThingIds(pre: Pick<OneFormerPreprocessorConfig, 'metadata' | 'classInfoFile'>, needs: string): readonly number[] {
  if (pre.metadata) return pre.metadata.thingIds;
  const file = pre.classInfoFile ?? 'class_info.json';
  throw new ConfigError(
    'preprocessor_config.json',
    'metadata',
    `${needs} needs OneFormer's class metadata (thing_ids), but preprocessor_config.json has no "metadata" and the checkpoint folder has no ${file} ` +
      `(HF reads class_info_file from the repo_path dataset, e.g. shi-labs/oneformer_demo): add that file to the folder`,
  );
}
