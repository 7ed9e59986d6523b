/**
 * safetensors reading, streaming and writing.
 *
 * Layout of a file (https://github.com/huggingface/safetensors):
 *   [0, 8)            N: u64 little-endian, the header's byte length
 *   [8, 8 + N)        header: UTF-8 JSON object, right-padded with spaces
 *                     { "__metadata__"?: {string: string},
 *                       name: { dtype, shape: [d0, d1, ...], data_offsets: [begin, end] }, ... }
 *   [8 + N, EOF)      data section: tensors back to back, offsets relative to its start,
 *                     row-major, little-endian, no alignment guarantee
 *
 * Validation follows the reference implementation (`Metadata::validate` and
 * `SafeTensors::read_metadata`), plus the `{` start check the reference plans to enforce.
 * Every malformed-file problem throws a `WeightError` naming the file, the tensor where there
 * is one, and a machine-readable `reason` (see `SafetensorsErrorReason`).
 */

import { WeightError } from '../errors.ts';

/** Every dtype the reference safetensors library knows, in its enum order (increasing alignment). */
export const DTYPES = [
  'BOOL',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'C64',
  'F64',
  'I64',
  'U64',
] as const;

export type Dtype = (typeof DTYPES)[number];

/** Bits per element (the reference's `Dtype::bitsize`). F4 and F6_* are packed below a byte. */
export const DTYPE_BITS: Readonly<Record<Dtype, number>> = Object.freeze({
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
});

/** Bytes per element: `DTYPE_BITS / 8`, so fractional for the packed F4 (0.5) and F6_* (0.75). */
export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = Object.freeze(
  Object.fromEntries(DTYPES.map((d) => [d, DTYPE_BITS[d] / 8])) as Record<Dtype, number>,
);

/** The reference's limit on the header length N. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Machine-readable `WeightError.reason` values thrown by this module. */
export type SafetensorsErrorReason =
  | 'too-small' // file shorter than the 8-byte length prefix
  | 'header-too-large' // N > 100,000,000
  | 'header-length' // 8 + N runs past the end of the file (or of the prefix given)
  | 'invalid-utf8'
  | 'header-start' // header does not start with '{'
  | 'invalid-json'
  | 'not-object' // top level is not a JSON object
  | 'metadata' // __metadata__ is not an object of strings
  | 'tensor-info' // an entry is not {dtype, shape, data_offsets}
  | 'unknown-dtype'
  | 'shape' // shape is not an array of non-negative safe integers
  | 'offsets' // data_offsets is not [begin, end] with 0 <= begin <= end
  | 'overflow' // element count or byte size is not a safe integer
  | 'misaligned' // a packed sub-byte tensor does not end on a byte boundary
  | 'size-mismatch' // shape x dtype disagrees with end - begin (or with the bytes given)
  | 'gap' // bytes between two tensors (or before the first) that no tensor covers
  | 'overlap' // two tensors share bytes
  | 'truncated' // the file ends before the last tensor does
  | 'trailing-bytes' // bytes after the last tensor
  | 'tensor-too-large' // a tensor declares more bytes than StreamOptions.maxTensorBytes
  | 'http' // non-OK HTTP status
  | 'unsupported-dtype' // a conversion does not handle this dtype
  | 'out-of-range' // a value does not fit the conversion's target type
  | 'write'; // writeSafetensors was given inconsistent tensors

/** One tensor's header entry. `begin` / `end` are byte offsets relative to the data section. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** N, the header's byte length (padding included). */
  readonly headerBytes: number;
  /** 8 + N: where the data section starts in the file. */
  readonly dataOffset: number;
  /** Byte length of the data section (the last tensor's end); the file is `dataOffset + dataBytes` long. */
  readonly dataBytes: number;
  /** In file order (by `begin`, then `end`, then name). */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** `__metadata__`, or `{}` when absent. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** A byte source: whole ArrayBuffer / Uint8Array, a Blob/File (sliced lazily), or a URL fetched with fetch (streamed). */
export type SafetensorsSource = ArrayBuffer | Uint8Array | Blob | string | URL;

export interface LoadProgress {
  loaded: number;
  total: number;
  file: string;
}

