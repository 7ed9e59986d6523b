import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { WeightError } from '../../src/errors.ts';
import {
  DTYPE_BYTES,
  DTYPES,
  parseSafetensorsHeader,
  readHeaderLength,
  streamSafetensors,
  toFloat32,
  toInt32,
  writeSafetensors,
  type LoadProgress,
  type SafetensorsErrorReason,
  type SafetensorsSource,
  type StreamOptions,
  type TensorInfo,
  type WritableTensor,
} from '../../src/weights/safetensors.ts';

const FIXTURE = '/work/shared/fixtures/mask2former/tiny/model.safetensors';
const enc = new TextEncoder();

// --- helpers ---------------------------------------------------------------------------------

/** A file with a hand-written header (not padded unless the JSON is) followed by `data`. */
function rawFile(header: string | Uint8Array, data: Uint8Array | number = 0): Uint8Array<ArrayBuffer> {
  const h = typeof header === 'string' ? enc.encode(header) : header;
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.byteLength + d.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.byteLength), true);
  out.set(h, 8);
  out.set(d, 8 + h.byteLength);
  return out;
}

/** A file whose header is `entries` as JSON, with `dataBytes` zero bytes of data. */
function jsonFile(entries: Record<string, unknown>, dataBytes: number): Uint8Array<ArrayBuffer> {
  return rawFile(JSON.stringify(entries), dataBytes);
}

function caught(fn: () => unknown): WeightError {
  try {
    fn();
  } catch (e) {
    if (e instanceof WeightError) return e;
    throw e;
  }
  throw new Error('expected a WeightError, nothing was thrown');
}

async function caughtAsync(p: Promise<unknown>): Promise<WeightError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof WeightError) return e;
    throw e;
  }
  throw new Error('expected a WeightError, the promise resolved');
}

function parse(bytes: Uint8Array, file = 'bad.safetensors') {
  return parseSafetensorsHeader(bytes, bytes.byteLength, file);
}

function expectParseError(bytes: Uint8Array, reason: SafetensorsErrorReason, key?: string, ...fragments: string[]): WeightError {
  const e = caught(() => parse(bytes));
  expect(e.reason).toBe(reason);
  expect(e.file).toBe('bad.safetensors');
  expect(e.message).toContain('bad.safetensors');
  expect(e.key).toBe(key);
  if (key !== undefined) expect(e.message).toContain(key);
  for (const f of fragments) expect(e.message).toContain(f);
  return e;
}

interface FakeServer {
  fetch: typeof fetch;
  cancelled: () => boolean;
  requests: string[];
}

/**
 * A fetch that serves `bytes` as a ReadableStream in chunks of `sizes` (in order), then the rest
 * in one big chunk.
 */
function fakeServer(bytes: Uint8Array, sizes: readonly number[], opts: { contentLength?: boolean; status?: number } = {}): FakeServer {
  let cancelled = false;
  const requests: string[] = [];
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    requests.push(String(input));
    init?.signal?.throwIfAborted();
    if (opts.status !== undefined && opts.status !== 200) {
      return new Response('nope', { status: opts.status, statusText: 'Not Found' });
    }
    let pos = 0;
    let k = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pos >= bytes.byteLength) {
          c.close();
          return;
        }
        const size = sizes[k++] ?? bytes.byteLength;
        const n = Math.min(size, bytes.byteLength - pos);
        c.enqueue(bytes.slice(pos, pos + n));
        pos += n;
      },
      cancel() {
        cancelled = true;
      },
    });
    const headers = new Headers();
    if (opts.contentLength !== false) headers.set('content-length', String(bytes.byteLength));
    return new Response(body, { status: 200, headers });
  };
  return { fetch: fetchFn as typeof fetch, cancelled: () => cancelled, requests };
}

const AWKWARD = Array.from({ length: 30 }, (_, i) => [1, 3, 7][i % 3] as number);
/** Small chunks throughout, so that the source is never drained early (for the cancel checks). */
const SEVENS = Array.from({ length: 1000 }, () => 7);

interface Collected {
  infos: TensorInfo[];
  bytes: Map<string, Uint8Array>;
  progress: LoadProgress[];
}

