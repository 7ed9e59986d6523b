/**
 * Getting a GPUDevice: the same code path in the browser (`navigator.gpu`) and in Node
 * (pass the `GPU` object of the `webgpu` package, see `./node.ts`).
 */
import { DeviceLostError, GpuError, NoAdapterError, NoWebGpuError } from '../errors.ts';
import { PipelineCache } from './kernel.ts';
import { choosePolicy, type KernelChoice, type KernelPolicy } from './policy.ts';

/** Optional features maskgpu uses when the adapter has them. */
export interface GpuFeatures {
  readonly shaderF16: boolean;
  readonly timestampQuery: boolean;
  readonly subgroups: boolean;
}

/** The limits kernels and the planner read (the adapter's real limits, requested in full). */
export interface GpuLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly minUniformBufferOffsetAlignment: number;
}

export interface GpuOptions {
  /** The `GPU` entry point; defaults to `navigator.gpu`. In Node pass `await nodeGpu()`. */
  readonly gpu?: GPU;
  readonly powerPreference?: GPUPowerPreference;
  /** Validation error scope per step, naming the op (slow: one submit per step). */
  readonly debug?: boolean;
  /** Called once if the device is lost after creation (not after `dispose()`). */
  readonly onLost?: (error: DeviceLostError) => void;
  /** Keeps an object alive as long as the device (Node: the `webgpu` instance must outlive it). */
  readonly keepAlive?: unknown;
  /**
   * Kernel variants: 'auto' (default) picks from the adapter (CPU adapters keep the
   * register-tiled kernels, GPUs get workgroup-memory tiles); 'cpu' / 'gpu' force a policy.
   */
  readonly kernels?: KernelChoice;
  /**
   * Weight precision: 'auto' (default) keeps matmul / linear weights as f16 in GPU memory when
   * the adapter has `shader-f16` (half their memory and upload; matmul accumulates in f32);
   * 'f32' keeps every weight f32 (bit-for-bit the f32 results).
   */
  readonly precision?: WeightPrecision;
  /**
   * Caps workgroups per dispatch dimension below the adapter's limit, so that tests exercise
   * dispatch folding (over y/z) with few workgroups.
   */
  readonly maxWorkgroupsPerDimension?: number;
}

/** See `GpuOptions.precision`. */
export type WeightPrecision = 'auto' | 'f32';

/** A device plus what maskgpu learned about it. Owns the device: `dispose()` destroys it. */
export class GpuContext {
  private disposed = false;
  private lostError: DeviceLostError | undefined;
  /** Compiled pipelines of this device, shared by every graph and model on it. */
  readonly pipelines: PipelineCache;
  /** The kernel variants graphs built for this device use (see `policy.ts`). */
  readonly policy: KernelPolicy;
  /**
   * How models loaded on this device store matmul / linear weights: 'f16' when the adapter has
   * `shader-f16` and the user did not ask for `precision: 'f32'`.
   */
  readonly weightDtype: 'f32' | 'f16';

  constructor(
    readonly device: GPUDevice,
    readonly adapterInfo: { readonly vendor: string; readonly architecture: string; readonly description: string; readonly isFallbackAdapter: boolean },
    readonly limits: GpuLimits,
    readonly features: GpuFeatures,
    readonly debug: boolean,
    private readonly keepAlive: unknown,
    onLost: ((error: DeviceLostError) => void) | undefined,
    kernels: KernelChoice = 'auto',
    precision: WeightPrecision = 'auto',
  ) {
    this.policy = choosePolicy({ info: adapterInfo, limits, features }, kernels);
    this.weightDtype = precision === 'auto' && features.shaderF16 ? 'f16' : 'f32';
    this.pipelines = new PipelineCache(device, debug, this.policy.compileConcurrency);
    void device.lost.then((info) => {
      if (this.disposed) return;
      this.lostError = new DeviceLostError(info.reason, info.message);
      onLost?.(this.lostError);
    });
  }

  /** A short human-readable adapter name for logs and timings. */
  get adapterName(): string {
    const { vendor, architecture, description, isFallbackAdapter } = this.adapterInfo;
    const name = [vendor, architecture, description].filter((s) => s.length > 0).join(' ') || 'unknown adapter';
    return `${isFallbackAdapter ? `${name} (fallback/CPU)` : name}, ${this.policy.name} kernels, ${this.weightDtype} weights`;
  }

