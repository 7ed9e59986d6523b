/** Node-side file access for the CLI: checkpoint folders, PNG output (image input: src/image-io). */
import { existsSync, openAsBlob, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { CheckpointSource } from '../checkpoint.ts';
import { WeightError } from '../errors.ts';
import type { RgbaImage } from '../image.ts';

function readJsonFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    throw new WeightError(path, undefined, `cannot read JSON: ${e instanceof Error ? e.message : String(e)}`, 'invalid-json');
  }
}

/** A checkpoint folder on disk; the weights are streamed from a file-backed Blob. */
export async function checkpointFromDir(dir: string): Promise<CheckpointSource> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new WeightError(dir, undefined, 'not a directory', 'missing');
  const weights = join(dir, 'model.safetensors');
  if (!existsSync(weights)) {
    if (existsSync(join(dir, 'pytorch_model.bin'))) {
      throw new WeightError(dir, undefined, 'only pytorch_model.bin (pickle) found: maskgpu reads model.safetensors only', 'pickle');
    }
    throw new WeightError(weights, undefined, 'not found', 'missing');
  }
  const pre = join(dir, 'preprocessor_config.json');
  return {
    config: readJsonFile(join(dir, 'config.json')),
    ...(existsSync(pre) ? { preprocessor: readJsonFile(pre) } : {}),
    weights: await openAsBlob(weights),
    name: weights,
  };
}

export { readImage } from '../image-io/index.ts';

/** Encodes RGBA8 pixels as PNG. */
export function writePng(img: RgbaImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png);
}
