/**
 * Kernels: one WGSL file, one entry point `main`, binding 0 = `Params` uniform (dynamic offset),
 * bindings 1.. = storage buffers in the order of `bindings`. The TS side names the `Params`
 * fields once (`params`); a unit test checks every kernel's WGSL struct against it.
 */
import { GpuError } from '../errors.ts';
import { resolveImports } from './wgsl-import.ts';

export type ParamType = 'u32' | 'i32' | 'f32';
/** Fields of the kernel's `struct Params`, in order; all scalars (4 bytes each). */
export type ParamLayout = readonly (readonly [name: string, type: ParamType])[];
/** 'read' = `var<storage, read>`, 'write' = `var<storage, read_write>`. */
export type BindingAccess = 'read' | 'write';

export interface KernelDef {
  readonly name: string;
  readonly code: string;
  readonly params: ParamLayout;
  readonly bindings: readonly BindingAccess[];
  /** `override` constants the TS side must pass (no defaults in WGSL: TS is the one source). */
  readonly overrides: readonly string[];
  /**
   * Storage bindings (indices into `bindings`) declared `array<f16>` in the WGSL: the kernel
   * needs `shader-f16`, and exactly these bindings take f16 tensors (checked per step).
   */
  readonly f16Bindings?: readonly number[];
  /**
   * Bindings of an f32 kernel whose op switches to an f16 variant when the tensor there is f16
   * (matmul's B): a checkpoint tensor used only at such bindings may be stored as f16.
   */
  readonly f16Capable?: readonly number[];
  /**
   * Storage bindings declared `array<vec4<...>>`: a tensor bound there must end inside the
   * binding's last whole vec4 (the runner checks; buffers are sized in 16-byte units).
   */
  readonly vec4Bindings?: readonly number[];
  /**
   * Bindings that read a weight packed K-major at load (`PackedLayout` in graph/builder.ts); a
   * packed weight bound anywhere else is refused when the step is added.
   */
  readonly packedBindings?: readonly number[];
  /**
   * Bindings of a kernel whose op reads an nn.Linear weight there as [N, K] rows (the step's
   * `transB` param is 1) and would read it packed K-major if the store packed it (matmul's B):
   * a weight read only at such bindings, in whole rows, may be packed at load.
   */
  readonly packable?: readonly number[];
}

export type Constants = Readonly<Record<string, number | boolean>>;

/** The kernel with its `// #import` directives resolved (see wgsl-import.ts); throws on a bad directive. */
export function defineKernel(def: KernelDef): KernelDef {
  return { ...def, code: resolveImports(def.name, def.code) };
}

/** Packs named values into the kernel's `Params` layout (byte size rounded up to 16). */
export function packParams(kernel: KernelDef, values: Readonly<Record<string, number>>): ArrayBuffer {
  const size = Math.max(16, Math.ceil((kernel.params.length * 4) / 16) * 16);
  const buf = new ArrayBuffer(size);
  const view = new DataView(buf);
  const seen = new Set<string>();
  kernel.params.forEach(([name, type], i) => {
    const v = values[name];
    if (v === undefined) throw new GpuError(kernel.name, `param '${name}' has no value`);
    if (type === 'f32') view.setFloat32(i * 4, v, true);
    else {
      if (!Number.isInteger(v)) throw new GpuError(kernel.name, `param '${name}' must be an integer, got ${v}`);
      if (type === 'u32') {
        if (v < 0 || v > 0xffffffff) throw new GpuError(kernel.name, `param '${name}' out of u32 range: ${v}`);
        view.setUint32(i * 4, v, true);
      } else {
        if (v < -0x80000000 || v > 0x7fffffff) throw new GpuError(kernel.name, `param '${name}' out of i32 range: ${v}`);
        view.setInt32(i * 4, v, true);
      }
    }
    seen.add(name);
  });
  for (const k of Object.keys(values)) {
    if (!seen.has(k)) throw new GpuError(kernel.name, `unknown param '${k}'`);
  }
  return buf;
}

/**
 * Splits a 1-D workgroup count over x/y/z so that no dimension exceeds the limit. Kernels
 * rebuild the linear id as `wg.x + nwg.x * (wg.y + nwg.y * wg.z)` and guard ids >= count.
 */
