/**
 * A model describes its computation once by calling op functions on a GraphBuilder; shapes are
 * checked and inferred as it goes. The result is a flat list of steps over storages, which
 * `plan.ts` turns into buffers and `runner.ts` into one command encoder and one submit.
 */
import type { Constants, KernelDef } from '../gpu/kernel.ts';
import { CPU_POLICY, type KernelPolicy } from '../gpu/policy.ts';
import { GpuError, ShapeError, UnsupportedError } from '../errors.ts';

/** Element types of tensors; 'f16' only for checkpoint tensors stored half (see weights/store.ts). */
export type DType = 'f32' | 'u32' | 'i32' | 'f16';

/** A view into a storage: element offset + contiguous shape. */
export interface Tensor {
  readonly storage: number;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly name: string;
}

/**
 * How the weight store holds a checkpoint tensor read as nn.Linear weight rows [N, K] (row n,
 * column k at n * K + k in the file): packed K-major for the vec4 matmul, element (n, k) at
 * k * ld + n, ld = N rounded up to 4, the padding columns zero. Packed once at load.
 */
export interface PackedLayout {
  readonly kind: 'k-major';
  readonly N: number;
  readonly K: number;
  readonly ld: number;
}

export const samePacking = (a: PackedLayout | undefined, b: PackedLayout | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.kind === b.kind && a.N === b.N && a.K === b.K && a.ld === b.ld);

export type StorageKind = 'input' | 'weight' | 'const' | 'temp' | 'external';

export interface StorageDecl {
  readonly id: number;
  readonly kind: StorageKind;
  readonly name: string;
  readonly elements: number;
  readonly dtype: DType;
  /** kind 'const': the bytes uploaded once at plan time. */
  readonly data?: Float32Array | Uint32Array | Int32Array;
  /** kind 'external': a buffer owned elsewhere (another graph's output), bound read-only. */
  readonly buffer?: GPUBuffer;
  /** kind 'weight': stored packed K-major (tensors keep the logical [N, K] shape and offsets). */
  readonly packed?: PackedLayout;
}

export interface Step {
  readonly label: string;
  readonly kernel: KernelDef;
  readonly constants: Constants;
  /** In the order of `kernel.bindings`. */
  readonly bindings: readonly Tensor[];
  readonly params: Readonly<Record<string, number>>;
  /** Linear workgroup count; the runner folds it over x/y/z. */
  readonly workgroups: number;
}

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export const shapeStr = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

export class GraphBuilder {
  readonly storages: StorageDecl[] = [];
  readonly steps: Step[] = [];
  readonly outputs = new Map<string, Tensor>();
  readonly inputs = new Map<string, Tensor>();
  private scope: string[] = [];
  private dummyTensor: Tensor | undefined;

  /**
   * `policy` picks the kernel variant of each op (see `gpu/policy.ts`); op functions read it, so
   * model code is the same for every adapter. Defaults to the CPU-adapter kernels.
   */
  constructor(
    readonly maxWorkgroupsPerDimension = 65535,
    readonly policy: KernelPolicy = CPU_POLICY,
  ) {}

  /** A builder for a device: its dispatch limit and its kernel policy. */
  static forDevice(ctx: { readonly limits: { readonly maxComputeWorkgroupsPerDimension: number }; readonly policy: KernelPolicy }): GraphBuilder {
    return new GraphBuilder(ctx.limits.maxComputeWorkgroupsPerDimension, ctx.policy);
  }