async function collect(source: SafetensorsSource, options: StreamOptions = {}): Promise<Collected & { header: Awaited<ReturnType<typeof streamSafetensors>> }> {
  const infos: TensorInfo[] = [];
  const bytes = new Map<string, Uint8Array>();
  const progress: LoadProgress[] = [];
  const header = await streamSafetensors(
    source,
    (info, b) => {
      infos.push(info);
      expect(b.byteLength).toBe(info.end - info.begin);
      bytes.set(info.name, b.slice()); // the view is only valid during the call
    },
    { ...options, onProgress: (p) => progress.push({ ...p }) },
  );
  return { header, infos, bytes, progress };
}

function expectProgressComplete(progress: readonly LoadProgress[], total: number): void {
  expect(progress.length).toBeGreaterThan(0);
  for (let i = 1; i < progress.length; i++) {
    expect((progress[i] as LoadProgress).loaded).toBeGreaterThanOrEqual((progress[i - 1] as LoadProgress).loaded);
  }
  const last = progress[progress.length - 1] as LoadProgress;
  expect(last.loaded).toBe(total);
  expect(last.total).toBe(total);
  for (const p of progress) expect(p.loaded).toBeLessThanOrEqual(p.total);
}

// --- a small file with every writable dtype ----------------------------------------------------

const F32 = new Float32Array([0.5, -1.25, 3, 1e-7, -65504, 7.75]);
const I64 = new BigInt64Array([0n, -1n, 2147483647n, -2147483648n]);
const I32 = new Int32Array([1, -2, 3, -4]);
const U8 = new Uint8Array([0, 1, 254]);
const F16 = new Uint16Array([0x3c00, 0xc100]); // 1.0, -2.5

const TENSORS: Record<string, WritableTensor> = {
  'w.weight': { dtype: 'F32', shape: [2, 3], data: F32 },
  idx: { dtype: 'I64', shape: [4], data: I64 },
  'layer.0.bias': { dtype: 'I32', shape: [2, 2], data: I32 },
  mask: { dtype: 'U8', shape: [3], data: U8 },
  half: { dtype: 'F16', shape: [2], data: F16 },
};
const META = { format: 'pt', note: 'ünïcode ✓' };
const FILE = writeSafetensors(TENSORS, META);

function checkSmallFile(c: Collected, file: string): void {
  expect(c.infos.map((t) => t.name)).toEqual(['idx', 'w.weight', 'layer.0.bias', 'half', 'mask']);
  const get = (name: string) => {
    const info = c.infos.find((t) => t.name === name);
    const b = c.bytes.get(name);
    if (info === undefined || b === undefined) throw new Error(`missing ${name}`);
    return { info, b };
  };
  const w = get('w.weight');
  expect(toFloat32(w.info, w.b, file)).toEqual(F32);
  const idx = get('idx');
  expect(Array.from(toInt32(idx.info, idx.b, file))).toEqual([0, -1, 2147483647, -2147483648]);
  expect(Array.from(toFloat32(idx.info, idx.b, file))).toEqual([0, -1, 2 ** 31, -(2 ** 31)]); // 2^31 - 1 rounds in f32
  const bias = get('layer.0.bias');
  expect(toInt32(bias.info, bias.b, file)).toEqual(I32);
  const mask = get('mask');
  expect(Array.from(toInt32(mask.info, mask.b, file))).toEqual([0, 1, 254]);
  const half = get('half');
  expect(Array.from(toFloat32(half.info, half.b, file))).toEqual([1, -2.5]);
}

