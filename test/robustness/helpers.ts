/** Shared pieces of the robustness suite: the tiny fixture checkpoint and small test images. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointSource } from '../../src/checkpoint.ts';
import type { RgbaImage } from '../../src/image.ts';
import { readImage } from '../../src/cli/node-io.ts';
import { FIXTURES, readJson } from '../fixture-files.ts';

export const TINY = join(FIXTURES, 'mask2former', 'tiny');

export function tinyBytes(): Uint8Array {
  const b = readFileSync(join(TINY, 'model.safetensors'));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** The tiny fixture checkpoint, optionally with other weights bytes or preprocessor JSON. */
export function tinyCheckpoint(over: { weights?: Uint8Array; preprocessor?: unknown } = {}): CheckpointSource {
  return {
    config: readJson(join(TINY, 'config.json')),
    preprocessor: over.preprocessor ?? readJson(join(TINY, 'preprocessor_config.json')),
    weights: over.weights ?? tinyBytes(),
    name: 'tiny',
  };
}

export function tinyImage(): RgbaImage {
  return readImage(join(TINY, 'image0.png'));
}

/** A crop of `img` at (x, y) of size w x h, optionally mirrored left-right. */
export function crop(img: RgbaImage, x: number, y: number, w: number, h: number, mirror = false): RgbaImage {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const sc = x + (mirror ? w - 1 - c : c);
      const s = ((y + r) * img.width + sc) * 4;
      data.set(img.data.subarray(s, s + 4), (r * w + c) * 4);
    }
  }
  return { width: w, height: h, data };
}
