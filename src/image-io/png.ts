/**
 * PNG files to RGBA8 (pngjs), with the header, every chunk's CRC and the inflated size checked
 * first, so that a declared 20000x20000 image or a zlib bomb is refused before any large
 * allocation, and a damaged file says which chunk is damaged.
 */
import { crc32, inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { ImageError } from '../errors.ts';
import type { RgbaImage } from '../image.ts';
import { checkPixelLimit } from './limits.ts';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export const isPng = (b: Uint8Array): boolean => SIGNATURE.every((v, i) => b[i] === v);

export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colourType: number;
  readonly interlaced: boolean;
  /** The concatenated IDAT payloads' total length. */
  readonly idatBytes: number;
  /** The eXIf chunk's TIFF bytes, if any. */
  readonly exif?: Uint8Array;
}

const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Walks the chunks: IHDR fields, CRCs, IEND present; no pixel data is touched. */
export function readPngHeader(bytes: Uint8Array, name: string): PngHeader {
  if (!isPng(bytes)) throw new ImageError(`${name}: not a PNG file (bad signature)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let ihdr: Omit<PngHeader, 'idatBytes' | 'exif'> | undefined;
  let idatBytes = 0;
  let exif: Uint8Array | undefined;
  let ended = false;
  while (pos < bytes.length && !ended) {
    if (pos + 12 > bytes.length) throw new ImageError(`${name}: PNG truncated at byte ${pos} (a chunk header is cut off)`);
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (pos + 12 + len > bytes.length) throw new ImageError(`${name}: PNG truncated: chunk ${type} at byte ${pos} declares ${len} bytes, the file ends ${bytes.length - pos - 12} bytes later`);
    const crc = view.getUint32(pos + 8 + len);
    if (crc32(bytes.subarray(pos + 4, pos + 8 + len)) !== crc) throw new ImageError(`${name}: PNG chunk ${type} at byte ${pos}: CRC mismatch (the file is damaged)`);
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    if (ihdr === undefined && type !== 'IHDR') throw new ImageError(`${name}: PNG does not start with an IHDR chunk (found ${type})`);
    if (type === 'IHDR') {
      if (len !== 13) throw new ImageError(`${name}: PNG IHDR has ${len} bytes, expected 13`);
      const d = new DataView(data.buffer, data.byteOffset, 13);
      ihdr = { width: d.getUint32(0), height: d.getUint32(4), bitDepth: data[8] as number, colourType: data[9] as number, interlaced: data[12] === 1 };
      if (CHANNELS[ihdr.colourType] === undefined) throw new ImageError(`${name}: PNG colour type ${ihdr.colourType} is not valid`);
      if (![1, 2, 4, 8, 16].includes(ihdr.bitDepth)) throw new ImageError(`${name}: PNG bit depth ${ihdr.bitDepth} is not valid`);
    } else if (type === 'IDAT') idatBytes += len;
    else if (type === 'eXIf') exif = data;
    else if (type === 'IEND') ended = true;
    pos += 12 + len;
  }
  if (!ihdr) throw new ImageError(`${name}: PNG has no IHDR chunk`);
  if (!ended) throw new ImageError(`${name}: PNG truncated (no IEND chunk)`);
  if (idatBytes === 0) throw new ImageError(`${name}: PNG has no image data (no IDAT chunk)`);
  return { ...ihdr, idatBytes, ...(exif ? { exif } : {}) };
}

/** Bytes of the filtered scanlines the header implies (Adam7: the seven passes' rows). */
export function inflatedSize(h: Pick<PngHeader, 'width' | 'height' | 'bitDepth' | 'colourType' | 'interlaced'>): number {
  const bpp = (CHANNELS[h.colourType] as number) * h.bitDepth;
  const rows = (w: number, n: number): number => (w > 0 && n > 0 ? n * (Math.ceil((w * bpp) / 8) + 1) : 0);
  if (!h.interlaced) return rows(h.width, h.height);
  // Adam7 passes: [x start, x step, y start, y step].
  const passes = [[0, 8, 0, 8], [4, 8, 0, 8], [0, 4, 4, 8], [2, 4, 0, 4], [0, 2, 2, 4], [1, 2, 0, 2], [0, 1, 1, 2]] as const;
  let total = 0;
  for (const [x0, dx, y0, dy] of passes) total += rows(Math.ceil((h.width - x0) / dx), Math.ceil((h.height - y0) / dy));
  return total;
}

function concatIdat(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Uint8Array[] = [];
  for (let pos = 8; pos + 12 <= bytes.length;) {
    const len = view.getUint32(pos);
    if (String.fromCharCode(...bytes.subarray(pos + 4, pos + 8)) === 'IDAT') parts.push(bytes.subarray(pos + 8, pos + 8 + len));
    pos += 12 + len;
  }
  return Buffer.concat(parts);
}

/**
 * Decodes a PNG to RGBA8 (any bit depth / colour type; pngjs scales 16-bit samples to 8 bits
 * with rounding, where Pillow keeps the high byte). The header is checked against `maxPixels`
 * first; the compressed data is then inflated with an output cap of exactly the size the header
 * implies (pngjs bounds non-interlaced images itself, but inflates interlaced ones without a bound).
 */
export function decodePng(bytes: Uint8Array, name: string, maxPixels?: number): { image: RgbaImage; header: PngHeader } {
  const header = readPngHeader(bytes, name);
  checkPixelLimit(name, 'PNG', header.width, header.height, maxPixels);
  const expected = inflatedSize(header);
  // Inflates with an output cap of one byte past what the header implies.
  const checkInflatedSize = (): void => {
    let n: number;
    try {
      n = inflateSync(concatIdat(bytes), { maxOutputLength: expected + 1 }).length;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') n = expected + 1;
      else throw new ImageError(`${name}: PNG image data is not valid zlib data: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (n > expected) throw new ImageError(`${name}: PNG image data inflates past the ${expected} bytes its ${header.width}x${header.height} header implies (a zlib bomb?)`);
  };
  if (header.interlaced) checkInflatedSize();
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    // pngjs stops a non-interlaced image's inflate at the implied size with an opaque message:
    // say what it was when that is the cause.
    if (!header.interlaced) checkInflatedSize();
    throw new ImageError(`${name}: cannot decode PNG ${header.width}x${header.height}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { image: { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) }, header };
}
