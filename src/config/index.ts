/** Config parsing: HF `config.json` / `preprocessor_config.json` -> resolved, validated objects. */

export {
  MASK2FORMER_DEFAULT_BACKBONE,
  MASK2FORMER_DEFAULTS,
  SWIN_DEFAULTS,
  parseMask2FormerConfig,
  type Mask2FormerConfig,
  type SwinBackboneConfig,
} from './mask2former.ts';
export {
  DEFAULT_MAX_PREPROCESS_EDGE,
  PIL_BILINEAR,
  PREPROCESSOR_DEFAULTS,
  parsePreprocessorConfig,
  resizeOutputSize,
  type PreprocessorConfig,
  type PreprocessorParseOptions,
  type ResizeSpec,
} from './preprocessor.ts';
export {
  ONEFORMER_DEFAULTS,
  ONEFORMER_DEFAULT_BACKBONE,
  parseClassInfo,
  parseOneFormerConfig,
  parseOneFormerPreprocessor,
  requireThingIds,
  type OneFormerConfig,
  type OneFormerMetadata,
  type OneFormerPreprocessorConfig,
} from './oneformer.ts';
export {
  DETR_DEFAULTS,
  MASKFORMER_DEFAULT_BACKBONE,
  MASKFORMER_DEFAULTS,
  RESNET_DEFAULTS,
  parseMaskFormerConfig,
  type DetrDecoderConfig,
  type MaskFormerConfig,
  type ResNetBackboneConfig,
} from './maskformer.ts';
