/** Image in / out for the demo: decode blobs and URLs to RGBA8, encode RGBA8 as PNG, download. */
import { ImageError, toRgba, type RgbaImage } from '../src/index.ts';

export type DemoImage = RgbaImage & { readonly data: Uint8ClampedArray };

/** Decodes an image file without colour conversion (the pixels as stored, like PIL reads them). */
export async function rgbaFromBlob(blob: Blob, what = 'image'): Promise<DemoImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new ImageError(`${what}: not an image the browser can decode (${blob.type || 'unknown type'}): ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    const img = toRgba(bitmap);
    return { width: img.width, height: img.height, data: new Uint8ClampedArray(img.data) };
  } finally {
    bitmap.close();
  }
}

export async function rgbaFromUrl(url: string): Promise<DemoImage> {
  const res = await fetch(url);
  if (!res.ok) throw new ImageError(`${url}: HTTP ${res.status} ${res.statusText}`);
  return rgbaFromBlob(await res.blob(), url);
}

export async function pngBlob(img: RgbaImage): Promise<Blob> {
  const canvas = new OffscreenCanvas(img.width, img.height);
  const c2d = canvas.getContext('2d');
  if (!c2d) throw new ImageError('could not create a 2D context to encode the PNG');
  c2d.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
  return canvas.convertToBlob({ type: 'image/png' });
}

/** Saves a blob through a temporary <a download>. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|avif)$/i;
export const isImageFile = (f: File): boolean => f.type.startsWith('image/') || IMAGE_EXT.test(f.name);
export const isCheckpointFile = (f: File): boolean => /\.(safetensors|json|bin|pt|pth)$/i.test(f.name);
