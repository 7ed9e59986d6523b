/** Node-side file access for the CLI: checkpoint folders, PNG / JPEG images (pngjs, jpeg-js). */
import { existsSync, openAsBlob, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { extraFilesFor, type CheckpointSource } from '../checkpoint.ts';
import { ImageError, WeightError } from '../errors.ts';
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
  const config = readJsonFile(join(dir, 'config.json'));
  const preprocessor = existsSync(pre) ? readJsonFile(pre) : undefined;
  const files: Record<string, string> = {};
  for (const name of extraFilesFor(config, preprocessor)) {
    const path = join(dir, name);
    if (existsSync(path)) files[name] = readFileSync(path, 'utf8');
  }
  return {
    config,
    ...(preprocessor === undefined ? {} : { preprocessor }),
    weights: await openAsBlob(weights),
    name: weights,
    ...(Object.keys(files).length > 0 ? { files } : {}),
  };
}

/** Decodes a PNG or JPEG file to RGBA8. */
export function readImage(path: string): RgbaImage {
  if (!existsSync(path)) throw new ImageError(`${path}: no such file`);
  const bytes = readFileSync(path);
  const ext = extname(path).toLowerCase();
  try {
    if (ext === '.png' || bytes.subarray(0, 4).toString('latin1') === '\x89PNG') {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    if (ext === '.jpg' || ext === '.jpeg' || (bytes[0] === 0xff && bytes[1] === 0xd8)) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
      return { width: img.width, height: img.height, data: img.data };
    }
  } catch (e) {
    throw new ImageError(`${path}: cannot decode: ${e instanceof Error ? e.message : String(e)}`);
  }
  throw new ImageError(`${path}: not a PNG or JPEG file`);
}

/** Encodes RGBA8 pixels as PNG. */
export function writePng(img: RgbaImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png);
}
