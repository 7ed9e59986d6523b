/** Reading the reference fixtures (copied from ../shared/fixtures into test/fixtures). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { streamSafetensors } from '../src/weights/safetensors.ts';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface RefTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array | Uint8Array | BigInt64Array;
}

/** Every tensor of a safetensors file, copied out with its dtype (F32, I32, U8, I64). */
export async function readTensors(path: string): Promise<Map<string, RefTensor>> {
  const bytes = readFileSync(path);
  const out = new Map<string, RefTensor>();
  await streamSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), (info, b) => {
    const copy = b.slice();
    const data =
      info.dtype === 'F32' ? new Float32Array(copy.buffer) : info.dtype === 'I32' ? new Int32Array(copy.buffer) : info.dtype === 'I64' ? new BigInt64Array(copy.buffer) : copy;
    out.set(info.name, { dtype: info.dtype, shape: info.shape, data });
  }, { file: path });
  return out;
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}