export interface StreamOptions {
  /** Called as bytes arrive (URL), are read (Blob) or are handed out (in-memory), once the total is known. */
  onProgress?: (p: LoadProgress) => void;
  /** Defaults to `globalThis.fetch`. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Name used in messages; defaults to the URL, the File's name, `<blob>` or `<buffer>`. */
  file?: string;
  /** Blob sources: consecutive tensors are read together in slices of at most this many bytes
   * (a larger tensor is read alone). Default 16 MiB. */
  blobChunkBytes?: number;
  /**
   * The largest tensor accepted, in file bytes (default `DEFAULT_MAX_TENSOR_BYTES`, 1 GiB). A
   * header declaring a larger one is refused before any tensor is read: a streamed tensor that
   * straddles chunks is assembled in host memory of its size, and the header is untrusted.
   */
  maxTensorBytes?: number;
  /**
   * Called with the parsed header before the first tensor is handed out (and before any tensor
   * byte of a URL is read): the place to reject a checkpoint by its keys, shapes or sizes.
   */
  onHeader?: (header: SafetensorsHeader) => void | Promise<void>;
}

const DEFAULT_BLOB_CHUNK_BYTES = 16 * 1024 * 1024;

/** Default `StreamOptions.maxTensorBytes`: 1 GiB (Mask2Former Swin-L's largest tensor is ~38 MB). */
export const DEFAULT_MAX_TENSOR_BYTES = 2 ** 30;

/** Refuses tensors above the size limit, then lets the caller inspect the header. */
async function acceptHeader(header: SafetensorsHeader, options: StreamOptions, file: string): Promise<void> {
  const limit = options.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES;
  for (const t of header.tensors.values()) {
    if (t.end - t.begin > limit) {
      throw fail(
        file,
        t.name,
        `tensor declares ${t.end - t.begin} bytes (shape [${t.shape.join(', ')}] x ${t.dtype}), more than the limit of ${limit} bytes; raise it with the maxTensorBytes option if the file is trusted`,
        'tensor-too-large',
      );
    }
  }
  await options.onHeader?.(header);
}

/** All WebGPU platforms are little-endian; a big-endian host byte-swaps its copies. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function fail(file: string, key: string | undefined, detail: string, reason: SafetensorsErrorReason): WeightError {
  return new WeightError(file, key, detail, reason);
}

export function isDtype(s: string): s is Dtype {
  return Object.hasOwn(DTYPE_BITS, s);
}

// ---------------------------------------------------------------------------------------------
// Header

/**
 * Reads N from the first 8 bytes and checks it against the 100 MB limit and, when known, the
 * file length. Lets a caller fetch exactly `8 + N` bytes before `parseSafetensorsHeader`.
 */
export function readHeaderLength(prefix: Uint8Array, fileLength: number | undefined, file: string): number {
  if (prefix.byteLength < 8) {
    const have = fileLength ?? prefix.byteLength;
    throw fail(file, undefined, `file is ${have} bytes, shorter than the 8-byte header length`, 'too-small');
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw fail(file, undefined, `header too large: ${n} bytes (limit ${MAX_HEADER_BYTES})`, 'header-too-large');
  }
  const len = Number(n);
  if (fileLength !== undefined && 8 + len > fileLength) {
    throw fail(
      file,
      undefined,
      `header length ${len} runs past the end of the file (8 + ${len} > ${fileLength} bytes)`,
      'header-length',
    );
  }
  return len;
}

/** Parse + validate. `prefix` holds at least the first 8+headerLength bytes; fileLength is the whole file's length. */
export function parseSafetensorsHeader(prefix: Uint8Array, fileLength: number, file: string): SafetensorsHeader {
  if (!Number.isSafeInteger(fileLength) || fileLength < 0) {
    throw new RangeError(`parseSafetensorsHeader: fileLength must be a non-negative integer, got ${fileLength}`);
  }
  return parseHeader(prefix, fileLength, file);
}

