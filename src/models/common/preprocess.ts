/**
 * The slow HF Mask2FormerImageProcessor / MaskFormerImageProcessor (the same resize, rescale, normalise and pad) on the GPU: Pillow BILINEAR resize of each RGBA8 image
 * (bit exact), rescale + normalise through a lookup table holding the processor's float32 result
 * for every byte value, and zero padding bottom/right to the batch's max size.
 */
import { ImageError } from '../../errors.ts';
import type { PreprocessorConfig } from '../../config/index.ts';
import { resizeOutputSize } from '../../config/index.ts';
import type { GraphBuilder, Tensor } from '../../graph/builder.ts';
import * as ops from '../../ops/index.ts';

export interface BatchGeometry {
  /** Original sizes [h, w] per image. */
  readonly original: readonly (readonly [number, number])[];
  /** Resized sizes per image (what the model sees before padding). */
  readonly resized: readonly (readonly [number, number])[];
  /** Padded batch size [H, W]. */
  readonly padded: readonly [number, number];
}

export function batchGeometry(sizes: readonly (readonly [number, number])[], cfg: PreprocessorConfig): BatchGeometry {
  if (sizes.length === 0) throw new ImageError('no images given');
  const resized = sizes.map(([h, w]) => {
    if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) throw new ImageError(`image size ${h}x${w} is not a positive integer size`);
    const r = resizeOutputSize(h, w, cfg);
    return [r.height, r.width] as const;
  });
  const H = Math.max(...resized.map(([h]) => h));
  const W = Math.max(...resized.map(([, w]) => w));
  return { original: sizes, resized, padded: [H, W] };
}

const f = Math.fround;

/**
 * [3, 256]: HF's value for byte v of channel c: float32(v * rescale_factor computed in float64),
 * then (x - mean) / std in float32.
 */
export function normalizationTable(cfg: PreprocessorConfig): Float32Array {
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = f(cfg.imageMean[c] as number);
    const std = f(cfg.imageStd[c] as number);
    for (let v = 0; v < 256; v++) {
      let x = cfg.doRescale ? f(v * cfg.rescaleFactor) : v;
      if (cfg.doNormalize) x = f(f(x - mean) / std);
      lut[c * 256 + v] = x;
    }
  }
  return lut;
}

/** Graph inputs `image.{i}` (u32 [h_i, w_i] RGBA8) -> pixel_values [B, 3, H, W]. */
export function preprocess(g: GraphBuilder, geo: BatchGeometry, cfg: PreprocessorConfig): Tensor {
  return g.within('preprocess', () => {
    const [H, W] = geo.padded;
    const B = geo.original.length;
    const pixelValues = g.empty('pixel_values', [B, 3, H, W]);
    const lut = g.constant('normalization-table', [3, 256], normalizationTable(cfg));
    geo.original.forEach(([h, w], i) => {
      const src = g.input(`image.${i}`, [h, w], 'u32');
      const [rh, rw] = geo.resized[i] as readonly [number, number];
      const resized = cfg.doResize ? ops.pilResize(g, src, [rh, rw]) : src;
      ops.imageToTensor(g, resized, lut, g.view(pixelValues, i * 3 * H * W, [3, H, W]));
    });
    return pixelValues;
  });
}
