/**
 * EXIF orientation (TIFF tag 0x0112 in IFD0). Hugging Face's processors receive PIL images as
 * stored (Image.open does not rotate), so maskgpu ignores the tag by default; `apply` turns the
 * stored pixels the way a viewer shows them (Pillow's ImageOps.exif_transpose).
 */
import type { RgbaImage } from '../image.ts';

/** 1 (as stored) .. 8, as in the EXIF specification. */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

/**
 * The orientation in a TIFF-structured EXIF block (the bytes after "Exif\0\0" in a JPEG APP1
 * segment, or a PNG eXIf chunk). 1 when absent or unreadable: a damaged EXIF block never stops
 * a decode, since HF reads such files too.
 */
export function exifOrientation(tiff: Uint8Array): Orientation {
  if (tiff.length < 8) return 1;
  const le = tiff[0] === 0x49 && tiff[1] === 0x49;
  const be = tiff[0] === 0x4d && tiff[1] === 0x4d;
  if (!le && !be) return 1;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  if (view.getUint16(2, le) !== 42) return 1;
  const ifd = view.getUint32(4, le);
  if (ifd + 2 > tiff.length) return 1;
  const n = view.getUint16(ifd, le);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > tiff.length) return 1;
    if (view.getUint16(e, le) !== 0x0112) continue;
    // Type SHORT (3), count 1: the value sits in the first two bytes of the value field.
    if (view.getUint16(e + 2, le) !== 3) return 1;
    const v = view.getUint16(e + 8, le);
    return v >= 1 && v <= 8 ? (v as Orientation) : 1;
  }
  return 1;
}

/**
 * The image as a viewer shows it for the given orientation. Orientations 5-8 swap width and
 * height. Output pixel (x, y) is read from stored pixel (sx, sy), per orientation:
 *   2 mirror: (W-1-x, y)       3 rotate 180: (W-1-x, H-1-y)   4 flip: (x, H-1-y)
 *   5 transpose: (y, x)        6 rotate 90 cw: (y, H-1-x)     7 transverse: (W-1-y, H-1-x)
 *   8 rotate 90 ccw: (W-1-y, x)   (W, H: the stored size)
 */
export function applyOrientation(img: RgbaImage, o: Orientation): RgbaImage {
  if (o === 1) return img;
  const W = img.width;
  const H = img.height;
  const swap = o >= 5;
  const w = swap ? H : W;
  const h = swap ? W : H;
  const src = new Uint32Array(img.data.buffer.slice(img.data.byteOffset, img.data.byteOffset + W * H * 4));
  const dst = new Uint32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sx: number;
      let sy: number;
      switch (o) {
        case 2: sx = W - 1 - x; sy = y; break;
        case 3: sx = W - 1 - x; sy = H - 1 - y; break;
        case 4: sx = x; sy = H - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = H - 1 - x; break;
        case 7: sx = W - 1 - y; sy = H - 1 - x; break;
        default: sx = W - 1 - y; sy = x; break; // 8
      }
      dst[y * w + x] = src[sy * W + sx] as number;
    }
  }
  return { width: w, height: h, data: new Uint8Array(dst.buffer) };
}
