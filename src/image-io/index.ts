/**
 * Image files to RGBA8 in Node, with the pixels Hugging Face's processors see (Pillow's):
 * PNG through pngjs, JPEG through libjpeg-turbo (see jpeg.ts). Headers are read first: sizes
 * over `maxPixels` are refused before anything large is allocated.
 */
import { readFileSync, statSync } from 'node:fs';
import { ImageError } from '../errors.ts';
import type { RgbaImage } from '../image.ts';
import { applyOrientation, exifOrientation, type Orientation } from './exif.ts';
import { isJpeg, JpegDecoder, readJpegHeader } from './jpeg.ts';
import { checkMaxPixels, checkPixelLimit, DEFAULT_MAX_PIXELS } from './limits.ts';
import { decodePng, isPng } from './png.ts';

export { DEFAULT_MAX_PIXELS } from './limits.ts';
export { JpegDecoder } from './jpeg.ts';

export interface DecodeOptions {
  /** Refuse images with more pixels than this (checked from the header). Default DEFAULT_MAX_PIXELS (89,478,485, Pillow's MAX_IMAGE_PIXELS). */
  readonly maxPixels?: number;
  /**
   * 'ignore' (default): pixels as stored, as HF / Pillow's Image.open give them.
   * 'apply': turned as a viewer shows them (EXIF orientation tag of JPEG APP1 or PNG eXIf).
   */
  readonly exifOrientation?: 'ignore' | 'apply';
  /** A decoder to reuse across many files (saves compiling the module per file). */
  readonly jpeg?: JpegDecoder;
}

export interface DecodedImage extends RgbaImage {
  readonly format: 'png' | 'jpeg';
  /** The file's EXIF orientation tag (1 when absent), whether or not it was applied. */
  readonly orientation: Orientation;
}

/** Decodes PNG or JPEG bytes; `name` is used in error messages. */
export function decodeImage(bytes: Uint8Array, name: string, options: DecodeOptions = {}): DecodedImage {
  const maxPixels = checkMaxPixels(options.maxPixels ?? DEFAULT_MAX_PIXELS);
  const exif = options.exifOrientation ?? 'ignore';
  if (exif !== 'ignore' && exif !== 'apply') throw new ImageError(`exifOrientation must be 'ignore' or 'apply', got '${String(exif)}'`);
  let image: RgbaImage;
  let format: DecodedImage['format'];
  let tiff: Uint8Array | undefined;
  if (isPng(bytes)) {
    const { image: img, header } = decodePng(bytes, name, maxPixels);
    image = img;
    format = 'png';
    tiff = header.exif;
  } else if (isJpeg(bytes)) {
    const header = readJpegHeader(bytes, name);
    checkPixelLimit(name, 'JPEG', header.width, header.height, maxPixels);
    image = (options.jpeg ?? JpegDecoder.load()).decode(bytes, name, header);
    format = 'jpeg';
    tiff = header.exif;
  } else {
    throw new ImageError(`${name}: not a PNG or JPEG file (${bytes.length === 0 ? 'empty' : `starts with ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`})`);
  }
  const orientation = tiff ? exifOrientation(tiff) : 1;
  const out = exif === 'apply' ? applyOrientation(image, orientation) : image;
  return { width: out.width, height: out.height, data: out.data, format, orientation };
}

/** Reads and decodes a PNG or JPEG file. */
export function readImage(path: string, options: DecodeOptions = {}): DecodedImage {
  let bytes: Buffer;
  try {
    if (statSync(path).isDirectory()) throw new ImageError(`${path}: is a directory, not an image file`);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    const code = (e as { code?: string }).code;
    throw new ImageError(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot read: ${e instanceof Error ? e.message : String(e)}`}`);
  }
  return decodeImage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path, options);
}