/** As `parseSafetensorsHeader`; with `fileLength` undefined (a stream of unknown length) the end is not checked. */
function parseHeader(prefix: Uint8Array, fileLength: number | undefined, file: string): SafetensorsHeader {
  const n = readHeaderLength(prefix, fileLength, file);
  if (prefix.byteLength < 8 + n) {
    throw fail(file, undefined, `need the first ${8 + n} bytes to parse the header, got ${prefix.byteLength}`, 'header-length');
  }

  let text: string;
  try {
    // ignoreBOM keeps a BOM in the text, so that it fails the '{' check as it fails serde_json.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(prefix.subarray(8, 8 + n));
  } catch {
    throw fail(file, undefined, 'header is not valid UTF-8', 'invalid-utf8');
  }
  if (!text.startsWith('{')) {
    const got = text.length === 0 ? 'an empty header' : JSON.stringify(text.slice(0, 16));
    throw fail(file, undefined, `header must start with '{', got ${got}`, 'header-start');
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw fail(file, undefined, `header is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, 'invalid-json');
  }
  if (!isRecord(root)) {
    throw fail(file, undefined, `header must be a JSON object, got ${describe(root)}`, 'not-object');
  }

  let metadata: Readonly<Record<string, string>> = Object.freeze({});
  const infos: TensorInfo[] = [];
  for (const [key, value] of Object.entries(root)) {
    if (key === '__metadata__') metadata = parseMetadata(value, file);
    else infos.push(parseTensorInfo(key, value, file));
  }

  // File order; zero-byte tensors may share a begin, so `end` then the name break ties.
  infos.sort((a, b) => a.begin - b.begin || a.end - b.end || compareCodePoints(a.name, b.name));
  let cursor = 0;
  let prev: TensorInfo | undefined;
  for (const info of infos) {
    if (info.begin > cursor) {
      const detail =
        prev === undefined
          ? `gap: the first tensor begins at byte ${info.begin} of the data section, not 0`
          : `gap: bytes [${cursor}, ${info.begin}) between ${JSON.stringify(prev.name)} (ends at ${cursor}) and this tensor (begins at ${info.begin}) belong to no tensor`;
      throw fail(file, info.name, detail, 'gap');
    }
    if (info.begin < cursor && prev !== undefined) {
      throw fail(
        file,
        info.name,
        `overlap: data_offsets [${info.begin}, ${info.end}] overlap ${JSON.stringify(prev.name)} [${prev.begin}, ${prev.end}]`,
        'overlap',
      );
    }
    cursor = info.end;
    prev = info;
  }

  const dataOffset = 8 + n;
  const expected = dataOffset + cursor;
  if (fileLength !== undefined) {
    if (expected > fileLength) {
      const cut = infos.find((t) => dataOffset + t.end > fileLength);
      throw fail(file, cut?.name, `file truncated: expected ${expected} bytes, got ${fileLength}`, 'truncated');
    }
    if (expected < fileLength) {
      throw fail(
        file,
        undefined,
        `trailing bytes: expected ${expected} bytes, got ${fileLength} (${fileLength - expected} after the last tensor)`,
        'trailing-bytes',
      );
    }
  }

  return Object.freeze({
    headerBytes: n,
    dataOffset,
    dataBytes: cursor,
    tensors: new Map(infos.map((t) => [t.name, t])),
    metadata,
  });
}

function parseMetadata(value: unknown, file: string): Readonly<Record<string, string>> {
  // serde reads `Option<HashMap<String, String>>`, so null means absent.
  if (value === null) return Object.freeze({});
  if (!isRecord(value)) {
    throw fail(file, '__metadata__', `must be an object of strings, got ${describe(value)}`, 'metadata');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw fail(file, '__metadata__', `value of ${JSON.stringify(k)} must be a string, got ${describe(v)}`, 'metadata');
    }
    Object.defineProperty(out, k, { value: v, enumerable: true });
  }
  return Object.freeze(out);
}

function parseTensorInfo(name: string, value: unknown, file: string): TensorInfo {
  if (!isRecord(value)) {
    throw fail(file, name, `expected {dtype, shape, data_offsets}, got ${describe(value)}`, 'tensor-info');
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') {
    throw fail(file, name, `dtype must be a string, got ${describe(dtype)}`, 'tensor-info');
  }
  if (!isDtype(dtype)) {
    throw fail(file, name, `unknown dtype ${JSON.stringify(dtype)} (known: ${DTYPES.join(', ')})`, 'unknown-dtype');
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeSafeInteger)) {
    throw fail(
      file,
      name,
      `shape must be an array of non-negative integers, got ${shape === undefined ? 'none' : JSON.stringify(shape)}`,
      'shape',
    );
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeSafeInteger)) {
    throw fail(
      file,
      name,
      `data_offsets must be [begin, end] of non-negative integers, got ${offsets === undefined ? 'none' : JSON.stringify(offsets)}`,
      'offsets',
    );
  }
  const dims: number[] = shape.map((d: number) => d + 0); // + 0 turns a JSON -0 into 0
  const [begin, end] = offsets as [number, number];
  if (begin > end) {
    throw fail(file, name, `data_offsets [${begin}, ${end}] end before they begin`, 'offsets');
  }
  const bytes = byteSize(dtype, dims, file, name);
  if (end - begin !== bytes) {
    throw fail(
      file,
      name,
      `size mismatch: shape [${dims.join(', ')}] x ${dtype} (${DTYPE_BYTES[dtype]} bytes) needs ${bytes} bytes, ` +
        `data_offsets [${begin}, ${end}] hold ${end - begin}`,
      'size-mismatch',
    );
  }
  return Object.freeze({ name, dtype, shape: Object.freeze(dims), begin, end });
}

function numElements(shape: readonly number[], file: string, name: string): number {
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (!Number.isSafeInteger(count)) {
      throw fail(file, name, `element count of shape [${shape.join(', ')}] overflows`, 'overflow');
    }
  }
  return count;
}

/** Byte size of a tensor, overflow-checked like the reference (bits, then a whole number of bytes). */
function byteSize(dtype: Dtype, shape: readonly number[], file: string, name: string): number {
  const bits = numElements(shape, file, name) * DTYPE_BITS[dtype];
  if (!Number.isSafeInteger(bits)) {
    throw fail(file, name, `byte size of shape [${shape.join(', ')}] x ${dtype} overflows`, 'overflow');
  }
  if (bits % 8 !== 0) {
    throw fail(file, name, `shape [${shape.join(', ')}] x ${dtype} is ${bits} bits, not a whole number of bytes`, 'misaligned');
  }
  return bits / 8;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegativeSafeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Orders like Rust's `String::cmp` (UTF-8 bytes), which is code point order, not UTF-16 unit order. */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) {
      // Equal prefixes keep both strings aligned on the same surrogate boundaries.
      return (a.codePointAt(i) ?? 0) - (b.codePointAt(i) ?? 0);
    }
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------------------------------------
// Streaming

/**
 * Reads the header, then calls onTensor once per tensor in file order with exactly that tensor's
 * bytes (a view that is only valid during the call; unaligned offsets allowed). Never holds a
 * second full copy of the file: a URL is streamed chunk by chunk (keeping only the bytes of the
 * tensor being assembled, in one scratch buffer as large as the largest tensor that straddles
 * chunks), a Blob is sliced in bounded chunks. Tensors over `maxTensorBytes` are refused from
 * the header, and `onHeader` sees the header before any tensor. Throws WeightError if the stream ends early or
 * has extra bytes; an abort rejects with the signal's reason.
 */
export async function streamSafetensors(
  source: SafetensorsSource,
  onTensor: (info: TensorInfo, bytes: Uint8Array) => void | Promise<void>,
  options: StreamOptions = {},
): Promise<SafetensorsHeader> {
  if (typeof source === 'string' || source instanceof URL) return streamUrl(source, onTensor, options);
  if (source instanceof Uint8Array) return streamBytes(source, onTensor, options);
  if (isBlob(source)) return streamBlob(source, onTensor, options);
  return streamBytes(new Uint8Array(source), onTensor, options);
}

type OnTensor = (info: TensorInfo, bytes: Uint8Array) => void | Promise<void>;

function isBlob(source: ArrayBuffer | Blob): source is Blob {
  // Duck-typed so that a Blob from another realm still counts; ArrayBuffer has no arrayBuffer().
  return typeof (source as Partial<Blob>).arrayBuffer === 'function' && typeof (source as Partial<Blob>).slice === 'function';
}

function progress(options: StreamOptions, file: string): (loaded: number, total: number) => void {
  const cb = options.onProgress;
  return cb === undefined ? () => {} : (loaded, total) => cb({ loaded, total, file });
}

async function streamBytes(bytes: Uint8Array, onTensor: OnTensor, options: StreamOptions): Promise<SafetensorsHeader> {
  const file = options.file ?? '<buffer>';
  const report = progress(options, file);
  const total = bytes.byteLength;
  const header = parseHeader(bytes, total, file);
  await acceptHeader(header, options, file);
  report(header.dataOffset, total);
  for (const info of header.tensors.values()) {
    options.signal?.throwIfAborted();
    await onTensor(info, bytes.subarray(header.dataOffset + info.begin, header.dataOffset + info.end));
    report(header.dataOffset + info.end, total);
  }
  return header;
}

async function streamBlob(blob: Blob, onTensor: OnTensor, options: StreamOptions): Promise<SafetensorsHeader> {
  const name = (blob as Partial<File>).name;
  const file = options.file ?? (typeof name === 'string' && name !== '' ? name : '<blob>');
  const report = progress(options, file);
  const chunkBytes = options.blobChunkBytes ?? DEFAULT_BLOB_CHUNK_BYTES;
  const total = blob.size;
  const read = async (begin: number, end: number): Promise<Uint8Array> => {
    options.signal?.throwIfAborted();
    const bytes = new Uint8Array(await blob.slice(begin, end).arrayBuffer());
    if (bytes.byteLength !== end - begin) {
      throw fail(file, undefined, `file truncated: reading bytes [${begin}, ${end}) returned ${bytes.byteLength}`, 'truncated');
    }
    return bytes;
  };

  const n = readHeaderLength(await read(0, Math.min(8, total)), total, file);
  const header = parseHeader(await read(0, 8 + n), total, file);
  await acceptHeader(header, options, file);
  const base = header.dataOffset;
  report(base, total);

  const infos = [...header.tensors.values()];
  for (let i = 0; i < infos.length; ) {
    const first = infos[i] as TensorInfo;
    let j = i + 1;
    while (j < infos.length && (infos[j] as TensorInfo).end - first.begin <= chunkBytes) j++;
    const last = infos[j - 1] as TensorInfo;
    const chunk = await read(base + first.begin, base + last.end);
    for (; i < j; i++) {
      const info = infos[i] as TensorInfo;
      await onTensor(info, chunk.subarray(info.begin - first.begin, info.end - first.begin));
      report(base + info.end, total);
    }
  }
  return header;
}

async function streamUrl(url: string | URL, onTensor: OnTensor, options: StreamOptions): Promise<SafetensorsHeader> {
  const href = typeof url === 'string' ? url : url.href;
  const file = options.file ?? href;
  const report = progress(options, file);
  const fetchFn = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const response = await fetchFn(url, options.signal === undefined ? undefined : { signal: options.signal });
  if (!response.ok) {
    const status = `${response.status}${response.statusText === '' ? '' : ` ${response.statusText}`}`;
    throw fail(file, undefined, `HTTP ${status} fetching ${href}`, 'http');
  }
  const declared = declaredLength(response.headers);
  let total = declared;

  const body = response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  const cursor = new ChunkCursor(body.getReader(), options.signal, (received) => {
    if (total !== undefined) report(received, total);
  });
  try {
    const lengthBytes = await cursor.read(8, (k) => new Uint8Array(k));
    const n = readHeaderLength(lengthBytes, lengthBytes.byteLength < 8 ? cursor.received : declared, file);
    const headerBytes = await cursor.read(n, (k) => new Uint8Array(k));
    if (headerBytes.byteLength < n) {
      throw fail(
        file,
        undefined,
        `header length ${n} runs past the end of the file (8 + ${n} > ${cursor.received} bytes)`,
        'header-length',
      );
    }
    const prefix = new Uint8Array(8 + n);
    prefix.set(lengthBytes, 0);
    prefix.set(headerBytes, 8);
    // With a trustworthy Content-Length a truncated or padded file fails here, before the download.
    const header = parseHeader(prefix, declared, file);
    await acceptHeader(header, options, file);
    const expected = header.dataOffset + header.dataBytes;
    if (total === undefined) {
      total = expected;
      report(cursor.received, total);
    }

    // One scratch buffer for tensors that straddle chunks, grown to the largest such tensor
    // (at most maxTensorBytes, checked above) only when one arrives.
    let scratch = new Uint8Array(0);
    const scratchFor = (k: number): Uint8Array => {
      if (scratch.byteLength < k) scratch = new Uint8Array(k);
      return scratch.subarray(0, k);
    };
    for (const info of header.tensors.values()) {
      const size = info.end - info.begin;
      const bytes = await cursor.read(size, scratchFor);
      if (bytes.byteLength < size) {
        throw fail(file, info.name, `file truncated: expected ${expected} bytes, got ${cursor.received}`, 'truncated');
      }
      await onTensor(info, bytes);
    }
    if (await cursor.hasMore()) {
      throw fail(
        file,
        undefined,
        `trailing bytes: expected ${expected} bytes, got at least ${cursor.received}`,
        'trailing-bytes',
      );
    }
    return header;
  } finally {
    await cursor.close();
  }
}

/** Content-Length, unless a content coding makes it the compressed size rather than the body's. */
function declaredLength(headers: Headers): number | undefined {
  const encoding = headers.get('content-encoding');
  if (encoding !== null && encoding.trim().toLowerCase() !== 'identity' && encoding.trim() !== '') return undefined;
  const value = headers.get('content-length');
  if (value === null || !/^\s*\d+\s*$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Hands out a stream's bytes in requested sizes; owns the reader's lock until close(). */
class ChunkCursor {
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private done = false;
  /** Bytes received from the stream so far. */
  received = 0;

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly signal: AbortSignal | undefined,
    private readonly onChunk: (received: number) => void,
  ) {}

  /** Buffers at least one unread byte; false at the end of the stream. */
  async hasMore(): Promise<boolean> {
    while (this.pos >= this.chunk.byteLength) {
      if (this.done) return false;
      this.signal?.throwIfAborted();
      const r = await this.reader.read();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.chunk = r.value;
      this.pos = 0;
      this.received += r.value.byteLength;
      this.onChunk(this.received);
    }
    return true;
  }

  /**
   * The next n bytes: a view into the current chunk when it holds them all, else copied into
   * `scratchFor(n)`. Shorter than n only when the stream ends first.
   */
  async read(n: number, scratchFor: (n: number) => Uint8Array): Promise<Uint8Array> {
    if (n === 0) return new Uint8Array(0);
    if (!(await this.hasMore())) return new Uint8Array(0);
    if (this.chunk.byteLength - this.pos >= n) {
      const view = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      return view;
    }
    const out = scratchFor(n);
    let got = 0;
    while (got < n && (await this.hasMore())) {
      const k = Math.min(n - got, this.chunk.byteLength - this.pos);
      out.set(this.chunk.subarray(this.pos, this.pos + k), got);
      this.pos += k;
      got += k;
    }
    return out.subarray(0, got);
  }

  /** Releases the stream, cancelling the rest of the download if it has not ended. */
  async close(): Promise<void> {
    if (!this.done) await this.reader.cancel().catch(() => {});
    this.reader.releaseLock();
  }
}

// ---------------------------------------------------------------------------------------------
// Conversions

/** Element count of `info`, after checking that `bytes` has exactly the tensor's size. */
function checkedCount(info: TensorInfo, bytes: Uint8Array, file: string): number {
  const count = numElements(info.shape, file, info.name);
  const expected = byteSize(info.dtype, info.shape, file, info.name);
  if (bytes.byteLength !== expected) {
    throw fail(
      file,
      info.name,
      `size mismatch: shape [${info.shape.join(', ')}] x ${info.dtype} needs ${expected} bytes, got ${bytes.byteLength}`,
      'size-mismatch',
    );
  }
  return count;
}

/** A fresh, zero-offset (so aligned) copy in host byte order, for typed-array views of any width. */
function hostOrderCopy(bytes: Uint8Array, elementBytes: number): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  if (!HOST_LITTLE_ENDIAN) swapBytes(copy, elementBytes);
  return copy.buffer;
}

function swapBytes(bytes: Uint8Array, elementBytes: number): void {
  if (elementBytes <= 1) return;
  for (let i = 0; i < bytes.byteLength; i += elementBytes) bytes.subarray(i, i + elementBytes).reverse();
}

/** IEEE binary16 bits to binary32 bits (exact: every half is a float). */
function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf / nan, payload kept
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal mant * 2^-24: shift the leading 1 up to the implicit bit.
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** OCP FP8 E4M3 ("fn": no infinities; S.1111.111 is NaN), bias 7. */
function e4m3ToFloat(b: number): number {
  const sign = b & 0x80 ? -1 : 1;
  const exp = (b >> 3) & 0xf;
  const mant = b & 0x7;
  if (exp === 0xf && mant === 0x7) return NaN;
  if (exp === 0) return sign * mant * 2 ** -9;
  return sign * (1 + mant / 8) * 2 ** (exp - 7);
}

const TWO_53 = 2n ** 53n;
const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;

/**
 * Convert a tensor's raw little-endian bytes (any alignment) to Float32Array: F32, F16, BF16, F64,
 * the FP8 formats, and the integer types (I64 / U64 via BigInt -> Number, with a WeightError if
 * |v| > 2^53). F4, F6_* and C64 throw WeightError('unsupported-dtype').
 */
export function toFloat32(info: TensorInfo, bytes: Uint8Array, file: string): Float32Array {
  const count = checkedCount(info, bytes, file);
  const width = DTYPE_BYTES[info.dtype];
  switch (info.dtype) {
    case 'F32':
      return new Float32Array(hostOrderCopy(bytes, 4));
    case 'F64':
      return new Float32Array(new Float64Array(hostOrderCopy(bytes, 8)));
    case 'F16':
    case 'BF16': {
      const src = new Uint16Array(hostOrderCopy(bytes, 2));
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      if (info.dtype === 'BF16') for (let i = 0; i < count; i++) bits[i] = (src[i] ?? 0) << 16;
      else for (let i = 0; i < count; i++) bits[i] = halfToFloatBits(src[i] ?? 0);
      return out;
    }
    case 'F8_E5M2': {
      // E5M2 is the top byte of a binary16.
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = halfToFloatBits((bytes[i] ?? 0) << 8);
      return out;
    }
    case 'F8_E4M3': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = e4m3ToFloat(bytes[i] ?? 0);
      return out;
    }
    case 'F8_E8M0': {
      // Exponent-only scale 2^(e - 127); 0xFF is NaN.
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        const e = bytes[i] ?? 0;
        out[i] = e === 0xff ? NaN : 2 ** (e - 127);
      }
      return out;
    }
    case 'BOOL': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = bytes[i] === 0 ? 0 : 1;
      return out;
    }
    case 'U8':
      return new Float32Array(bytes);
    case 'I8':
      return new Float32Array(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    case 'I16':
      return new Float32Array(new Int16Array(hostOrderCopy(bytes, width)));
    case 'U16':
      return new Float32Array(new Uint16Array(hostOrderCopy(bytes, width)));
    case 'I32':
      return new Float32Array(new Int32Array(hostOrderCopy(bytes, width)));
    case 'U32':
      return new Float32Array(new Uint32Array(hostOrderCopy(bytes, width)));
    case 'I64':
    case 'U64': {
      const buffer = hostOrderCopy(bytes, 8);
      const src = info.dtype === 'I64' ? new BigInt64Array(buffer) : new BigUint64Array(buffer);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        const v = src[i] ?? 0n;
        if (v > TWO_53 || v < -TWO_53) {
          throw fail(file, info.name, `${info.dtype} value ${v} at flat index ${i} exceeds 2^53 in magnitude`, 'out-of-range');
        }
        out[i] = Number(v);
      }
      return out;
    }
    case 'F4':
    case 'F6_E2M3':
    case 'F6_E3M2':
    case 'C64':
      throw fail(file, info.name, `toFloat32 does not convert ${info.dtype}`, 'unsupported-dtype');
  }
}

/** Same for integer tensors to Int32Array (I64/U64/I32/U32/I16/U16/I8/U8/BOOL), WeightError on out-of-range. */
export function toInt32(info: TensorInfo, bytes: Uint8Array, file: string): Int32Array {
  const count = checkedCount(info, bytes, file);
  const outOfRange = (v: number | bigint, i: number): WeightError =>
    fail(file, info.name, `${info.dtype} value ${v} at flat index ${i} does not fit in int32`, 'out-of-range');
  switch (info.dtype) {
    case 'I32':
      return new Int32Array(hostOrderCopy(bytes, 4));
    case 'I16':
      return new Int32Array(new Int16Array(hostOrderCopy(bytes, 2)));
    case 'U16':
      return new Int32Array(new Uint16Array(hostOrderCopy(bytes, 2)));
    case 'I8':
      return new Int32Array(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    case 'U8':
      return new Int32Array(bytes);
    case 'BOOL': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = bytes[i] === 0 ? 0 : 1;
      return out;
    }
    case 'U32': {
      const src = new Uint32Array(hostOrderCopy(bytes, 4));
      for (let i = 0; i < count; i++) if ((src[i] ?? 0) > 0x7fffffff) throw outOfRange(src[i] ?? 0, i);
      return new Int32Array(src.buffer);
    }
    case 'I64':
    case 'U64': {
      const buffer = hostOrderCopy(bytes, 8);
      const src = info.dtype === 'I64' ? new BigInt64Array(buffer) : new BigUint64Array(buffer);
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = src[i] ?? 0n;
        if (v < INT32_MIN || v > INT32_MAX) throw outOfRange(v, i);
        out[i] = Number(v);
      }
      return out;
    }
    default:
      throw fail(file, info.name, `toInt32 needs an integer or BOOL tensor, got ${info.dtype}`, 'unsupported-dtype');
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

export type WritableDtype = 'F32' | 'I32' | 'U8' | 'I64' | 'F16';

/** A tensor to write. F16 data is the raw binary16 bits in a Uint16Array. */
export interface WritableTensor {
  dtype: WritableDtype;
  shape: readonly number[];
  data: Float32Array | Int32Array | Uint8Array | BigInt64Array | Uint16Array;
}

function matchesDtype(dtype: WritableDtype, data: WritableTensor['data']): boolean {
  switch (dtype) {
    case 'F32':
      return data instanceof Float32Array;
    case 'I32':
      return data instanceof Int32Array;
    case 'U8':
      return data instanceof Uint8Array;
    case 'I64':
      return data instanceof BigInt64Array;
    case 'F16':
      return data instanceof Uint16Array;
  }
}

const DTYPE_ORDER: Readonly<Record<Dtype, number>> = Object.freeze(
  Object.fromEntries(DTYPES.map((d, i) => [d, i])) as Record<Dtype, number>,
);

/**
 * Write a safetensors file. Tensors are laid out like the reference's `serialize`: by descending
 * dtype alignment, then by name; `__metadata__` (when given) comes first in the header, which is
 * padded with spaces to a multiple of 8. Throws WeightError('write') on a tensor whose data
 * disagrees with its dtype or shape.
 */
export function writeSafetensors(
  tensors: Record<string, WritableTensor>,
  metadata?: Record<string, string>,
): Uint8Array<ArrayBuffer> {
  const file = 'writeSafetensors';
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw fail(file, name, 'a tensor cannot be named __metadata__', 'write');
    if (!matchesDtype(t.dtype, t.data)) {
      throw fail(file, name, `dtype ${t.dtype} does not match data of type ${t.data.constructor.name}`, 'write');
    }
    if (!t.shape.every((d) => isNonNegativeSafeInteger(d))) {
      throw fail(file, name, `shape must be non-negative integers, got [${t.shape.join(', ')}]`, 'write');
    }
    const count = numElements(t.shape, file, name);
    if (count !== t.data.length) {
      throw fail(file, name, `shape [${t.shape.join(', ')}] has ${count} elements, data has ${t.data.length}`, 'write');
    }
  }
  entries.sort(([an, a], [bn, b]) => DTYPE_ORDER[b.dtype] - DTYPE_ORDER[a.dtype] || compareCodePoints(an, bn));

  // Built by hand, not JSON.stringify of an object, because objects enumerate integer-like keys
  // ("0", "1") first and the header's order must match the data's.
  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw fail(file, '__metadata__', `value of ${JSON.stringify(k)} must be a string`, 'write');
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const [name, t] of entries) {
    const end = offset + t.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerBytes = Math.ceil(json.byteLength / 8) * 8;
  if (headerBytes > MAX_HEADER_BYTES) {
    throw fail(file, undefined, `header too large: ${headerBytes} bytes (limit ${MAX_HEADER_BYTES})`, 'write');
  }

  const out = new Uint8Array(8 + headerBytes + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerBytes);
  let at = 8 + headerBytes;
  for (const [, t] of entries) {
    const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(raw, at);
    if (!HOST_LITTLE_ENDIAN) swapBytes(out.subarray(at, at + raw.byteLength), t.data.BYTES_PER_ELEMENT);
    at += raw.byteLength;
  }
  return out;
}

/**
 * Float32 values to IEEE binary16 bits, rounding to nearest even (as a GPU's f32 -> f16
 * conversion and torch's `.half()` do). Returns null when a finite value overflows f16
 * (|v| > 65504 rounds to Inf): such a tensor must stay f32. Subnormals are kept.
 */
export function toFloat16Bits(data: Float32Array): Uint16Array | null {
  const out = new Uint16Array(data.length);
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < data.length; i++) {
    const x = bits[i] as number;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const man = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (man ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) return null;
    if (e <= 0) {
      // Subnormal (or zero) in f16: shift the full mantissa, round to nearest even.
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      const m = man | 0x800000;
      const shift = 14 - e;
      let h = m >>> shift;
      const rem = m & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && (h & 1) === 1)) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (man >>> 13);
    const rem = man & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
    if ((h & 0x7fff) >= 0x7c00) return null; // rounded up to Inf
    out[i] = sign | h;
  }
  return out;
}
