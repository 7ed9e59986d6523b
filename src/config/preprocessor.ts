/**
 * `preprocessor_config.json` of a Mask2Former or MaskFormer checkpoint (slow `Mask2FormerImageProcessor` /
 * `MaskFormerImageProcessor`, which resize, rescale, normalise and pad alike, or the
 * legacy `Mask2FormerFeatureExtractor` / `MaskFormerFeatureExtractor` keys of older hub checkpoints), and the processor's target-size rule.
 */

import {
  type JsonObject,
  type Where,
  asObject,
  boolAt,
  configError,
  deepFreeze,
  intAt,
  isObject,
  isUnset,
  optIntAt,
  optStringAt,
  positiveNumberAt,
  unsupported,
} from './validate.ts';
import { ConfigError, ImageError } from '../errors.ts';

/**
 * Default upper bound on every preprocessor size (pixels per side). Hub checkpoints use 384 to
 * 1333; 4096 keeps a 4096 x 4096 model input (hundreds of MB of activations for Swin-T) possible
 * while a config asking for 20000 or 16384 x 16384 (GBs of host and GPU memory) is refused.
 */
export const DEFAULT_MAX_PREPROCESS_EDGE = 4096;

export interface PreprocessorParseOptions {
  /** The largest accepted `size` / `max_size` value in pixels (default DEFAULT_MAX_PREPROCESS_EDGE). */
  readonly maxEdge?: number;
}

/** How the processor picks the target size before `sizeDivisor` rounding. */
export type ResizeSpec =
  /** Short side to `shortestEdge` (aspect kept, long side truncated), clamped so the long side <= `longestEdge`. */
  | { readonly kind: 'shortestEdge'; readonly shortestEdge: number; readonly longestEdge: number }
  /** Exactly `height` x `width` (aspect not kept). */
  | { readonly kind: 'fixed'; readonly height: number; readonly width: number };

/** Fully-resolved Mask2Former image-processor settings. */
export interface PreprocessorConfig {
  /** `image_processor_type` (or legacy `feature_extractor_type`), as written; undefined when absent. */
  readonly imageProcessorType: string | undefined;
  readonly doResize: boolean;
  readonly resize: ResizeSpec;
  /** Both resized sides are rounded UP to a multiple of this (stretching the image); 0 = off. */
  readonly sizeDivisor: number;
  /** PIL resampling filter; only 2 (BILINEAR, antialiased when shrinking) is supported. */
  readonly resample: 2;
  readonly doRescale: boolean;
  readonly rescaleFactor: number;
  readonly doNormalize: boolean;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  /** Label of ignored pixels in segmentation maps (training only); undefined when unset. */
  readonly ignoreIndex: number | undefined;
  /** Training only: labels - 1, background 0 -> ignoreIndex. */
  readonly doReduceLabels: boolean;
  readonly numLabels: number | undefined;
}

/** PIL `Image.Resampling.BILINEAR`. */
export const PIL_BILINEAR = 2;

/** `Mask2FormerImageProcessor()` defaults. */
export const PREPROCESSOR_DEFAULTS = {
  doResize: true,
  shortestEdge: 800,
  /** Also the default `max_size` for a legacy int `size`. */
  longestEdge: 1333,
  sizeDivisor: 32,
  resample: PIL_BILINEAR,
  doRescale: true,
  rescaleFactor: 1 / 255,
  doNormalize: true,
  imageMean: [0.485, 0.456, 0.406],
  imageStd: [0.229, 0.224, 0.225],
  doReduceLabels: false,
} as const;

const PIL_FILTER_NAMES: Readonly<Record<number, string>> = {
  0: 'NEAREST',
  1: 'LANCZOS',
  2: 'BILINEAR',
  3: 'BICUBIC',
  4: 'BOX',
  5: 'HAMMING',
};

/**
 * Parse and validate a Mask2Former `preprocessor_config.json`.
 *
 * Legacy keys are honoured as transformers does: int `size` = shortest edge with `max_size`
 * (default 1333) as longest edge; `size_divisibility` = `size_divisor` (the new name wins when both
 * are present); `reduce_labels` = `do_reduce_labels` (here the legacy key wins: `from_dict` copies it over).
 *
 * @throws ConfigError      a malformed or inconsistent value (names the key, expected vs got)
 * @throws UnsupportedError a resampling filter other than BILINEAR
 */