describe('writeSafetensors -> parseSafetensorsHeader', () => {
  it('round-trips names, dtypes, shapes, offsets and metadata', () => {
    const h = parseSafetensorsHeader(FILE, FILE.byteLength, 'small.safetensors');
    expect(h.headerBytes % 8).toBe(0);
    expect(h.dataOffset).toBe(8 + h.headerBytes);
    expect(h.dataOffset + h.dataBytes).toBe(FILE.byteLength);
    expect(h.metadata).toEqual(META);
    // Reference order: descending dtype alignment, then name.
    expect([...h.tensors.keys()]).toEqual(['idx', 'w.weight', 'layer.0.bias', 'half', 'mask']);
    const w = h.tensors.get('w.weight');
    expect(w).toEqual({ name: 'w.weight', dtype: 'F32', shape: [2, 3], begin: 32, end: 56 });
    expect(h.tensors.get('idx')).toMatchObject({ dtype: 'I64', shape: [4], begin: 0, end: 32 });
    expect(h.tensors.get('mask')).toMatchObject({ dtype: 'U8', shape: [3], begin: 76, end: 79 });
  });

  it('pads the header with spaces to a multiple of 8 and writes valid JSON', () => {
    const n = readHeaderLength(FILE, FILE.byteLength, 'small.safetensors');
    const text = new TextDecoder().decode(FILE.subarray(8, 8 + n));
    expect(text.startsWith('{"__metadata__":')).toBe(true);
    expect(/} *$/.test(text)).toBe(true);
    expect(JSON.parse(text)).toMatchObject({ 'w.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [32, 56] } });
  });

  it('keeps integer-like names in code-point order (not JS object key order)', () => {
    const t = (v: number): WritableTensor => ({ dtype: 'F32', shape: [1], data: new Float32Array([v]) });
    const bytes = writeSafetensors({ '2': t(2), '10': t(10), '0': t(0), b: t(-1) });
    const h = parse(bytes);
    expect([...h.tensors.keys()]).toEqual(['0', '10', '2', 'b']);
    expect(h.tensors.get('2')?.begin).toBe(8);
  });

  it('writes no __metadata__ when none is given, and an empty file for no tensors', () => {
    const bytes = writeSafetensors({});
    expect(bytes.byteLength).toBe(16);
    const h = parse(bytes);
    expect(h.tensors.size).toBe(0);
    expect(h.metadata).toEqual({});
  });

  it('rejects data that disagrees with the dtype or shape', () => {
    let e = caught(() => writeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }));
    expect(e.reason).toBe('write');
    expect(e.key).toBe('a');
    e = caught(() => writeSafetensors({ a: { dtype: 'I32', shape: [2], data: new Float32Array(2) } }));
    expect(e.reason).toBe('write');
  });

  it('accepts zero-element tensors sharing an offset', () => {
    const bytes = writeSafetensors({
      empty1: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      empty2: { dtype: 'F32', shape: [0], data: new Float32Array(0) },
      x: { dtype: 'F32', shape: [1], data: new Float32Array([1]) },
    });
    const h = parse(bytes);
    expect([...h.tensors.values()].map((t) => [t.name, t.begin, t.end])).toEqual([
      ['empty1', 0, 0],
      ['empty2', 0, 0],
      ['x', 0, 4],
    ]);
  });
});