  /** Throws the DeviceLostError if the device was lost. Called before each pass. */
  assertAlive(): void {
    if (this.lostError) throw this.lostError;
    if (this.disposed) throw new GpuError('GpuContext', 'used after dispose()');
  }

  /** The DeviceLostError once the device is known to be lost (not after `dispose()`). */
  get lost(): DeviceLostError | undefined {
    return this.lostError;
  }

  /**
   * Awaits a GPU promise (onSubmittedWorkDone, mapAsync, popErrorScope). When it rejects because
   * the device went away (WebGPU rejects pending work with an AbortError or OperationError that
   * says nothing), the rejection becomes the DeviceLostError, or a GpuError naming `where` after
   * `dispose()`. `device.lost` may settle a moment after the pending promise rejects, so it is
   * awaited for up to `lostWaitMs`.
   */
  async settle<T>(pending: Promise<T>, where: string, lostWaitMs = 2000): Promise<T> {
    try {
      return await pending;
    } catch (e) {
      if (this.disposed) throw new GpuError(where, 'the device was disposed while GPU work was in flight');
      if (!this.lostError) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([this.device.lost, new Promise<void>((r) => (timer = setTimeout(r, lostWaitMs)))]);
        clearTimeout(timer);
        await Promise.resolve(); // let the lost handler above run first
      }
      if (this.lostError) throw this.lostError;
      const detail = e instanceof Error ? `${e.name}${e.message ? `: ${e.message}` : ''}` : String(e);
      throw new GpuError(where, detail);
    }
  }

  /**
   * Resolves once the queue has finished its work; rejects with DeviceLostError when the device
   * is lost (also a loss that happened before this call, whose `lost` promise has not run yet).
   */
  async checkAlive(where: string): Promise<void> {
    this.assertAlive();
    await this.settle(this.device.queue.onSubmittedWorkDone(), where);
    this.assertAlive();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.device.destroy();
    void this.keepAlive;
  }
}

/** Requests an adapter and a device with the adapter's full limits and the optional features it has. */
export async function requestGpu(options: GpuOptions = {}): Promise<GpuContext> {
  const gpu = options.gpu ?? (typeof navigator !== 'undefined' ? navigator.gpu : undefined);
  if (!gpu) {
    throw new NoWebGpuError(
      'WebGPU is not available: navigator.gpu is undefined. Use a WebGPU-capable browser in a secure context ' +
        '(https or localhost; Chromium needs --enable-unsafe-webgpu on Linux), or in Node pass { gpu: await nodeGpu() }.',
    );
  }
  const adapter = await gpu.requestAdapter(options.powerPreference ? { powerPreference: options.powerPreference } : undefined);
  if (!adapter) {
    const inNode = typeof process !== 'undefined' && typeof (process as { versions?: { node?: string } }).versions?.node === 'string' && typeof navigator === 'undefined';
    throw new NoAdapterError(
      inNode
        ? 'WebGPU found no adapter. Without a GPU set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (Debian package chromium) and install libvulkan1.'
        : 'WebGPU found no adapter: the GPU may be blocklisted or WebGPU disabled. Check chrome://gpu; on Linux Chromium needs --enable-unsafe-webgpu.',
    );
  }
  const want: GPUFeatureName[] = ['shader-f16', 'timestamp-query', 'subgroups'];
  const requiredFeatures = want.filter((f) => adapter.features.has(f));
  const a = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
    maxBufferSize: a.maxBufferSize,
    maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: a.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: a.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: a.maxComputeWorkgroupSizeY,
    maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupsPerDimension: a.maxComputeWorkgroupsPerDimension,
  };
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ label: 'maskgpu', requiredFeatures, requiredLimits });
  } catch (e) {
    throw new GpuError('requestDevice', e instanceof Error ? e.message : String(e));
  }
  const l = device.limits;
  const info = adapter.info;
  return new GpuContext(
    device,
    {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      description: info?.description ?? '',
      isFallbackAdapter: (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? false,
    },
    {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: Math.min(l.maxComputeWorkgroupsPerDimension, options.maxWorkgroupsPerDimension ?? Infinity),
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      minUniformBufferOffsetAlignment: l.minUniformBufferOffsetAlignment,
    },
    {
      shaderF16: device.features.has('shader-f16'),
      timestampQuery: device.features.has('timestamp-query'),
      subgroups: device.features.has('subgroups'),
    },
    options.debug ?? false,
    options.keepAlive,
    options.onLost,
    options.kernels ?? 'auto',
    options.precision ?? 'auto',
  );
}
