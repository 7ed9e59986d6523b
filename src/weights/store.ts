/**
 * Checkpoint tensors in GPU buffers, keyed by their Hugging Face names. Loading streams the
 * safetensors file tensor by tensor straight into GPU buffers (float types become f32, integer
 * types i32), so the file is never held twice. The store tracks which keys a model used, so a
 * model can insist that every tensor is consumed or explicitly ignored.
 */
import { GpuError, WeightError } from '../errors.ts';
import type { GpuContext } from '../gpu/device.ts';
import type { WeightSource } from '../graph/runner.ts';
import type { PackedLayout } from '../graph/builder.ts';
import { HeaderShapes } from './header-shapes.ts';
import { packedLayout, packKMajor } from './pack.ts';
import { streamSafetensors, toFloat16Bits, toFloat32, toInt32, type LoadProgress, type SafetensorsSource, type TensorInfo } from './safetensors.ts';

export interface StoredTensor {
  readonly key: string;
  readonly shape: readonly number[];
  /** The file's dtype. */
  readonly fileDtype: string;
  /** How the GPU buffer holds it: floats f32 (or f16 where asked, see `half`), integers i32. */
  readonly dtype: 'f32' | 'f16' | 'i32';
  readonly buffer: GPUBuffer;
  /** Packed K-major for the vec4 matmul at load (see `pack`), else undefined (file layout). */
  readonly packed?: PackedLayout;
}

export interface LoadWeightsOptions {
  readonly onProgress?: (p: LoadProgress) => void;
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
  /** Name used in errors (defaults to the URL or 'model.safetensors'). */
  readonly file?: string;
  /** Keys not uploaded at all (e.g. loss buffers); they still count as known. */
  readonly skip?: (key: string) => boolean;
  /**
   * Checks the header's keys and shapes before anything is uploaded (a model binds itself to
   * them); throwing rejects the checkpoint with no GPU buffer created.
   */
  readonly checkHeader?: (shapes: HeaderShapes) => void;
  /** Largest tensor accepted, in file bytes (see `StreamOptions.maxTensorBytes`). */
  readonly maxTensorBytes?: number;
  /**
   * Float tensors to keep as f16 on the GPU (half the memory and upload); asked after
   * `checkHeader`, so a model can bind itself first and name the keys only f16-capable kernels
   * read. A tensor with values beyond f16's range (|v| > 65504) stays f32; `dtype(key)` tells.
   */
  readonly half?: (key: string) => boolean;
  /**
   * Float tensors to store packed K-major for the vec4 matmul, with the K their rows have (see
   * weights/pack.ts); asked after `checkHeader`. `packed(key)` tells the layout.
   */
  readonly pack?: (key: string) => number | undefined;
}

const INT_DTYPES = new Set(['I64', 'I32', 'I16', 'I8', 'U8', 'U16', 'U32', 'U64', 'BOOL']);

/**
 * NaN or Inf in a weight spreads to every logit downstream and post-processing then finds no
 * segment at all; a corrupt checkpoint must say so instead.
 */
function checkFinite(data: Float32Array, info: TensorInfo, file: string): void {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i] as number)) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad > 0) {
    throw new WeightError(file, info.name, `${bad} non-finite value(s) (NaN or Inf), the first ${data[first]} at flat index ${first}: the checkpoint is corrupt`, 'non-finite');
  }
}

export class WeightStore implements WeightSource {
  private readonly tensors = new Map<string, StoredTensor>();
  private readonly used = new Set<string>();
  private readonly skipped = new Set<string>();
  private disposed = false;

  private constructor(
    private readonly ctx: GpuContext,
    readonly file: string,
  ) {}