describe('streamSafetensors', () => {
  it('ArrayBuffer source', async () => {
    const ab = FILE.slice().buffer;
    const c = await collect(ab);
    checkSmallFile(c, '<buffer>');
    expectProgressComplete(c.progress, FILE.byteLength);
    expect(c.progress[0]?.file).toBe('<buffer>');
  });

  it('Uint8Array source at an odd byteOffset, views into the source', async () => {
    const big = new Uint8Array(FILE.byteLength + 5);
    big.set(FILE, 3);
    const view = big.subarray(3, 3 + FILE.byteLength);
    const offsets: number[] = [];
    await streamSafetensors(view, (_info, b) => {
      offsets.push(b.byteOffset);
      expect(b.buffer).toBe(big.buffer);
    });
    const c = await collect(view, { file: 'named.safetensors' });
    checkSmallFile(c, 'named.safetensors');
    expect(c.progress[0]?.file).toBe('named.safetensors');
    expectProgressComplete(c.progress, FILE.byteLength);
    expect(offsets.some((o) => o % 4 !== 0)).toBe(true);
  });

  it.each([
    ['default chunking', undefined],
    ['5-byte chunks (one tensor per slice)', 5],
    ['40-byte chunks (grouped tensors)', 40],
  ])('Blob source, %s', async (_name, blobChunkBytes) => {
    const c = await collect(new Blob([FILE]), blobChunkBytes === undefined ? {} : { blobChunkBytes });
    checkSmallFile(c, '<blob>');
    expectProgressComplete(c.progress, FILE.byteLength);
  });

  it('File source takes its name for messages', async () => {
    const c = await collect(new File([FILE], 'my.safetensors'));
    expect(c.progress[0]?.file).toBe('my.safetensors');
    const e = await caughtAsync(streamSafetensors(new File([FILE.subarray(0, FILE.byteLength - 1)], 'cut.safetensors'), () => {}));
    expect(e.reason).toBe('truncated');
    expect(e.message).toContain('cut.safetensors');
  });

  it.each([
    ['1/3/7-byte chunks then one big chunk', AWKWARD, true],
    ['1/3/7-byte chunks, no Content-Length', AWKWARD, false],
    ['7-byte chunks throughout', SEVENS, true],
    ['1-byte chunks throughout, no Content-Length', Array.from({ length: 500 }, () => 1), false],
    ['one chunk', [], true],
  ])('URL source, %s', async (_name, sizes, contentLength) => {
    const server = fakeServer(FILE, sizes, { contentLength });
    const url = 'https://example.test/small.safetensors';
    const c = await collect(url, { fetch: server.fetch });
    expect(server.requests).toEqual([url]);
    checkSmallFile(c, url);
    expectProgressComplete(c.progress, FILE.byteLength);
    expect(c.progress[0]?.file).toBe(url);
    expect(c.header.tensors.size).toBe(5);
  });

  it('URL object source', async () => {
    const server = fakeServer(FILE, AWKWARD);
    const c = await collect(new URL('https://example.test/a.safetensors'), { fetch: server.fetch });
    checkSmallFile(c, 'x');
  });

  it('non-OK HTTP status names the URL and status', async () => {
    const server = fakeServer(FILE, [], { status: 404 });
    const e = await caughtAsync(streamSafetensors('https://example.test/missing.safetensors', () => {}, { fetch: server.fetch }));
    expect(e.reason).toBe('http');
    expect(e.message).toContain('https://example.test/missing.safetensors');
    expect(e.message).toContain('404');
  });

  it('truncated and padded streams', async () => {
    const url = 'https://example.test/t.safetensors';
    const cut = FILE.subarray(0, FILE.byteLength - 2);
    const padded = new Uint8Array(FILE.byteLength + 3);
    padded.set(FILE);
    for (const contentLength of [true, false]) {
      let server = fakeServer(cut, AWKWARD, { contentLength });
      let e = await caughtAsync(streamSafetensors(url, () => {}, { fetch: server.fetch }));
      expect(e.reason).toBe('truncated');
      expect(e.message).toContain(`expected ${FILE.byteLength} bytes, got ${cut.byteLength}`);
      server = fakeServer(padded, AWKWARD, { contentLength });
      e = await caughtAsync(streamSafetensors(url, () => {}, { fetch: server.fetch }));
      expect(e.reason).toBe('trailing-bytes');
      expect(e.message).toContain(url);
    }
    // With Content-Length the mismatch is caught from the header, before the data is downloaded.
    const server = fakeServer(cut, SEVENS, { contentLength: true });
    let calls = 0;
    await caughtAsync(streamSafetensors(url, () => void calls++, { fetch: server.fetch }));
    expect(calls).toBe(0);
    expect(server.cancelled()).toBe(true);
    // Streams shorter than the length prefix, or ending inside the header.
    let e = await caughtAsync(streamSafetensors(url, () => {}, { fetch: fakeServer(FILE.subarray(0, 5), [1, 3], { contentLength: false }).fetch }));
    expect(e.reason).toBe('too-small');
    e = await caughtAsync(streamSafetensors(url, () => {}, { fetch: fakeServer(FILE.subarray(0, 40), AWKWARD, { contentLength: false }).fetch }));
    expect(e.reason).toBe('header-length');
  });

  it('an error thrown by onTensor propagates and cancels the download', async () => {
    const server = fakeServer(FILE, SEVENS);
    await expect(
      streamSafetensors('https://example.test/a', () => {
        throw new Error('boom');
      }, { fetch: server.fetch }),
    ).rejects.toThrow('boom');
    expect(server.cancelled()).toBe(true);
  });

  it('abort rejects with the signal reason', async () => {
    const server = fakeServer(FILE, AWKWARD);
    const ac = new AbortController();
    const p = streamSafetensors('https://example.test/a', (info) => {
      if (info.name === 'w.weight') ac.abort(new Error('stop'));
    }, { fetch: server.fetch, signal: ac.signal });
    await expect(p).rejects.toThrow('stop');
    await expect(streamSafetensors(FILE, () => {}, { signal: AbortSignal.abort(new Error('early')) })).rejects.toThrow('early');
  });

  it('awaits async onTensor callbacks in file order', async () => {
    const order: string[] = [];
    await streamSafetensors(new Blob([FILE]), async (info) => {
      await new Promise((r) => setTimeout(r, 1));
      order.push(info.name);
    });
    expect(order).toEqual(['idx', 'w.weight', 'layer.0.bias', 'half', 'mask']);
  });
});

