/**
 * The decode-time pixel limit: a file's declared size is checked from its header before any
 * pixel buffer is allocated or any compressed data is inflated (a 69-byte PNG can declare
 * 20000x20000, 1.6 GB of RGBA).
 */
import { ImageError } from '../errors.ts';

/**
 * Pillow's `Image.MAX_IMAGE_PIXELS` (above which it warns of a decompression bomb): large enough
 * for a 8000x8000 image or a 12 MP phone photo, small enough that one decode stays under 400 MB.
 */
export const DEFAULT_MAX_PIXELS = 89_478_485;

/** How to raise the limit, for messages. */
export const RAISE_LIMIT_HINT = 'raise it with --max-pixels N (CLI) or { maxPixels } (readImage / decodeImage)';

/** Throws an ImageError when the declared size is over the limit (or not a positive size). */
export function checkPixelLimit(name: string, format: string, width: number, height: number, maxPixels: number = DEFAULT_MAX_PIXELS): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageError(`${name}: the ${format} header declares a ${width}x${height} image (not a positive size)`);
  }
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new ImageError(`${name}: ${width}x${height} ${format} (${pixels} pixels) is over the limit of ${maxPixels} pixels; ${RAISE_LIMIT_HINT}`);
  }
}

/** Checks a user-given limit (a positive integer). */
export function checkMaxPixels(maxPixels: number): number {
  if (!Number.isSafeInteger(maxPixels) || maxPixels <= 0) throw new ImageError(`maxPixels must be a positive integer, got ${maxPixels}`);
  return maxPixels;
}
