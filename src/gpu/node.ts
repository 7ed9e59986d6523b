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

/** requestGpu() on Dawn; the Dawn instance is kept alive by the returned context. */
export async function requestNodeGpu(options: Omit<GpuOptions, 'gpu' | 'keepAlive'> = {}): Promise<GpuContext> {
  const gpu = await nodeGpu();
  return requestGpu({ ...options, gpu, keepAlive: gpu });
}