describe('unaligned tensor offsets', () => {
  // U8[3] at [0, 3) then F32[2] at [3, 11): the F32 data starts at an odd file offset.
  const header = JSON.stringify({
    m: { dtype: 'U8', shape: [3], data_offsets: [0, 3] },
    w: { dtype: 'F32', shape: [2], data_offsets: [3, 11] },
    h: { dtype: 'F16', shape: [1], data_offsets: [11, 13] },
  });
  const data = new Uint8Array(13);
  data.set([9, 8, 7], 0);
  const dv = new DataView(data.buffer);
  dv.setFloat32(3, 1.5, true);
  dv.setFloat32(7, -0.25, true);
  dv.setUint16(11, 0x7bff, true);
  const bytes = rawFile(header, data);

  it.each([
    ['Uint8Array', () => bytes],
    ['ArrayBuffer', () => bytes.slice().buffer],
    ['Blob', () => new Blob([bytes])],
  ] as const)('%s', async (_name, make) => {
    const c = await collect(make());
    const w = c.infos.find((t) => t.name === 'w') as TensorInfo;
    expect(Array.from(toFloat32(w, c.bytes.get('w') as Uint8Array, 'x'))).toEqual([1.5, -0.25]);
    const h = c.infos.find((t) => t.name === 'h') as TensorInfo;
    expect(Array.from(toFloat32(h, c.bytes.get('h') as Uint8Array, 'x'))).toEqual([65504]);
    expect(Array.from(c.bytes.get('m') as Uint8Array)).toEqual([9, 8, 7]);
  });

  it('URL', async () => {
    const c = await collect('https://example.test/u', { fetch: fakeServer(bytes, AWKWARD).fetch });
    const w = c.infos.find((t) => t.name === 'w') as TensorInfo;
    expect(Array.from(toFloat32(w, c.bytes.get('w') as Uint8Array, 'x'))).toEqual([1.5, -0.25]);
  });

  it('converts directly from an unaligned view', async () => {
    let got: number[] = [];
    await streamSafetensors(bytes, (info, b) => {
      if (info.name === 'w') {
        expect(b.byteOffset % 4).not.toBe(0);
        got = Array.from(toFloat32(info, b, 'x'));
      }
    });
    expect(got).toEqual([1.5, -0.25]);
  });
});

