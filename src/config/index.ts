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
