/**
 * Turns a built graph into GPU objects once (buffers, pipelines, bind groups, one uniform buffer
 * with dynamic offsets) and runs it: one command encoder, one compute pass, one submit.
 * A run does not wait for the GPU (unless asked): a later read() maps its staging buffers after
 * the queue, so run + read is one wait. Nothing is read back unless asked. Running again creates
 * no GPU object.
 */
import { GpuError, ShapeError } from '../errors.ts';
import type { GpuContext } from '../gpu/device.ts';
import { foldWorkgroups, packParams, type PipelineCache } from '../gpu/kernel.ts';
import { numel, samePacking, shapeStr, type GraphBuilder, type PackedLayout, type StorageDecl, type Step, type Tensor } from './builder.ts';
import { checkFootprint, graphFootprint, type Footprint, type MemoryBudget } from './footprint.ts';
import { bytesOf, planBuffers } from './plan.ts';

/** Where weight tensors live: GPU buffers keyed by checkpoint name. */
export interface WeightSource {
  buffer(key: string): GPUBuffer;
  /** How a float tensor is stored ('f16' or 'f32'), checked against the graph's declaration. */
  dtype?(key: string): 'f32' | 'f16';
  /** The K-major packing of a weight the store packed at load, checked against the graph's. */
  packed?(key: string): PackedLayout | undefined;
}

export interface CompileOptions {
  readonly weights?: WeightSource;
  /** Per-step GPU timestamps (needs `timestamp-query`; one compute pass per step). */
  readonly profile?: boolean;
  readonly label?: string;
  /** Checked (with the adapter's buffer limit) before any buffer is created; default DEFAULT_MEMORY_BUDGET. */
  readonly budget?: MemoryBudget;
}

export type HostArray = Float32Array | Uint32Array | Int32Array;

export interface StepTiming {
  readonly label: string;
  readonly ms: number;
}

export interface RunOptions {
  /** Wait for the GPU to finish the pass (onSubmittedWorkDone). Default false: only a read waits. */
  readonly wait?: boolean;
  /**
   * Inputs filled on the GPU instead of written from the host: each function records, into the
   * run's encoder ahead of the pass, the copy into the input's buffer (e.g. a texture copy).
   */
  readonly encodeInputs?: Readonly<Record<string, (encoder: GPUCommandEncoder, target: GPUBuffer) => void>>;
}

export interface RunInfo {
  /**
   * Wall time from the call to the submit; with `wait` or timestamps (profile), to the GPU
   * finishing the pass.
   */
  readonly wallMs: number;
  /** Per-step GPU times when compiled with `profile` and the adapter has timestamps. */
  readonly steps?: readonly StepTiming[];
}

export interface GraphStats {
  readonly steps: number;
  readonly buffers: number;
  readonly bytes: number;
  /** Temp bytes if every intermediate had its own buffer (to show reuse). */
  readonly unsharedTempBytes: number;
  readonly tempBytes: number;
}

interface Binding {
  readonly step: Step;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly uniformOffset: number;
  readonly workgroups: [number, number, number];
}

const ceilTo = (n: number, a: number): number => Math.ceil(n / a) * a;

export class CompiledGraph {
  private readonly owned: GPUBuffer[] = [];
  private readonly staging = new Map<string, GPUBuffer>();
  private readonly bindings: Binding[] = [];
  private querySet: GPUQuerySet | undefined;
  private queryBuffer: GPUBuffer | undefined;
  private queryRead: GPUBuffer | undefined;
  private disposed = false;
  private readonly storageBuffer = new Map<number, GPUBuffer>();
  private statsValue: GraphStats | undefined;

  private constructor(
    private readonly ctx: GpuContext,
    private readonly graph: GraphBuilder,
    private readonly label: string,
  ) {}

