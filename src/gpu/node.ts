/**
 * Node entry to WebGPU through Dawn (the `webgpu` npm package). Kept out of the browser bundle:
 * only Node code (CLI, tests, benches) imports this file.
 */
import { existsSync } from 'node:fs';
import { NoWebGpuError } from '../errors.ts';
import { requestGpu, type GpuContext, type GpuOptions } from './device.ts';

/** Debian's chromium package ships SwiftShader's Vulkan ICD here; used when no ICD is configured. */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Creates Dawn's `GPU` object. Without a Vulkan ICD configured, points the Vulkan loader at
 * SwiftShader (CPU) when it is installed, so machines without a GPU still run.
 */
export async function nodeGpu(flags: readonly string[] = []): Promise<GPU> {
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD) && process.env.MASKGPU_NO_SWIFTSHADER_DEFAULT !== '1') {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    throw new NoWebGpuError(`the 'webgpu' package (Dawn for Node) could not be loaded: ${e instanceof Error ? e.message : String(e)}`);
  }
  Object.assign(globalThis, mod.globals);
  return mod.create([...flags]);
}

/** Options of `requestNodeGpu` beyond those of `requestGpu`. */
export interface NodeGpuOptions extends Omit<GpuOptions, 'gpu' | 'keepAlive'> {
  /**
   * Dawn's robustness transform: a bounds check (clamp) on every storage-buffer access of every
   * shader. Default false in Node: the device runs maskgpu's own kernels only, each of which
   * guards or clamps its reads and writes against the logical sizes (tested on awkward shapes,
   * and in Chromium, where robustness is always on). Off, SwiftShader runs a 3x3 conv 1.9x and a
   * 512^3 matmul 1.8x faster (bench/kernels.bench.ts). `true` keeps Dawn's checks (debugging a kernel).
   */
  readonly robustness?: boolean;
}

/** Dawn flags for a device that runs maskgpu's kernels only. */
export function dawnFlags(options: Pick<NodeGpuOptions, 'robustness'> = {}): string[] {
  return options.robustness === true ? [] : ['enable-dawn-features=disable_robustness'];
}

/** requestGpu() on Dawn; the Dawn instance is kept alive by the returned context. */
export async function requestNodeGpu(options: NodeGpuOptions = {}): Promise<GpuContext> {
  const { robustness: _, ...rest } = options;
  const gpu = await nodeGpu(dawnFlags(options));
  return requestGpu({ ...rest, gpu, keepAlive: gpu });
}