describe('conversions', () => {
  const info = (dtype: TensorInfo['dtype'], count: number): TensorInfo => ({
    name: 't',
    dtype,
    shape: [count],
    begin: 0,
    end: count * DTYPE_BYTES[dtype],
  });
  /** u16 values as little-endian bytes, placed at byte offset 1 of the buffer to test alignment. */
  const u16Bytes = (values: readonly number[]): Uint8Array => {
    const buf = new Uint8Array(values.length * 2 + 1);
    const dv = new DataView(buf.buffer);
    values.forEach((v, i) => dv.setUint16(1 + 2 * i, v, true));
    return buf.subarray(1);
  };

  it('F16: 1.0, -2.5, 65504, subnormals, ±0, ±inf, nan', () => {
    const bits = [0x3c00, 0xc100, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x3555];
    const got = toFloat32(info('F16', bits.length), u16Bytes(bits), 'x');
    expect(got[0]).toBe(1);
    expect(got[1]).toBe(-2.5);
    expect(got[2]).toBe(65504);
    expect(got[3]).toBe(2 ** -24); // smallest subnormal
    expect(got[4]).toBe(1023 * 2 ** -24); // largest subnormal
    expect(got[5]).toBe(2 ** -14); // smallest normal
    expect(Object.is(got[6], -0)).toBe(true);
    expect(got[7]).toBe(Infinity);
    expect(got[8]).toBe(-Infinity);
    expect(Number.isNaN(got[9])).toBe(true);
    expect(got[10]).toBe(Math.fround(0.333251953125)); // 0x3555 = 1365/4096
  });

  it('BF16: 1.0, -2.5, 65280, max, subnormal, ±inf, nan', () => {
    const bits = [0x3f80, 0xc020, 0x477f, 0x7f7f, 0x0001, 0x7f80, 0xff80, 0x7fc0];
    const got = toFloat32(info('BF16', bits.length), u16Bytes(bits), 'x');
    expect(got[0]).toBe(1);
    expect(got[1]).toBe(-2.5);
    expect(got[2]).toBe(65280);
    expect(got[3]).toBe(Math.fround(3.3895313892515355e38));
    expect(got[4]).toBe(2 ** -133);
    expect(got[5]).toBe(Infinity);
    expect(got[6]).toBe(-Infinity);
    expect(Number.isNaN(got[7])).toBe(true);
  });

  it('F64, FP8 and small integer types', () => {
    const f64 = new Uint8Array(new Float64Array([1.5, -1e300, 0.1]).buffer);
    expect(Array.from(toFloat32(info('F64', 3), f64, 'x'))).toEqual([1.5, -Infinity, Math.fround(0.1)]);
    // E4M3: 0x38 = 1.0, 0xB8 = -1.0, 0x7E = 448 (max), 0x01 = 2^-9, 0x7F = nan
    const e4m3 = toFloat32(info('F8_E4M3', 5), new Uint8Array([0x38, 0xb8, 0x7e, 0x01, 0x7f]), 'x');
    expect(Array.from(e4m3.subarray(0, 4))).toEqual([1, -1, 448, 2 ** -9]);
    expect(Number.isNaN(e4m3[4])).toBe(true);
    // E5M2: 0x3C = 1.0, 0x7B = 57344 (max), 0x7C = inf
    expect(Array.from(toFloat32(info('F8_E5M2', 3), new Uint8Array([0x3c, 0x7b, 0x7c]), 'x'))).toEqual([1, 57344, Infinity]);
    expect(Array.from(toFloat32(info('I8', 2), new Uint8Array([0xff, 0x7f]), 'x'))).toEqual([-1, 127]);
    expect(Array.from(toInt32(info('I16', 2), u16Bytes([0xffff, 0x7fff]), 'x'))).toEqual([-1, 32767]);
    expect(Array.from(toInt32(info('U16', 1), u16Bytes([0xffff]), 'x'))).toEqual([65535]);
    expect(Array.from(toInt32(info('BOOL', 3), new Uint8Array([0, 1, 1]), 'x'))).toEqual([0, 1, 1]);
  });

  it('I64 to Int32 and Float32 at an unaligned offset, with range checks', () => {
    const values = [0n, 5n, -7n, 168n, -(2n ** 31n), 2n ** 31n - 1n];
    const buf = new Uint8Array(values.length * 8 + 3);
    const dv = new DataView(buf.buffer);
    values.forEach((v, i) => dv.setBigInt64(3 + 8 * i, v, true));
    const bytes = buf.subarray(3);
    expect(Array.from(toInt32(info('I64', values.length), bytes, 'x'))).toEqual(values.map(Number));
    expect(Array.from(toFloat32(info('I64', values.length), bytes, 'x'))).toEqual(values.map((v) => Math.fround(Number(v))));

    const big = new Uint8Array(new BigInt64Array([1n, 2n ** 31n]).buffer);
    let e = caught(() => toInt32(info('I64', 2), big, 'f.safetensors'));
    expect(e.reason).toBe('out-of-range');
    expect(e.message).toContain('f.safetensors');
    expect(e.message).toContain('2147483648');
    expect(Array.from(toFloat32(info('I64', 2), big, 'x'))).toEqual([1, 2 ** 31]);

    const huge = new Uint8Array(new BigInt64Array([2n ** 53n, -(2n ** 53n) - 1n]).buffer);
    e = caught(() => toFloat32(info('I64', 2), huge, 'x'));
    expect(e.reason).toBe('out-of-range');
    expect(e.message).toContain('index 1');

    const u32 = new Uint8Array(new Uint32Array([2 ** 31]).buffer);
    expect(caught(() => toInt32(info('U32', 1), u32, 'x')).reason).toBe('out-of-range');
  });

  it('rejects wrong byte counts and unsupported dtypes', () => {
    expect(caught(() => toFloat32(info('F32', 2), new Uint8Array(7), 'x')).reason).toBe('size-mismatch');
    expect(caught(() => toInt32(info('F32', 1), new Uint8Array(4), 'x')).reason).toBe('unsupported-dtype');
    expect(caught(() => toFloat32(info('C64', 1), new Uint8Array(8), 'x')).reason).toBe('unsupported-dtype');
  });
});