  /** What compiling `graph` (and reading every output) allocates on `ctx`, computed without allocating. */
  static footprint(ctx: GpuContext, graph: GraphBuilder, options: Pick<CompileOptions, 'profile'> = {}): Footprint {
    const timestamps = options.profile && ctx.features.timestampQuery && graph.steps.length > 0 ? graph.steps.length * 16 : 0;
    return graphFootprint(graph, (i) => packParams((graph.steps[i] as Step).kernel, (graph.steps[i] as Step).params).byteLength, ctx.limits.minUniformBufferOffsetAlignment, timestamps);
  }

  static async compile(ctx: GpuContext, graph: GraphBuilder, pipelines: PipelineCache, options: CompileOptions = {}): Promise<CompiledGraph> {
    checkFootprint(CompiledGraph.footprint(ctx, graph, options), options.label ?? 'graph', ctx.limits, options.budget);
    const g = new CompiledGraph(ctx, graph, options.label ?? 'graph');
    try {
      await g.build(pipelines, options);
    } catch (e) {
      g.dispose();
      throw e;
    }
    return g;
  }

  private createBuffer(label: string, size: number, usage: GPUBufferUsageFlags): GPUBuffer {
    if (size > this.ctx.limits.maxBufferSize) {
      throw new GpuError(label, `needs a ${size}-byte buffer; the adapter allows ${this.ctx.limits.maxBufferSize}`);
    }
    const b = this.ctx.device.createBuffer({ label: `maskgpu:${this.label}:${label}`, size, usage });
    this.owned.push(b);
    return b;
  }