  /** Streams a safetensors file into GPU buffers. */
  static async load(ctx: GpuContext, source: SafetensorsSource, options: LoadWeightsOptions = {}): Promise<WeightStore> {
    const file = options.file ?? (typeof source === 'string' ? source : source instanceof URL ? source.href : 'model.safetensors');
    const store = new WeightStore(ctx, file);
    try {
      await streamSafetensors(source, (info, bytes) => store.upload(info, bytes, options), {
        file,
        onHeader: (header) => {
          // Every GPU buffer must fit the device: refuse from the header, not halfway through the upload.
          for (const t of header.tensors.values()) {
            if (options.skip?.(t.name)) continue;
            const gpuBytes = t.shape.reduce((a, b) => a * b, 1) * 4;
            if (gpuBytes > ctx.limits.maxBufferSize) {
              throw new WeightError(file, t.name, `needs ${gpuBytes} bytes as 32-bit values on the GPU, more than the adapter's buffer limit ${ctx.limits.maxBufferSize}`, 'tensor-too-large');
            }
          }
          options.checkHeader?.(new HeaderShapes(header, file));
        },
        ...(options.maxTensorBytes !== undefined ? { maxTensorBytes: options.maxTensorBytes } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (e) {
      store.dispose();
      throw e;
    }
    return store;
  }

  private upload(info: TensorInfo, bytes: Uint8Array, options: Pick<LoadWeightsOptions, 'skip' | 'half' | 'pack'>): void {
    if (options.skip?.(info.name)) {
      this.skipped.add(info.name);
      return;
    }
    const isInt = INT_DTYPES.has(info.dtype);
    let wide = isInt ? toInt32(info, bytes, this.file) : toFloat32(info, bytes, this.file);
    if (!isInt) checkFinite(wide as Float32Array, info, this.file);
    const K = isInt ? undefined : options.pack?.(info.name);
    const packed = K === undefined ? undefined : packedLayout(this.file, info.name, info.shape, K);
    if (packed) wide = packKMajor(wide as Float32Array, packed);
    const halfBits = !isInt && options.half?.(info.name) ? toFloat16Bits(wide as Float32Array) : null;
    // writeBuffer moves whole 4-byte words: an odd count of halves gets one zero half of padding.
    let narrow = halfBits;
    if (halfBits && halfBits.length % 2 === 1) {
      narrow = new Uint16Array(halfBits.length + 1);
      narrow.set(halfBits);
    }
    const data = narrow ?? wide;
    const dtype = isInt ? 'i32' : narrow ? 'f16' : 'f32';
    // Whole 16-byte units (kernels may bind weights as arrays of vec4; f16 tensors of odd length
    // get their padding half here too).
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    if (size > this.ctx.limits.maxBufferSize) {
      throw new WeightError(this.file, info.name, `${data.byteLength} bytes exceed the adapter's buffer limit ${this.ctx.limits.maxBufferSize}`);
    }
    const buffer = this.ctx.device.createBuffer({ label: `maskgpu:weight:${info.name}`, size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
    this.ctx.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    this.tensors.set(info.name, { key: info.name, shape: info.shape, fileDtype: info.dtype, dtype, buffer, ...(packed ? { packed } : {}) });
  }

  has(key: string): boolean {
    return this.tensors.has(key);
  }

  keys(): string[] {
    return [...this.tensors.keys(), ...this.skipped];
  }

  /** Shape of a tensor, checked against `expected` when given (-1 = any size). Marks it used. */
  shape(key: string, expected?: readonly number[]): readonly number[] {
    const t = this.tensors.get(key);
    if (!t) throw new WeightError(this.file, key, this.skipped.has(key) ? 'tensor was skipped at load time' : 'missing from the checkpoint');
    if (expected && (expected.length !== t.shape.length || expected.some((d, i) => d >= 0 && d !== t.shape[i]))) {
      throw new WeightError(this.file, key, `expected shape [${expected.join(', ')}], got [${t.shape.join(', ')}]`, 'shape');
    }
    this.used.add(key);
    return t.shape;
  }

  /** How the GPU holds a float tensor: 'f16' where it was loaded half (see `half`), else 'f32'. */
  dtype(key: string): 'f32' | 'f16' {
    return this.tensors.get(key)?.dtype === 'f16' ? 'f16' : 'f32';
  }

  /** The K-major packing of a tensor packed at load (see `pack`), else undefined. */
  packed(key: string): PackedLayout | undefined {
    return this.tensors.get(key)?.packed;
  }

  /** GPU bytes per stored dtype (f16 vs f32 weights: the memory half precision saves). */
  get bytesByDtype(): Record<'f32' | 'f16' | 'i32', number> {
    const out = { f32: 0, f16: 0, i32: 0 };
    for (const t of this.tensors.values()) out[t.dtype] += t.buffer.size;
    return out;
  }

  buffer(key: string): GPUBuffer {
    if (this.disposed) throw new GpuError('WeightStore', 'used after dispose()');
    const t = this.tensors.get(key);
    if (!t) throw new WeightError(this.file, key, 'missing from the checkpoint');
    this.used.add(key);
    return t.buffer;
  }

  /** Marks keys as deliberately unused (loss buffers, indices recomputed on the fly). */
  ignore(keys: Iterable<string>): void {
    for (const k of keys) if (this.tensors.has(k) || this.skipped.has(k)) this.used.add(k);
  }

  /** Keys neither used by the model nor ignored: a checkpoint for another architecture or config. */
  unused(): string[] {
    return this.keys().filter((k) => !this.used.has(k));
  }

  get bytes(): number {
    let n = 0;
    for (const t of this.tensors.values()) n += t.buffer.size;
    return n;
  }

  get count(): number {
    return this.tensors.size;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.tensors.values()) t.buffer.destroy();
    this.tensors.clear();
  }
}
