/** Node-side file access for the CLI: checkpoint folders, PNG output (image input: src/image-io). */
import { existsSync, mkdirSync, openAsBlob, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PNG } from 'pngjs';
import { extraFilesFor, type CheckpointSource } from '../checkpoint.ts';
import { OutputError, WeightError } from '../errors.ts';
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

export { readImage } from '../image-io/index.ts';

/** Encodes RGBA8 pixels as PNG. */
export function writePng(img: RgbaImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png);
}

const FS_REASONS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied', EPERM: 'permission denied', EROFS: 'read-only file system', ENOSPC: 'no space left on the device',
  EISDIR: 'is a directory', ENOTDIR: 'a parent path is a file, not a directory', EEXIST: 'already exists and is not a directory', EDQUOT: 'disk quota exceeded',
};

/** A file-system error as a typed one-line OutputError naming the path. */
export function outputError(path: string, e: unknown): OutputError {
  if (e instanceof OutputError) return e;
  const code = (e as { code?: string }).code ?? '';
  return new OutputError(`cannot write ${path}: ${FS_REASONS[code] ?? (e instanceof Error ? e.message : String(e))}${code ? ` (${code})` : ''}`);
}

/** Creates `dir` (and parents) and proves it writable with a probe file, before any work is done. */
export function ensureWritableDir(dir: string): void {
  const probe = join(dir, `.maskgpu-write-test-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    throw outputError(dir, e);
  }
}

/** Writes through a temporary file in the same folder and a rename: readers never see half a file. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw outputError(path, e);
  }
}