  private async build(pipelines: PipelineCache, options: CompileOptions): Promise<void> {
    const { device } = this.ctx;
    const { storages, steps } = this.graph;
    const keep = new Set([...this.graph.outputs.values()].map((t) => t.storage));
    const plan = planBuffers(storages, steps, keep);
    const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const slots = plan.slotBytes.map((bytes, i) => this.createBuffer(`slot${i}`, bytes, STORAGE));
    for (const s of storages) {
      if (s.kind === 'temp') {
        const slot = plan.slotOf.get(s.id);
        if (slot !== undefined) this.storageBuffer.set(s.id, slots[slot] as GPUBuffer);
      } else if (s.kind === 'input') {
        this.storageBuffer.set(s.id, this.createBuffer(`input:${s.name}`, bytesOf(s), STORAGE));
      } else if (s.kind === 'const') {
        const b = this.createBuffer(`const:${s.name}`, bytesOf(s), STORAGE);
        const data = s.data as NonNullable<StorageDecl['data']>;
        device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
        this.storageBuffer.set(s.id, b);
      } else if (s.kind === 'external') {
        this.storageBuffer.set(s.id, s.buffer as GPUBuffer);
      } else {
        if (!options.weights) throw new GpuError(this.label, `graph uses weight '${s.name}' but no weight source was given`);
        // A graph that declared a weight f32 must not bind the store's f16 buffer (or the reverse).
        const stored = options.weights.dtype?.(s.name);
        if (stored !== undefined && (s.dtype === 'f16') !== (stored === 'f16')) {
          throw new GpuError(this.label, `weight '${s.name}' is stored as ${stored} but the graph reads it as ${s.dtype} (bind weights through the model's WeightBinder)`);
        }
        // Packed K-major or not: the graph must read the element order the store holds.
        if (options.weights.packed && !samePacking(options.weights.packed(s.name), s.packed)) {
          const show = (p: PackedLayout | undefined): string => (p ? `packed K-major [${p.K}, ${p.ld}] for [${p.N}, ${p.K}]` : 'as in the checkpoint');
          throw new GpuError(this.label, `weight '${s.name}' is stored ${show(options.weights.packed(s.name))} but the graph reads it ${show(s.packed)} (bind weights through the model's WeightBinder)`);
        }
        this.storageBuffer.set(s.id, options.weights.buffer(s.name));
      }
    }
    // One uniform buffer for the whole pass; each step's Params at an aligned dynamic offset.
    const align = this.ctx.limits.minUniformBufferOffsetAlignment;
    const packed = steps.map((s) => packParams(s.kernel, s.params));
    const offsets: number[] = [];
    let total = 0;
    for (const p of packed) {
      offsets.push(total);
      total = ceilTo(total + p.byteLength, align);
    }
    const uniforms = this.createBuffer('uniforms', Math.max(total, 16), GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    const staged = new Uint8Array(Math.max(total, 16));
    packed.forEach((p, i) => staged.set(new Uint8Array(p), offsets[i] as number));
    device.queue.writeBuffer(uniforms, 0, staged);

    const maxDim = this.ctx.limits.maxComputeWorkgroupsPerDimension;
    const maxBinding = this.ctx.limits.maxStorageBufferBindingSize;
    const compiled = await Promise.all(steps.map((s) => pipelines.get(s.kernel, s.constants)));
    steps.forEach((step, i) => {
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: uniforms, offset: 0, size: (packed[i] as ArrayBuffer).byteLength } },
      ];
      step.bindings.forEach((t, j) => {
        const buffer = this.storageBuffer.get(t.storage);
        if (!buffer) throw new GpuError(step.label, `tensor '${t.name}' has no buffer (read before any step writes it?)`);
        const size = Math.min(buffer.size, maxBinding);
        const elemBytes = t.dtype === 'f16' ? 2 : 4;
        if ((t.offset + numel(t.shape)) * elemBytes > size) {
          throw new GpuError(step.label, `tensor '${t.name}' ${shapeStr(t.shape)} lies beyond the ${size}-byte binding limit`);
        }
        // array<vec4> bindings see whole vec4s only: the tensor's last one must be one of them.
        if (step.kernel.vec4Bindings?.includes(j)) {
          const end = this.graph.storages[t.storage]?.packed ? buffer.size / elemBytes : t.offset + numel(t.shape);
          const vecBytes = 4 * elemBytes;
          if (Math.ceil(end / 4) * vecBytes > Math.floor(size / vecBytes) * vecBytes) {
            throw new GpuError(step.label, `tensor '${t.name}' ${shapeStr(t.shape)} at element ${t.offset} ends in a partial vec4 of its ${size}-byte buffer (kernel ${step.kernel.name} reads whole vec4s)`);
          }
        }
        entries.push({ binding: j + 1, resource: { buffer, offset: 0, size } });
      });
      this.bindings.push({
        step,
        pipeline: compiled[i] as GPUComputePipeline,
        bindGroup: device.createBindGroup({ label: `maskgpu:${step.label}`, layout: pipelines.layout(step.kernel), entries }),
        uniformOffset: offsets[i] as number,
        workgroups: foldWorkgroups(step.workgroups, maxDim),
      });
    });
    if (options.profile && this.ctx.features.timestampQuery && steps.length > 0) {
      const count = steps.length * 2;
      this.querySet = device.createQuerySet({ label: `maskgpu:${this.label}:timestamps`, type: 'timestamp', count });
      this.queryBuffer = this.createBuffer('timestamps', count * 8, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
      this.queryRead = this.createBuffer('timestamps-read', count * 8, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    }
    const tempBytes = plan.slotBytes.reduce((a, b) => a + b, 0);
    this.statsValue = {
      steps: steps.length,
      buffers: this.owned.length,
      bytes: this.owned.reduce((a, b) => a + b.size, 0),
      tempBytes,
      unsharedTempBytes: plan.unsharedBytes,
    };
  }

  get stats(): GraphStats {
    return { ...(this.statsValue as GraphStats), buffers: this.owned.length, bytes: this.owned.reduce((a, b) => a + b.size, 0) };
  }

  /**
   * Writes the inputs, records every step into one encoder and submits once. Waits for the GPU
   * only with `wait` (or in debug mode, or to read timestamps): results are read with read(),
   * or by later graphs on the same queue.
   */
  async run(inputs: Readonly<Record<string, HostArray>>, options: RunOptions = {}): Promise<RunInfo> {
    if (this.disposed) throw new GpuError(this.label, 'run() after dispose()');
    this.ctx.assertAlive();
    const t0 = performance.now();
    const { device } = this.ctx;
    const encoder = device.createCommandEncoder({ label: `maskgpu:${this.label}:pass` });
    for (const [name, t] of this.graph.inputs) {
      const encode = options.encodeInputs?.[name];
      if (encode) {
        encode(encoder, this.storageBuffer.get(t.storage) as GPUBuffer);
        continue;
      }
      const data = inputs[name];
      if (!data) throw new ShapeError(this.label, `input '${name}'`, shapeStr(t.shape), 'nothing');
      if (data.length !== numel(t.shape)) throw new ShapeError(this.label, `input '${name}'`, `${numel(t.shape)} elements ${shapeStr(t.shape)}`, `${data.length} elements`);
      device.queue.writeBuffer(this.storageBuffer.get(t.storage) as GPUBuffer, 0, data.buffer, data.byteOffset, data.byteLength);
    }
    if (this.ctx.debug) {
      if (options.encodeInputs) device.queue.submit([encoder.finish()]);
      await this.runDebug();
    } else {
      if (this.querySet) {
        this.bindings.forEach((b, i) => {
          const pass = encoder.beginComputePass({
            label: b.step.label,
            timestampWrites: { querySet: this.querySet as GPUQuerySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
          });
          this.encodeStep(pass, b);
          pass.end();
        });
        encoder.resolveQuerySet(this.querySet, 0, this.bindings.length * 2, this.queryBuffer as GPUBuffer, 0);
        encoder.copyBufferToBuffer(this.queryBuffer as GPUBuffer, 0, this.queryRead as GPUBuffer, 0, this.bindings.length * 16);
      } else {
        const pass = encoder.beginComputePass({ label: `maskgpu:${this.label}` });
        for (const b of this.bindings) this.encodeStep(pass, b);
        pass.end();
      }
      device.queue.submit([encoder.finish()]);
      if (options.wait) await this.ctx.settle(device.queue.onSubmittedWorkDone(), `${this.label}: pass`);
    }
    if (!this.querySet) return { wallMs: performance.now() - t0 };
    const read = this.queryRead as GPUBuffer;
    await this.ctx.settle(read.mapAsync(GPUMapMode.READ), `${this.label}: timestamps`);
    const wallMs = performance.now() - t0;
    const ts = new BigInt64Array(read.getMappedRange().slice(0));
    read.unmap();
    const steps = this.bindings.map((b, i) => ({ label: b.step.label, ms: Number((ts[2 * i + 1] as bigint) - (ts[2 * i] as bigint)) / 1e6 }));
    return { wallMs, steps };
  }

  private encodeStep(pass: GPUComputePassEncoder, b: Binding): void {
    pass.setPipeline(b.pipeline);
    pass.setBindGroup(0, b.bindGroup, [b.uniformOffset]);
    pass.dispatchWorkgroups(...b.workgroups);
  }

  /** Debug mode: one submit per step inside a validation error scope that names the step. */
  private async runDebug(): Promise<void> {
    const { device } = this.ctx;
    for (const b of this.bindings) {
      device.pushErrorScope('validation');
      device.pushErrorScope('out-of-memory');
      const encoder = device.createCommandEncoder({ label: b.step.label });
      const pass = encoder.beginComputePass({ label: b.step.label });
      this.encodeStep(pass, b);
      pass.end();
      device.queue.submit([encoder.finish()]);
      const oom = await this.ctx.settle(device.popErrorScope(), b.step.label);
      const invalid = await this.ctx.settle(device.popErrorScope(), b.step.label);
      const err = invalid ?? oom;
      if (err) throw new GpuError(`step ${b.step.label} (${b.step.kernel.name})`, err.message);
      await this.ctx.settle(device.queue.onSubmittedWorkDone(), b.step.label);
    }
  }

  tensor(name: string): Tensor {
    const t = this.graph.outputs.get(name);
    if (!t) throw new GpuError(this.label, `no output named '${name}' (have: ${[...this.graph.outputs.keys()].join(', ')})`);
    return t;
  }

  /** The GPU buffer holding an output, valid until the next run() or dispose(). */
  outputBuffer(name: string): { buffer: GPUBuffer; byteOffset: number; byteLength: number; shape: readonly number[] } {
    const t = this.tensor(name);
    return { buffer: this.storageBuffer.get(t.storage) as GPUBuffer, byteOffset: t.offset * 4, byteLength: numel(t.shape) * 4, shape: t.shape };
  }

  /** The GPU buffer a graph input is written to (whole buffer, offset 0); valid until dispose(). */
  inputBuffer(name: string): { buffer: GPUBuffer; byteOffset: number; byteLength: number; shape: readonly number[] } {
    const t = this.graph.inputs.get(name);
    if (!t) throw new GpuError(this.label, `no input named '${name}' (have: ${[...this.graph.inputs.keys()].join(', ')})`);
    return { buffer: this.storageBuffer.get(t.storage) as GPUBuffer, byteOffset: 0, byteLength: numel(t.shape) * 4, shape: t.shape };
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Records the copies of `names` (outputs, or inputs) into this graph's staging buffers (kept for reuse); nothing is submitted. */
  private encodeRead(encoder: GPUCommandEncoder, names: readonly string[]): { name: string; staging: GPUBuffer; t: Tensor }[] {
    if (this.disposed) throw new GpuError(this.label, 'read() after dispose()');
    return names.map((name) => {
      const input = this.graph.outputs.has(name) ? undefined : this.graph.inputs.get(name);
      const src = input ? this.inputBuffer(name) : this.outputBuffer(name);
      const size = ceilTo(Math.max(src.byteLength, 4), 4);
      let staging = this.staging.get(name);
      if (!staging) {
        staging = this.createBuffer(`read:${name}`, size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
        this.staging.set(name, staging);
      }
      encoder.copyBufferToBuffer(src.buffer, src.byteOffset, staging, 0, src.byteLength);
      return { name, staging, t: input ?? this.tensor(name) };
    });
  }

  /** Reads outputs back (one encoder, one submit for all). Staging buffers are kept for reuse. */
  async read(names: readonly string[]): Promise<Map<string, HostArray>> {
    const [out] = await CompiledGraph.readMany(this.ctx, [{ graph: this, names }]);
    return out as Map<string, HostArray>;
  }

  /**
   * Reads outputs of several graphs on one device in one readback: one encoder and one submit
   * for all the copies, then every staging buffer mapped at once (one wait). One map per request.
   */
  static async readMany(ctx: GpuContext, requests: readonly { readonly graph: CompiledGraph; readonly names: readonly string[] }[]): Promise<Map<string, HostArray>[]> {
    for (const r of requests) if (r.graph.disposed) throw new GpuError(r.graph.label, 'read() after dispose()');
    if (requests.every((r) => r.names.length === 0)) return requests.map(() => new Map());
    ctx.assertAlive();
    const encoder = ctx.device.createCommandEncoder({ label: `maskgpu:${requests.map((r) => r.graph.label).join('+')}:readback` });
    const jobs = requests.map((r) => ({ graph: r.graph, copies: r.graph.encodeRead(encoder, r.names) }));
    ctx.device.queue.submit([encoder.finish()]);
    return Promise.all(
      jobs.map(async ({ graph, copies }) => {
        const out = new Map<string, HostArray>();
        await Promise.all(
          copies.map(async ({ name, staging, t }) => {
            await ctx.settle(staging.mapAsync(GPUMapMode.READ), `${graph.label}: read ${name}`);
            const bytes = staging.getMappedRange().slice(0, numel(t.shape) * 4);
            staging.unmap();
            out.set(name, t.dtype === 'f32' ? new Float32Array(bytes) : t.dtype === 'u32' ? new Uint32Array(bytes) : new Int32Array(bytes));
          }),
        );
        return out;
      }),
    );
  }

  async readOne(name: string): Promise<HostArray> {
    return (await this.read([name])).get(name) as HostArray;
  }

  /** Destroys every buffer this graph created (weights belong to their store). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
    this.querySet?.destroy();
  }
}