describe('malformed files', () => {
  const f32 = (offsets: [number, number], shape: unknown = [2]) => ({ dtype: 'F32', shape, data_offsets: offsets });

  it('shorter than 8 bytes', () => {
    expectParseError(new Uint8Array(5), 'too-small', undefined, '5 bytes');
  });

  it('truncated data names the tensor cut off', () => {
    expectParseError(FILE.subarray(0, FILE.byteLength - 1), 'truncated', 'mask', `expected ${FILE.byteLength} bytes, got ${FILE.byteLength - 1}`);
  });

  it('trailing bytes', () => {
    const padded = new Uint8Array(FILE.byteLength + 4);
    padded.set(FILE);
    expectParseError(padded, 'trailing-bytes', undefined, 'trailing bytes', `expected ${FILE.byteLength} bytes, got ${FILE.byteLength + 4}`);
  });

  it('header length over 100 MB', () => {
    const b = new Uint8Array(64);
    new DataView(b.buffer).setBigUint64(0, 100_000_001n, true);
    expectParseError(b, 'header-too-large', undefined, 'header too large');
    new DataView(b.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expectParseError(b, 'header-too-large');
  });

  it('header length beyond the file', () => {
    const b = new Uint8Array(50);
    new DataView(b.buffer).setBigUint64(0, 1000n, true);
    expectParseError(b, 'header-length', undefined, '1000');
  });

  it('prefix shorter than the header', () => {
    const e = caught(() => parseSafetensorsHeader(FILE.subarray(0, 20), FILE.byteLength, 'p'));
    expect(e.reason).toBe('header-length');
  });

  it('invalid UTF-8', () => {
    const h = enc.encode('{"a\u00ff":{}}');
    h[3] = 0xff; // lone continuation-less lead byte
    expectParseError(rawFile(h), 'invalid-utf8', undefined, 'UTF-8');
  });

  it('invalid JSON', () => {
    expectParseError(rawFile('{"a": {"dtype": "F32",'), 'invalid-json', undefined, 'JSON');
  });

  it("header not starting with '{'", () => {
    expectParseError(rawFile(' {}'), 'header-start');
    expectParseError(rawFile('[]'), 'header-start');
    expectParseError(rawFile('\ufeff{}'), 'header-start'); // a BOM is not skipped
    expectParseError(rawFile(''), 'header-start');
  });

  it('trailing spaces after the JSON are allowed', () => {
    expect(parse(rawFile('{}      ')).tensors.size).toBe(0);
  });

  it('unknown dtype', () => {
    expectParseError(jsonFile({ t: { dtype: 'F12', shape: [1], data_offsets: [0, 4] } }, 4), 'unknown-dtype', 't', 'F12');
  });

  it('shape / size mismatch', () => {
    expectParseError(jsonFile({ 'a.weight': f32([0, 12], [2, 2]) }, 12), 'size-mismatch', 'a.weight', 'size mismatch', '[2, 2]', 'F32', '16', '12');
  });

  it('overlapping offsets', () => {
    expectParseError(jsonFile({ a: f32([0, 8]), b: f32([4, 12]) }, 12), 'overlap', 'b', '"a"', '[4, 12]', '[0, 8]');
  });

  it('gapped offsets', () => {
    expectParseError(jsonFile({ a: f32([0, 8]), b: f32([12, 20]) }, 20), 'gap', 'b', '"a"', '8', '12');
    expectParseError(jsonFile({ a: f32([4, 12]) }, 12), 'gap', 'a', 'begins at byte 4');
  });

  it('offsets out of order in the JSON are fine', () => {
    const h = parse(jsonFile({ b: f32([8, 16]), a: f32([0, 8]) }, 16));
    expect([...h.tensors.keys()]).toEqual(['a', 'b']);
  });

  it('non-string metadata value', () => {
    expectParseError(jsonFile({ __metadata__: { format: 1 } }, 0), 'metadata', '__metadata__', 'format');
    expectParseError(jsonFile({ __metadata__: ['pt'] }, 0), 'metadata', '__metadata__');
    expect(parse(jsonFile({ __metadata__: null }, 0)).metadata).toEqual({});
  });

  it('negative or non-integer shape', () => {
    expectParseError(jsonFile({ t: f32([0, 8], [-1, 2]) }, 8), 'shape', 't', '[-1,2]');
    expectParseError(jsonFile({ t: f32([0, 8], [1.5]) }, 8), 'shape', 't');
    expectParseError(jsonFile({ t: f32([0, 8], '2') }, 8), 'shape', 't');
    expectParseError(jsonFile({ t: f32([0, 8], [2 ** 53]) }, 8), 'shape', 't');
  });

  it('bad data_offsets and entries', () => {
    expectParseError(jsonFile({ t: f32([8, 0]) }, 8), 'offsets', 't');
    expectParseError(jsonFile({ t: f32([0, -8]) }, 8), 'offsets', 't');
    expectParseError(jsonFile({ t: { dtype: 'F32', shape: [2] } }, 8), 'offsets', 't');
    expectParseError(jsonFile({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 4, 8] } }, 8), 'offsets', 't');
    expectParseError(jsonFile({ t: { shape: [2], data_offsets: [0, 8] } }, 8), 'tensor-info', 't');
    expectParseError(jsonFile({ t: [1, 2] }, 8), 'tensor-info', 't');
  });

  it('overflowing and sub-byte sizes', () => {
    expectParseError(jsonFile({ t: f32([0, 8], [2 ** 30, 2 ** 30, 2 ** 30]) }, 8), 'overflow', 't');
    expectParseError(jsonFile({ t: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, 2), 'misaligned', 't');
    expect(parse(jsonFile({ t: { dtype: 'F4', shape: [4], data_offsets: [0, 2] } }, 2)).tensors.get('t')?.dtype).toBe('F4');
  });

  it('knows every reference dtype', () => {
    expect([...DTYPES].sort()).toEqual(
      ['BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64'].sort(),
    );
    for (const d of DTYPES) {
      const bytes = DTYPE_BYTES[d] * 8;
      expect(parse(jsonFile({ t: { dtype: d, shape: [8], data_offsets: [0, bytes] } }, bytes)).tensors.get('t')?.dtype).toBe(d);
    }
  });

  it('errors are WeightErrors through every source', async () => {
    const bad = jsonFile({ a: f32([0, 8]), b: f32([4, 12]) }, 12);
    for (const source of [bad, bad.slice().buffer, new Blob([bad])]) {
      const e = await caughtAsync(streamSafetensors(source, () => {}, { file: 'bad.safetensors' }));
      expect(e.reason).toBe('overlap');
      expect(e.message).toContain('bad.safetensors');
    }
    const e = await caughtAsync(streamSafetensors('https://example.test/bad', () => {}, { fetch: fakeServer(bad, AWKWARD).fetch }));
    expect(e.reason).toBe('overlap');
    expect(e.message).toContain('https://example.test/bad');
  });
});

