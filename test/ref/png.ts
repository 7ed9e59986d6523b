import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';

/** Decodes a PNG file to 8-bit RGBA: data [height, width, 4] (pngjs expands RGB with alpha 255). */
export function readPngRgba(path: string): { data: Uint8Array; width: number; height: number } {
  const png = PNG.sync.read(readFileSync(path));
  const data = new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length).slice();
  return { data, width: png.width, height: png.height };
}
