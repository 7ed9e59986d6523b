/**
 * Every error maskgpu throws on purpose. Each says what is wrong and where
 * (op, tensor, file, key, shape) so that a user can act on it without a debugger.
 */

/** Base class: `instanceof MaskgpuError` catches everything thrown on purpose. */
export class MaskgpuError extends Error {
  // Names are spelled out (not new.target.name) so they survive minification.
  override name = 'MaskgpuError';
}

/** A tensor has the wrong rank, size or dtype for an op, or two shapes disagree. */
export class ShapeError extends MaskgpuError {
  override name = 'ShapeError';

  constructor(
    readonly op: string,
    readonly tensor: string,
    readonly expected: string,
    readonly actual: readonly number[] | string,
  ) {
    super(`${op}: ${tensor} expected ${expected}, got ${typeof actual === 'string' ? actual : `[${actual.join(', ')}]`}`);
  }
}

/**
 * A weights file is malformed, or a checkpoint lacks / has extra / mis-shaped tensors.
 * `reason` is an optional machine-readable tag (e.g. `'truncated'`, `'size-mismatch'`);
 * see `SafetensorsErrorReason` in `src/weights/safetensors.ts` for the parser's tags.
 */
export class WeightError extends MaskgpuError {
  override name = 'WeightError';

  constructor(
    readonly file: string,
    readonly key: string | undefined,
    readonly detail: string,
    readonly reason?: string,
  ) {
    super(`${file}${key === undefined ? '' : ` [${key}]`}: ${detail}`);
  }
}

/**
 * A download failed: an HTTP error status (`status`; 0 when the connection broke and could not be
 * resumed), for the file named in `file` (the URL asked for).
 */
export class DownloadError extends WeightError {
  override name = 'DownloadError';

  constructor(
    file: string,
    readonly status: number,
    detail: string,
  ) {
    super(file, undefined, detail, 'http');
  }
}

/** A config.json / preprocessor_config.json value maskgpu cannot honour or does not understand. */
export class ConfigError extends MaskgpuError {
  override name = 'ConfigError';

  constructor(
    readonly file: string,
    readonly key: string,
    readonly detail: string,
  ) {
    super(`${file}: ${key}: ${detail}`);
  }
}

/** The GPU said no: validation errors, shader compilation, device loss, out of memory. */
export class GpuError extends MaskgpuError {
  override name = 'GpuError';

  constructor(
    readonly where: string,
    readonly detail: string,
  ) {
    super(`${where}: ${detail}`);
  }
}

/** WebGPU is missing altogether (no `navigator.gpu`, or no Node binding). */
export class NoWebGpuError extends MaskgpuError {
  override name = 'NoWebGpuError';
}

/** WebGPU exists but `requestAdapter()` found no adapter. */
export class NoAdapterError extends MaskgpuError {
  override name = 'NoAdapterError';
}

/** The device was lost (driver reset, `destroy()`, tab in background too long). */
export class DeviceLostError extends MaskgpuError {
  override name = 'DeviceLostError';

  constructor(
    readonly reason: string,
    readonly detail: string,
  ) {
    super(`GPU device lost (${reason}): ${detail}`);
  }
}

/** A feature, value or model variant that maskgpu does not support (yet). */
export class UnsupportedError extends MaskgpuError {
  override name = 'UnsupportedError';
}

/** An image maskgpu cannot read (unknown type, zero size, wrong byte count). */
export class ImageError extends MaskgpuError {
  override name = 'ImageError';
}

/** A file maskgpu was asked to write could not be written (read-only, full, a directory in the way). */
export class OutputError extends MaskgpuError {
  override name = 'OutputError';
}

/**
 * A model output holds NaN or Inf (a diverging model or corrupt weights): reported instead of
 * post-processing it into an empty or arbitrary segmentation.
 */
export class NonFiniteError extends MaskgpuError {
  override name = 'NonFiniteError';

  constructor(
    readonly tensor: string,
    readonly count: number,
    /** Where the first one is (flat index, query). */
    readonly first: string,
  ) {
    super(`${tensor}: ${count} value(s) are NaN or Inf (the first ${first}); the weights or the input make the model diverge`);
  }
}

/**
 * A size, memory or count limit that maskgpu enforces before allocating (preprocessor sizes,
 * a graph's host and GPU bytes). The message says the limit and the option that changes it.
 */
export class ResourceError extends MaskgpuError {
  override name = 'ResourceError';

  constructor(
    readonly what: string,
    readonly needed: number,
    readonly limit: number,
    readonly option: string,
  ) {
    super(`${what}: needs ${formatBytesOrCount(needed)}, the limit is ${formatBytesOrCount(limit)} (${option})`);
  }
}

function formatBytesOrCount(n: number): string {
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB (${n} bytes)` : `${n} bytes`;
}

/**
 * A result was read after a later post-processing call (or dispose()) reused or freed the GPU
 * buffer that held its label map. Read `labelMap()` before the next call on the same
 * post-processor / Segmenter, or keep the `Int32Array` it returns.
 */
export class StaleResultError extends MaskgpuError {
  override name = 'StaleResultError';
}