  private declare(kind: StorageKind, name: string, shape: readonly number[], dtype: DType, data?: StorageDecl['data'], buffer?: GPUBuffer, packed?: PackedLayout): Tensor {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new ShapeError('graph', name, 'non-negative integer dims', shape);
    }
    const id = this.storages.length;
    const elements = numel(shape);
    this.storages.push({ id, kind, name, elements, dtype, ...(data ? { data } : {}), ...(buffer ? { buffer } : {}), ...(packed ? { packed } : {}) });
    return { storage: id, offset: 0, shape: [...shape], dtype, name };
  }

  /** Runs `fn` with `name/` prefixed to every step label (stages in timings and errors). */
  within<T>(name: string, fn: () => T): T {
    this.scope.push(name);
    try {
      return fn();
    } finally {
      this.scope.pop();
    }
  }

  label(op: string): string {
    return [...this.scope, op].join('/');
  }

  input(name: string, shape: readonly number[], dtype: DType = 'f32'): Tensor {
    if (this.inputs.has(name)) throw new GpuError('graph', `input '${name}' declared twice`);
    const t = this.declare('input', name, shape, dtype);
    this.inputs.set(name, t);
    return t;
  }

  /**
   * A checkpoint tensor, bound at plan time to the weight store's buffer of the same key;
   * `dtype` is how the store holds it ('f16' for half-precision weights), `packed` its layout
   * when the store packed it K-major (only kernels with `packedBindings` may then read it).
   */
  weight(key: string, shape: readonly number[], dtype: 'f32' | 'f16' = 'f32', packed?: PackedLayout): Tensor {
    if (packed && packed.N * packed.K !== numel(shape)) throw new ShapeError('graph', key, `${packed.N * packed.K} elements (packed [${packed.N}, ${packed.K}] K-major)`, shape);
    return this.declare('weight', key, shape, dtype, undefined, undefined, packed);
  }

  /** The K-major packing of the weight `t` views, if its store packed it. */
  packing(t: Tensor): PackedLayout | undefined {
    return this.storages[t.storage]?.packed;
  }

  /**
   * A region of a GPU buffer owned elsewhere (e.g. another graph's output), read in this graph:
   * `byteOffset` must be a multiple of 4. The caller keeps the buffer alive and unchanged while
   * this graph runs.
   */
  external(name: string, region: { readonly buffer: GPUBuffer; readonly byteOffset: number }, shape: readonly number[], dtype: DType = 'f32'): Tensor {
    if (region.byteOffset % 4 !== 0) throw new ShapeError('graph', name, 'a 4-byte aligned offset', `byte offset ${region.byteOffset}`);
    const off = region.byteOffset / 4;
    const whole = this.declare('external', name, [off + numel(shape)], dtype, undefined, region.buffer);
    return this.view(whole, off, shape, name);
  }

  /** Data known when the graph is built (position embeddings, sampling grids, masks). */
  constant(name: string, shape: readonly number[], data: Float32Array | Uint32Array | Int32Array): Tensor {
    if (data.length !== numel(shape)) throw new ShapeError('graph', name, `${numel(shape)} elements`, `${data.length} elements`);
    const dtype: DType = data instanceof Float32Array ? 'f32' : data instanceof Uint32Array ? 'u32' : 'i32';
    return this.declare('const', name, shape, dtype, data);
  }

  /** A fresh intermediate; the planner gives it a pooled buffer for its lifetime. */
  empty(name: string, shape: readonly number[], dtype: DType = 'f32'): Tensor {
    return this.declare('temp', this.label(name), shape, dtype);
  }

  /** A 4-element placeholder bound where a kernel's optional input is absent. */
  dummy(): Tensor {
    this.dummyTensor ??= this.constant('dummy', [4], new Float32Array(4));
    return this.dummyTensor;
  }

  /** A contiguous sub-range of `t` (element offset relative to t) seen with another shape. */
  view(t: Tensor, offset: number, shape: readonly number[], name = t.name): Tensor {
    if (!Number.isInteger(offset) || offset < 0 || offset + numel(shape) > numel(t.shape)) {
      throw new ShapeError('view', name, `a range inside ${shapeStr(t.shape)}`, `offset ${offset} + ${shapeStr(shape)}`);
    }
    return { storage: t.storage, offset: t.offset + offset, shape: [...shape], dtype: t.dtype, name };
  }

  /** The same bits seen as another 32-bit type. */
  bitcast(t: Tensor, dtype: Exclude<DType, 'f16'>): Tensor {
    if (t.dtype === 'f16') throw new ShapeError('bitcast', t.name, 'a 32-bit tensor', 'dtype f16');
    return { ...t, dtype };
  }

  reshape(t: Tensor, shape: readonly number[]): Tensor {
    if (numel(shape) !== numel(t.shape)) throw new ShapeError('reshape', t.name, `${numel(t.shape)} elements`, shape);
    return { ...t, shape: [...shape] };
  }

  step(step: Omit<Step, 'label'> & { label: string }): void {
    const { kernel, bindings } = step;
    if (bindings.length !== kernel.bindings.length) {
      throw new GpuError(step.label, `kernel ${kernel.name} takes ${kernel.bindings.length} buffers, got ${bindings.length}`);
    }
    // f16 tensors go exactly where the kernel declares array<f16>: anything else would read
    // half-precision bits as f32 (a silent wrong answer).
    bindings.forEach((t, i) => {
      const wantsF16 = kernel.f16Bindings?.includes(i) ?? false;
      if ((t.dtype === 'f16') !== wantsF16) {
        throw new UnsupportedError(`${this.label(step.label)}: kernel ${kernel.name} binding ${i} ('${t.name}') takes ${wantsF16 ? 'f16' : '32-bit'} data, got dtype ${t.dtype} ${shapeStr(t.shape)}`);
      }
    });
    // A packed weight has another element order: only kernels that know it may read it.
    bindings.forEach((t, i) => {
      if (this.storages[t.storage]?.packed && !(kernel.packedBindings?.includes(i) ?? false)) {
        throw new UnsupportedError(`${this.label(step.label)}: weight '${t.name}' is stored packed K-major (for the vec4 matmul) but kernel ${kernel.name} binding ${i} reads the checkpoint layout; load it unpacked for this graph`);
      }
    });
    // A buffer written in a step may not be bound a second time in it (WebGPU usage rule).
    bindings.forEach((t, i) => {
      if (kernel.bindings[i] !== 'write') return;
      bindings.forEach((u, j) => {
        if (i !== j && u.storage === t.storage) throw new GpuError(step.label, `output '${t.name}' aliases binding ${j} ('${u.name}')`);
      });
      const kind = this.storages[t.storage]?.kind;
      if (kind !== 'temp') throw new GpuError(step.label, `cannot write to ${kind ?? '?'} tensor '${t.name}'`);
    });
    this.steps.push({ ...step, label: this.label(step.label) });
  }

  /**
   * Checkpoint keys this graph reads only where an f16 variant exists (matmul's B: nn.Linear
   * weights, projections): what a weight store may keep as f16 with no other kernel noticing.
   */
  f16WeightKeys(): Set<string> {
    const ok = new Map<string, boolean>();
    for (const s of this.steps) {
      s.bindings.forEach((t, i) => {
        const decl = this.storages[t.storage];
        if (decl?.kind !== 'weight') return;
        const capable = (s.kernel.f16Capable?.includes(i) ?? false) || (s.kernel.f16Bindings?.includes(i) ?? false);
        ok.set(decl.name, (ok.get(decl.name) ?? true) && capable);
      });
    }
    return new Set([...ok].filter(([, v]) => v).map(([k]) => k));
  }

  /**
   * Checkpoint keys this graph reads only as nn.Linear weight rows of matmul's B (kernels'
   * `packable` bindings with transB), each use 2-D [rows, K] starting on a whole row, with one K
   * for every use: what a weight store may pack K-major for the vec4 matmul. Key -> K.
   */
  packableWeights(): Map<string, number> {
    const ks = new Map<string, number | null>();
    for (const s of this.steps) {
      s.bindings.forEach((t, i) => {
        const decl = this.storages[t.storage];
        if (decl?.kind !== 'weight') return;
        // A graph built on an already packed store reads it through `packedBindings`.
        const K = decl.packed ? decl.packed.K : (t.shape[1] ?? 0);
        const ok = decl.packed
          ? (s.kernel.packedBindings?.includes(i) ?? false)
          : (s.kernel.packable?.includes(i) ?? false) && s.params.transB === 1 && t.shape.length === 2 && K > 0 && t.offset % K === 0 && decl.elements % K === 0;
        const prev = ks.get(decl.name);
        ks.set(decl.name, ok && (prev === undefined || prev === K) ? K : null);
      });
    }
    const out = new Map<string, number>();
    for (const [k, K] of ks) if (K !== null) out.set(k, K);
    return out;
  }

  output(name: string, t: Tensor): void {
    // Outputs are read back as 32-bit arrays; f16 exists only for weights.
    if (t.dtype === 'f16') throw new UnsupportedError(`graph output '${name}' ('${t.name}') is an f16 weight; outputs are 32-bit`);
    this.outputs.set(name, t);
  }
}