export function parsePreprocessorConfig(json: unknown, file = 'preprocessor_config.json', options: PreprocessorParseOptions = {}): PreprocessorConfig {
  const top: Where = { file, path: '' };
  const obj = asObject(json, top, '(root)');
  const maxEdge = options.maxEdge ?? DEFAULT_MAX_PREPROCESS_EDGE;

  const imageProcessorType = optStringAt(obj, 'image_processor_type', top) ?? optStringAt(obj, 'feature_extractor_type', top);
  const doResize = boolAt(obj, 'do_resize', top, PREPROCESSOR_DEFAULTS.doResize);
  const resize = parseSize(obj, top);
  checkEdges(resize, obj, top, maxEdge);

  const sizeDivisor = !isUnset(obj['size_divisor'])
    ? intAt(obj, 'size_divisor', top, undefined, 0)
    : intAt(obj, 'size_divisibility', top, PREPROCESSOR_DEFAULTS.sizeDivisor, 0);

  const resample = intAt(obj, 'resample', top, PREPROCESSOR_DEFAULTS.resample, 0);
  if (resample !== PIL_BILINEAR) {
    const name = PIL_FILTER_NAMES[resample];
    throw unsupported(top, 'resample', `only 2 (PIL BILINEAR) is supported, got ${resample}${name === undefined ? '' : ` (${name})`}`);
  }

  const doRescale = boolAt(obj, 'do_rescale', top, PREPROCESSOR_DEFAULTS.doRescale);
  const rescaleFactor = positiveNumberAt(obj, 'rescale_factor', top, PREPROCESSOR_DEFAULTS.rescaleFactor);
  const doNormalize = boolAt(obj, 'do_normalize', top, PREPROCESSOR_DEFAULTS.doNormalize);
  const imageMean = channelTriple(obj, 'image_mean', top, PREPROCESSOR_DEFAULTS.imageMean, false);
  const imageStd = channelTriple(obj, 'image_std', top, PREPROCESSOR_DEFAULTS.imageStd, true);

  const ignoreIndex = optIntAt(obj, 'ignore_index', top, Number.MIN_SAFE_INTEGER);
  const doReduceLabels = !isUnset(obj['reduce_labels'])
    ? boolAt(obj, 'reduce_labels', top, false)
    : boolAt(obj, 'do_reduce_labels', top, PREPROCESSOR_DEFAULTS.doReduceLabels);
  const numLabels = optIntAt(obj, 'num_labels', top, 1);

  return deepFreeze<PreprocessorConfig>({
    imageProcessorType,
    doResize,
    resize,
    sizeDivisor,
    resample: PIL_BILINEAR,
    doRescale,
    rescaleFactor,
    doNormalize,
    imageMean,
    imageStd,
    ignoreIndex,
    doReduceLabels,
    numLabels,
  });
}

/**
 * `size`: `{shortest_edge, longest_edge}`, `{height, width}`, `[height, width]`, a legacy int
 * (shortest edge, with `max_size` default 1333), or absent (800 / `max_size`). HF's `resize` rejects
 * any other dict (`{shortest_edge}` alone, `{longest_edge}`, `{max_height, max_width}`).
 */
function parseSize(obj: JsonObject, top: Where): ResizeSpec {
  const raw = obj['size'];
  const maxSize = intAt(obj, 'max_size', top, PREPROCESSOR_DEFAULTS.longestEdge);
  if (isUnset(raw)) return shortestEdge(PREPROCESSOR_DEFAULTS.shortestEdge, maxSize, top, 'max_size');
  if (typeof raw === 'number') {
    const short = intAt(obj, 'size', top, undefined);
    return shortestEdge(short, maxSize, top, 'max_size');
  }
  if (Array.isArray(raw)) {
    const items = raw as readonly unknown[];
    const ok = items.length === 2 && items.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0);
    if (!ok) throw configError(top, 'size', '[height, width] of positive integers', raw);
    return { kind: 'fixed', height: items[0] as number, width: items[1] as number };
  }
  if (!isObject(raw)) throw configError(top, 'size', 'an object, an integer or [height, width]', raw);
  const where: Where = { file: top.file, path: 'size' };
  const keys = Object.keys(raw).sort().join(',');
  if (keys === 'longest_edge,shortest_edge') {
    const short = intAt(raw, 'shortest_edge', where, undefined);
    const long = intAt(raw, 'longest_edge', where, undefined);
    return shortestEdge(short, long, where, 'longest_edge');
  }
  if (keys === 'height,width') {
    return { kind: 'fixed', height: intAt(raw, 'height', where, undefined), width: intAt(raw, 'width', where, undefined) };
  }
  throw configError(top, 'size', '{"shortest_edge", "longest_edge"} or {"height", "width"}', raw);
}

