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

/**
 * A result was read after a later post-processing call (or dispose()) reused or freed the GPU
 * buffer that held its label map. Read `labelMap()` before the next call on the same
 * post-processor / Segmenter, or keep the `Int32Array` it returns.
 */
export class StaleResultError extends MaskgpuError {
  override name = 'StaleResultError';
}
