/** Images as maskgpu takes them: RGBA8 pixels plus a size, from any browser image source. */
import { ImageError } from './errors.ts';

export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  /** width * height * 4 bytes, RGBA, row-major. Alpha is ignored (RGB models). */
  readonly data: Uint8Array | Uint8ClampedArray;
}

export type ImageSource = RgbaImage | ImageData | ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | VideoFrame | HTMLVideoElement;

export function checkRgba(img: RgbaImage, what = 'image'): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageError(`${what}: size ${width}x${height} is not a positive integer size`);
  }
  if (data.length !== width * height * 4) {
    throw new ImageError(`${what}: ${width}x${height} RGBA needs ${width * height * 4} bytes, got ${data.length}`);
  }
}

/** The pixels as one u32 per RGBA8 pixel (a view when the bytes are 4-byte aligned, else a copy). */
export function rgbaPixels(img: RgbaImage): Uint32Array {
  const d = img.data;
  const n = img.width * img.height;
  return d.byteOffset % 4 === 0 ? new Uint32Array(d.buffer, d.byteOffset, n) : new Uint32Array(new Uint8Array(d.buffer, d.byteOffset, n * 4).slice().buffer);
}

const isRgba = (s: unknown): s is RgbaImage =>
  typeof s === 'object' && s !== null && 'data' in s && 'width' in s && 'height' in s && (s.data instanceof Uint8Array || s.data instanceof Uint8ClampedArray);

function sourceSize(src: Exclude<ImageSource, RgbaImage>): [number, number] {
  if (typeof VideoFrame !== 'undefined' && src instanceof VideoFrame) return [src.displayWidth, src.displayHeight];
  if (typeof HTMLVideoElement !== 'undefined' && src instanceof HTMLVideoElement) return [src.videoWidth, src.videoHeight];
  if (typeof HTMLImageElement !== 'undefined' && src instanceof HTMLImageElement) return [src.naturalWidth, src.naturalHeight];
  const s = src as { width: number; height: number };
  return [s.width, s.height];
}

/**
 * RGBA8 pixels of any supported source. Browser sources are drawn once onto an OffscreenCanvas
 * (no colour-space conversion, no premultiplication) and read back; resizing and normalisation
 * then run on the GPU.
 */
export function toRgba(src: ImageSource): RgbaImage {
  if (isRgba(src)) {
    checkRgba(src);
    return src;
  }
  if (typeof OffscreenCanvas === 'undefined') throw new ImageError('this environment has no OffscreenCanvas: pass { width, height, data } RGBA pixels');
  const [w, h] = sourceSize(src);
  if (!w || !h) throw new ImageError(`image source has size ${w}x${h} (not loaded yet?)`);
  if (typeof ImageData !== 'undefined' && src instanceof ImageData) return { width: w, height: h, data: src.data };
  const canvas = new OffscreenCanvas(w, h);
  const c2d = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  if (!c2d) throw new ImageError('could not create a 2D context to read the image');
  c2d.drawImage(src as CanvasImageSource, 0, 0);
  const data = c2d.getImageData(0, 0, w, h, { colorSpace: 'srgb' }).data;
  return { width: w, height: h, data };
}