export function foldWorkgroups(count: number, maxPerDim: number): [number, number, number] {
  if (!Number.isInteger(count) || count < 0) throw new GpuError('foldWorkgroups', `bad workgroup count ${count}`);
  if (count <= maxPerDim) return [Math.max(count, 1), 1, 1];
  const y = Math.ceil(count / maxPerDim);
  if (y <= maxPerDim) return [maxPerDim, y, 1];
  const z = Math.ceil(y / maxPerDim);
  if (z > maxPerDim) throw new GpuError('foldWorkgroups', `workgroup count ${count} exceeds ${maxPerDim}^3`);
  return [maxPerDim, Math.ceil(y / z), z];
}

/** Compiles pipelines once per (kernel, constants); never per shape. */
export class PipelineCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pending = new Map<string, Promise<GPUComputePipeline>>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  /** `concurrency`: pipelines compiled at once (1 on CPU adapters, see KernelPolicy). */
  constructor(
    private readonly device: GPUDevice,
    private readonly debug: boolean,
    private readonly concurrency = Infinity,
  ) {}

  get size(): number {
    return this.pipelines.size;
  }

  layout(kernel: KernelDef): GPUBindGroupLayout {
    let layout = this.layouts.get(kernel.name);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } },
        ...kernel.bindings.map(
          (access, i): GPUBindGroupLayoutEntry => ({
            binding: i + 1,
            visibility: GPUShaderStage.COMPUTE,
            buffer: { type: access === 'read' ? 'read-only-storage' : 'storage' },
          }),
        ),
      ];
      layout = this.device.createBindGroupLayout({ label: `maskgpu:${kernel.name}:layout`, entries });
      this.layouts.set(kernel.name, layout);
    }
    return layout;
  }

  async get(kernel: KernelDef, constants: Constants): Promise<GPUComputePipeline> {
    const missing = kernel.overrides.filter((o) => !(o in constants));
    const extra = Object.keys(constants).filter((c) => !kernel.overrides.includes(c));
    if (missing.length > 0 || extra.length > 0) {
      throw new GpuError(kernel.name, `override constants mismatch: missing [${missing.join(', ')}], unknown [${extra.join(', ')}]`);
    }
    const key = `${kernel.name}|${Object.keys(constants)
      .sort()
      .map((k) => `${k}=${String(constants[k])}`)
      .join(',')}`;
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    // One compilation per key even when several graphs ask at once.
    let p = this.pending.get(key);
    if (!p) {
      p = this.limited(() => this.compile(kernel, constants, key)).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private async compile(kernel: KernelDef, constants: Constants, key: string): Promise<GPUComputePipeline> {
    let module = this.modules.get(kernel.name);
    if (!module) {
      module = this.device.createShaderModule({ label: `maskgpu:${kernel.name}`, code: kernel.code });
      this.modules.set(kernel.name, module);
      if (this.debug) {
        const info = await module.getCompilationInfo();
        const errors = info.messages.filter((m) => m.type === 'error');
        if (errors.length > 0) {
          throw new GpuError(`shader ${kernel.name}`, errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('\n'));
        }
      }
    }
    const numeric: Record<string, number> = {};
    for (const [k, v] of Object.entries(constants)) numeric[k] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
    this.device.pushErrorScope('validation');
    const pipeline = await this.device.createComputePipelineAsync({
      label: `maskgpu:${key}`,
      layout: this.device.createPipelineLayout({ label: `maskgpu:${kernel.name}:pl`, bindGroupLayouts: [this.layout(kernel)] }),
      compute: { module, entryPoint: 'main', constants: numeric },
    }).catch(async (e: unknown) => {
      const info = await module.getCompilationInfo();
      const msgs = info.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('\n');
      throw new GpuError(`pipeline ${key}`, `${e instanceof Error ? e.message : String(e)}\n${msgs}`);
    });
    const err = await this.device.popErrorScope();
    if (err) throw new GpuError(`pipeline ${key}`, err.message);
    this.pipelines.set(key, pipeline);
    return pipeline;
  }
}