/** Every size the resize can produce must stay within `maxEdge` pixels per side. */
function checkEdges(spec: ResizeSpec, obj: JsonObject, top: Where, maxEdge: number): void {
  const size = obj['size'];
  const named = isObject(size) ? 'size.' : '';
  const sides: [string, number][] =
    spec.kind === 'fixed'
      ? [[isObject(size) ? 'size.height' : 'size[0]', spec.height], [isObject(size) ? 'size.width' : 'size[1]', spec.width]]
      : [
          [named ? 'size.shortest_edge' : 'size', spec.shortestEdge],
          [named ? 'size.longest_edge' : 'max_size', spec.longestEdge],
        ];
  for (const [key, value] of sides) {
    if (value > maxEdge) {
      throw new ConfigError(
        top.file,
        key,
        `${value} exceeds the limit of ${maxEdge} pixels per side; raise it with the load option maxPreprocessEdge`,
      );
    }
  }
}

function shortestEdge(short: number, long: number, where: Where, longKey: string): ResizeSpec {
  // HF get_resize_output_image_size raises when max_size <= the requested short side.
  if (long <= short) throw configError(where, longKey, `a value greater than the shortest edge ${short}`, long);
  return { kind: 'shortestEdge', shortestEdge: short, longestEdge: long };
}

/** A per-channel triple; a single number is broadcast to the three channels (HF accepts a float). */
function channelTriple(
  obj: JsonObject,
  key: string,
  top: Where,
  fallback: readonly [number, number, number],
  nonZero: boolean,
): readonly [number, number, number] {
  const raw = obj[key];
  if (isUnset(raw)) return [...fallback];
  const what = `3 finite numbers${nonZero ? ', none zero' : ''} (RGB)`;
  const good = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && !(nonZero && v === 0);
  if (good(raw)) return [raw, raw, raw];
  if (!Array.isArray(raw)) throw configError(top, key, what, raw);
  const items = raw as readonly unknown[];
  const [a, b, c] = items;
  if (items.length !== 3 || !good(a) || !good(b) || !good(c)) throw configError(top, key, what, raw);
  return [a, b, c];
}

/**
 * Target size of the slow `Mask2FormerImageProcessor` resize for an `height` x `width` image
 * (`get_mask2former_resize_output_image_size`):
 *
 * 1. shortest-edge mode: `new_short = s`, `new_long = int(s * long / short)` (truncation); if
 *    `new_long > m`: `new_short = int(m * new_short / new_long)`, `new_long = m`. Fixed mode: (height, width).
 * 2. If `sizeDivisor > 0`, both sides are rounded UP to a multiple of it; the image is resized
 *    (stretched) to that size, not padded.
 *
 * With `doResize` false the image keeps its size (HF then skips `sizeDivisor` too).
 * Python evaluates `s * long / short` in float64 left to right, as does this.
 *
 * @throws ImageError for a non-positive or non-integer size, or a target side that truncates to 0
 */
export function resizeOutputSize(
  height: number,
  width: number,
  cfg: Pick<PreprocessorConfig, 'doResize' | 'resize' | 'sizeDivisor'>,
): { height: number; width: number } {
  if (!Number.isSafeInteger(height) || !Number.isSafeInteger(width) || height <= 0 || width <= 0) {
    throw new ImageError(`resizeOutputSize: expected a positive integer image size, got ${height} x ${width}`);
  }
  if (!cfg.doResize) return { height, width };

  let outH: number;
  let outW: number;
  const spec = cfg.resize;
  if (spec.kind === 'fixed') {
    outH = spec.height;
    outW = spec.width;
  } else {
    // HF: short, long = (width, height) if width <= height else (height, width)
    const widthIsShort = width <= height;
    const short = widthIsShort ? width : height;
    const long = widthIsShort ? height : width;
    let newShort = spec.shortestEdge;
    let newLong = Math.trunc((spec.shortestEdge * long) / short);
    if (newLong > spec.longestEdge) {
      newShort = Math.trunc((spec.longestEdge * newShort) / newLong);
      newLong = spec.longestEdge;
    }
    outH = widthIsShort ? newLong : newShort;
    outW = widthIsShort ? newShort : newLong;
  }

  const d = cfg.sizeDivisor;
  if (d > 0) {
    outH = Math.ceil(outH / d) * d;
    outW = Math.ceil(outW / d) * d;
  }
  if (outH <= 0 || outW <= 0) {
    throw new ImageError(`resizeOutputSize: a ${height} x ${width} image resizes to ${outH} x ${outW} (too elongated)`);
  }
  return { height: outH, width: outW };
}
