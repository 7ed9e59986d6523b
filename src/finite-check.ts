/**
 * NaN / Inf checks of model outputs before post-processing: a diverged model would otherwise
 * post-process into zero segments (or arbitrary ones) without a word. Class logits are on the
 * host already; mask logits stay on the GPU and are counted there by `count-nonfinite` (one
 * small readback of per-block counts).
 */
import { NonFiniteError } from './errors.ts';
import type { GpuContext } from './gpu/device.ts';
import { GraphBuilder, numel } from './graph/builder.ts';
import { CompiledGraph } from './graph/runner.ts';
import { countNonFinite, NONFINITE_CHUNK } from './ops/count-nonfinite.ts';

/** Throws NonFiniteError when `data` ([..., Q, N] row-major) holds NaN or Inf. */
export function assertFiniteHost(name: string, data: Float32Array, shape: readonly number[]): void {
  let count = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i] as number)) {
      if (first < 0) first = i;
      count++;
    }
  }
  const row = shape[shape.length - 1] ?? 1;
  const queries = shape[shape.length - 2] ?? 1;
  if (count > 0) throw new NonFiniteError(name, count, `at flat index ${first}, query ${Math.floor(first / row) % queries}`);
}

/** The count graph over one GPU tensor region, rebuilt when the region changes; owns its graph. */
export class GpuFiniteCheck {
  private current: { key: string; source: GPUBuffer; graph: CompiledGraph } | undefined;

  constructor(private readonly gpu: GpuContext) {}

  /**
   * Submits the count over the f32 tensor [B, Q, H, W] at `region` (no wait); returns the graph
   * whose output 'counts' holds it. Read 'counts' (alone or with other outputs in one readback,
   * CompiledGraph.readMany) and pass them to check().
   */
  async run(name: string, region: { readonly buffer: GPUBuffer; readonly byteOffset: number; readonly shape: readonly number[] }): Promise<CompiledGraph> {
    const key = `${region.byteOffset}|${region.shape.join('x')}`;
    if (!this.current || this.current.key !== key || this.current.source !== region.buffer) {
      this.dispose();
      const g = GraphBuilder.forDevice(this.gpu);
      g.output('counts', countNonFinite(g, g.external(name, region, region.shape), NONFINITE_CHUNK));
      this.current = { key, source: region.buffer, graph: await CompiledGraph.compile(this.gpu, g, this.gpu.pipelines, { label: `finite-check:${name}` }) };
    }
    const { graph } = this.current;
    await graph.run({});
    return graph;
  }

  /** Throws NonFiniteError when the per-block `counts` (read from run()'s graph) are not all 0. */
  check(name: string, shape: readonly number[], counts: Uint32Array): void {
    let total = 0;
    let firstBlock = -1;
    counts.forEach((c, k) => {
      if (c > 0 && firstBlock < 0) firstBlock = k;
      total += c;
    });
    if (total > 0) {
      const [, Q = 1, H = 1, W = 1] = shape;
      const start = firstBlock * NONFINITE_CHUNK;
      const end = Math.min(start + NONFINITE_CHUNK, numel(shape)) - 1;
      throw new NonFiniteError(name, total, `in elements ${start}..${end}, query ${Math.floor(start / (H * W)) % Q}`);
    }
  }

  /** Throws NonFiniteError when the f32 tensor [B, Q, H, W] at `region` holds NaN or Inf (run, read, check). */
  async assertFinite(name: string, region: { readonly buffer: GPUBuffer; readonly byteOffset: number; readonly shape: readonly number[] }): Promise<void> {
    const graph = await this.run(name, region);
    this.check(name, region.shape, (await graph.readOne('counts')) as Uint32Array);
  }

  dispose(): void {
    this.current?.graph.dispose();
    this.current = undefined;
  }
}
