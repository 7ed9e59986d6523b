/**
 * Untrusted checkpoints: unknown or mis-shaped keys are refused from the safetensors header
 * before any GPU upload; a streamed body (no Content-Length) declaring a huge tensor is a typed
 * WeightError before any allocation; NaN / Inf weights are refused by name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeightError } from '../../src/errors.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import { Segmenter } from '../../src/segmenter.ts';
import { streamSafetensors, writeSafetensors, type WritableTensor } from '../../src/weights/safetensors.ts';
import { readTensors } from '../fixture-files.ts';
import { TINY, tinyCheckpoint } from './helpers.ts';
import { join } from 'node:path';

let gpu: GpuContext;
let weightBuffers = 0;
beforeAll(async () => {
  gpu = await requestNodeGpu();
  const device = gpu.device;
  const create = device.createBuffer.bind(device);
  device.createBuffer = (d: GPUBufferDescriptor) => {
    if (d.label?.startsWith('maskgpu:weight:')) weightBuffers++;
    return create(d);
  };
});
afterAll(() => gpu?.dispose());

/** The tiny checkpoint's tensors, changed by `edit`, written back as safetensors bytes. */
async function editedTiny(edit: (t: Record<string, WritableTensor>) => void): Promise<Uint8Array> {
  const tensors: Record<string, WritableTensor> = {};
  for (const [k, t] of await readTensors(join(TINY, 'model.safetensors'))) tensors[k] = { dtype: t.dtype as WritableTensor['dtype'], shape: t.shape, data: t.data as WritableTensor['data'] };
  edit(tensors);
  return writeSafetensors(tensors);
}

async function loadError(weights: Uint8Array): Promise<{ error: unknown; uploads: number }> {
  weightBuffers = 0;
  const error = await Segmenter.load(tinyCheckpoint({ weights }), { gpu }).then(
    (s) => (s.dispose(), undefined),
    (e: unknown) => e,
  );
  return { error, uploads: weightBuffers };
}

describe('checkpoint keys and shapes, from the header', () => {
  it('the unchanged checkpoint loads (uploads every tensor)', async () => {
    const { error, uploads } = await loadError(await editedTiny(() => {}));
    expect(error).toBeUndefined();
    expect(uploads).toBeGreaterThan(200);
  });

  it('an unknown tensor key is a WeightError before any upload', async () => {
    const { error, uploads } = await loadError(await editedTiny((t) => (t['model.backdoor.weight'] = { dtype: 'F32', shape: [4], data: new Float32Array(4) })));
    console.log(`unknown key: ${String(error)}; weight buffers created: ${uploads}`);
    expect(error).toBeInstanceOf(WeightError);
    expect((error as WeightError).key).toBe('model.backdoor.weight');
    expect(uploads).toBe(0);
  });

  it('a mis-shaped tensor is a WeightError before any upload', async () => {
    const { error, uploads } = await loadError(await editedTiny((t) => (t['class_predictor.bias'] = { dtype: 'F32', shape: [7], data: new Float32Array(7) })));
    console.log(`mis-shaped: ${String(error)}; weight buffers created: ${uploads}`);
    expect(error).toBeInstanceOf(WeightError);
    expect((error as WeightError).key).toBe('class_predictor.bias');
    expect(uploads).toBe(0);
  });

  it('NaN or Inf in a weight is a WeightError naming the tensor and the index', async () => {
    const { error } = await loadError(
      await editedTiny((t) => {
        const w = t['class_predictor.weight'] as WritableTensor;
        const data = (w.data as Float32Array).slice();
        data[5] = NaN;
        data[9] = -Infinity;
        t['class_predictor.weight'] = { ...w, data };
      }),
    );
    console.log(`non-finite weight: ${String(error)}`);
    expect(error).toBeInstanceOf(WeightError);
    expect((error as WeightError).reason).toBe('non-finite');
    expect((error as WeightError).key).toBe('class_predictor.weight');
    expect(String(error)).toContain('2 non-finite');
    expect(String(error)).toContain('index 5');
  });
});

/** A safetensors header (and `tail` data bytes) served as a chunked body: no Content-Length. */
function chunkedFetch(header: object, tail: Uint8Array): typeof fetch {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  return async () => {
    const chunks = [prefix, json, tail.subarray(0, 3), tail.subarray(3)];
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(next);
        else c.close();
      },
    });
    const res = new Response(body, { status: 200 });
    expect(res.headers.get('content-length')).toBeNull();
    return res;
  };
}

describe('streamed weights without Content-Length', () => {
  it('a chunked body declaring a 32 GiB tensor is a WeightError, before any tensor is read or allocated', async () => {
    const bytes = 32 * 2 ** 30;
    const f = chunkedFetch({ big: { dtype: 'F32', shape: [bytes / 4], data_offsets: [0, bytes] } }, new Uint8Array(64));
    let tensors = 0;
    const e = await streamSafetensors('https://example.invalid/model.safetensors', () => void tensors++, { fetch: f }).then(() => undefined, (err: unknown) => err);
    console.log(`32 GiB tensor: ${String(e)}`);
    expect(e).toBeInstanceOf(WeightError);
    expect((e as WeightError).reason).toBe('tensor-too-large');
    expect((e as WeightError).key).toBe('big');
    expect(String(e)).toContain('maxTensorBytes');
    expect(tensors).toBe(0);
  });

  it('the scratch buffer is capped by maxTensorBytes; tensors within it still stream across chunks', async () => {
    const header = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'U8', shape: [4000], data_offsets: [8, 4008] } };
    const tail = new Uint8Array(4008).map((_, i) => i & 0xff);
    const capped = await streamSafetensors('https://example.invalid/m.safetensors', () => {}, { fetch: chunkedFetch(header, tail), maxTensorBytes: 1000 }).then(() => undefined, (err: unknown) => err);
    expect(capped).toBeInstanceOf(WeightError);
    expect((capped as WeightError).key).toBe('b');
    const got: Record<string, number[]> = {};
    await streamSafetensors('https://example.invalid/m.safetensors', (info, b) => void (got[info.name] = [b.byteLength, b[0] ?? -1, b[b.byteLength - 1] ?? -1]), { fetch: chunkedFetch(header, tail), maxTensorBytes: 4000 });
    expect(got).toEqual({ a: [8, 0, 7], b: [4000, 8, 4007 & 0xff] });
  });
});
