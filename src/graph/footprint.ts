/**
 * Memory a graph needs, known before anything is allocated: host bytes (constant data the model
 * computed on the CPU) and GPU bytes (planned slots, inputs, constants, uniforms, readback
 * staging), and its largest single buffer. `CompiledGraph.compile` checks the exact footprint
 * before creating a buffer; a model estimates it before building a graph for a new input size
 * (building a graph for a huge input already allocates its host constants), by extrapolating the
 * footprints of two small builds linearly in input pixels.
 */
import { ResourceError } from '../errors.ts';
import type { GpuLimits } from '../gpu/device.ts';
import { numel, type GraphBuilder } from './builder.ts';
import { bytesOf, planBuffers } from './plan.ts';

export interface Footprint {
  /** Host memory held by the graph's constants. */
  readonly hostBytes: number;
  /** GPU memory the compiled graph allocates (weights not included), output readback included. */
  readonly gpuBytes: number;
  /** The largest single GPU buffer. */
  readonly largestBuffer: number;
}

/** Limits on one planned graph; weights are not counted. */
export interface MemoryBudget {
  /** GPU bytes of one planned graph (default DEFAULT_MEMORY_BUDGET.gpuBytes, 4 GiB). */
  readonly gpuBytes?: number;
  /** Host bytes of one graph's constants (default 1 GiB). */
  readonly hostBytes?: number;
}

export const DEFAULT_MEMORY_BUDGET: Required<MemoryBudget> = Object.freeze({ gpuBytes: 4 * 2 ** 30, hostBytes: 2 ** 30 });

const ceilTo = (n: number, a: number): number => Math.ceil(n / a) * a;

/**
 * The exact bytes `CompiledGraph.compile` (and a read of every output) allocates for `g`, pure.
 * `uniformBytes(stepIndex)` gives each step's packed Params size; `timestampBytes` the profiler's.
 */
export function graphFootprint(g: GraphBuilder, uniformBytes: (step: number) => number, uniformAlign: number, timestampBytes = 0): Footprint {
  const keep = new Set([...g.outputs.values()].map((t) => t.storage));
  const plan = planBuffers(g.storages, g.steps, keep);
  let hostBytes = 0;
  let gpuBytes = 0;
  let largestBuffer = 0;
  const add = (bytes: number): void => {
    gpuBytes += bytes;
    largestBuffer = Math.max(largestBuffer, bytes);
  };
  plan.slotBytes.forEach(add);
  for (const s of g.storages) {
    if (s.kind === 'input') add(bytesOf(s));
    if (s.kind === 'const') {
      add(bytesOf(s));
      hostBytes += s.data?.byteLength ?? 0;
    }
  }
  let uniforms = 0;
  g.steps.forEach((_, i) => (uniforms = ceilTo(uniforms + uniformBytes(i), uniformAlign)));
  add(Math.max(uniforms, 16));
  for (const t of g.outputs.values()) add(ceilTo(Math.max(numel(t.shape) * 4, 4), 4));
  if (timestampBytes > 0) {
    add(timestampBytes);
    add(timestampBytes);
  }
  return { hostBytes, gpuBytes, largestBuffer };
}

/**
 * Footprint at `pixels` from footprints at two smaller sizes, linear in pixels (activations of
 * convolutions, windowed and deformable attention, and per-query masks all are). Never below
 * the larger sample.
 */
export function extrapolateFootprint(a: { pixels: number; fp: Footprint }, b: { pixels: number; fp: Footprint }, pixels: number): Footprint {
  const at = (ya: number, yb: number): number => {
    const slope = Math.max(0, (yb - ya) / (b.pixels - a.pixels));
    return Math.max(yb, Math.ceil(yb + slope * (pixels - b.pixels)));
  };
  return { hostBytes: at(a.fp.hostBytes, b.fp.hostBytes), gpuBytes: at(a.fp.gpuBytes, b.fp.gpuBytes), largestBuffer: at(a.fp.largestBuffer, b.fp.largestBuffer) };
}

/** Throws a ResourceError when `fp` is over the device's buffer limit or the budget. */
export function checkFootprint(fp: Footprint, what: string, limits: Pick<GpuLimits, 'maxBufferSize'>, budget: MemoryBudget = {}): void {
  const gpu = budget.gpuBytes ?? DEFAULT_MEMORY_BUDGET.gpuBytes;
  const host = budget.hostBytes ?? DEFAULT_MEMORY_BUDGET.hostBytes;
  const smaller = 'use a smaller image or preprocessor size';
  if (fp.largestBuffer > limits.maxBufferSize) {
    throw new ResourceError(`${what}: largest GPU buffer`, fp.largestBuffer, limits.maxBufferSize, `the adapter's maxBufferSize; ${smaller}`);
  }
  if (fp.gpuBytes > gpu) throw new ResourceError(`${what}: GPU memory`, fp.gpuBytes, gpu, `raise it with the option memoryBudget: { gpuBytes }, or ${smaller}`);
  if (fp.hostBytes > host) throw new ResourceError(`${what}: host memory for constants`, fp.hostBytes, host, `raise it with the option memoryBudget: { hostBytes }, or ${smaller}`);
}