describe('tiny Mask2Former fixture', () => {
  const bytes = new Uint8Array(readFileSync(FIXTURE));

  it('parses 298 tensors with the expected dtypes and shapes', () => {
    const h = parseSafetensorsHeader(bytes, bytes.byteLength, FIXTURE);
    expect(h.tensors.size).toBe(298);
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.tensors.get('class_predictor.weight')).toMatchObject({ dtype: 'F32', shape: [6, 64] });
    const rpi = h.tensors.get('model.pixel_level_module.encoder.encoder.layers.0.blocks.0.attention.self.relative_position_index');
    expect(rpi).toMatchObject({ dtype: 'I64', shape: [49, 49] });
    const dtypes = new Set([...h.tensors.values()].map((t) => t.dtype));
    expect([...dtypes].sort()).toEqual(['F32', 'I64']);
    expect([...h.tensors.values()].filter((t) => t.dtype === 'I64').length).toBe(8);
    expect(h.dataOffset + h.dataBytes).toBe(bytes.byteLength);
  });

  it('streams identically from memory, Blob and URL', async () => {
    const sums = async (source: SafetensorsSource, options: StreamOptions = {}): Promise<Map<string, number>> => {
      const out = new Map<string, number>();
      await streamSafetensors(
        source,
        (info, b) => {
          if (info.dtype === 'I64') {
            const v = toInt32(info, b, FIXTURE);
            expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
            expect(Math.max(...v)).toBeLessThan(169); // (2*7-1)^2 relative positions
            out.set(info.name, v.reduce((s, x) => s + x, 0));
          } else {
            out.set(info.name, toFloat32(info, b, FIXTURE).reduce((s, x) => s + x, 0));
          }
        },
        options,
      );
      return out;
    };
    const ref = await sums(bytes);
    expect(ref.size).toBe(298);
    expect(await sums(new Blob([bytes]), { blobChunkBytes: 100_000 })).toEqual(ref);
    const progress: LoadProgress[] = [];
    const server = fakeServer(bytes, AWKWARD, { contentLength: false });
    expect(await sums('https://example.test/model.safetensors', { fetch: server.fetch, onProgress: (p) => progress.push(p) })).toEqual(ref);
    expectProgressComplete(progress, bytes.byteLength);
  });
});
