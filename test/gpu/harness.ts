/** Node GPU test harness: one Dawn device per test file, graphs built and run in one call. */
import type { GpuContext } from '../../src/gpu/device.ts';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import type { PipelineCache } from '../../src/gpu/kernel.ts';
import { GraphBuilder, type Tensor } from '../../src/graph/builder.ts';
import { CompiledGraph, type HostArray, type WeightSource } from '../../src/graph/runner.ts';

export interface Harness {
  readonly ctx: GpuContext;
  readonly pipelines: PipelineCache;
  /** Builds a graph with `build`, runs it once on `inputs`, reads every output it returns. */
  run(
    build: (g: GraphBuilder) => Record<string, Tensor>,
    inputs: Record<string, HostArray>,
    weights?: WeightSource,
  ): Promise<Record<string, HostArray>>;
  dispose(): void;
}

export async function createHarness(options: { debug?: boolean; maxWorkgroupsPerDimension?: number } = {}): Promise<Harness> {
  const ctx = await requestNodeGpu({ debug: options.debug ?? false, ...(options.maxWorkgroupsPerDimension ? { maxWorkgroupsPerDimension: options.maxWorkgroupsPerDimension } : {}) });
  const pipelines = ctx.pipelines;
  return {
    ctx,
    pipelines,
    async run(build, inputs, weights) {
      const g = new GraphBuilder(ctx.limits.maxComputeWorkgroupsPerDimension);
      const outs = build(g);
      for (const [name, t] of Object.entries(outs)) g.output(name, t);
      const compiled = await CompiledGraph.compile(ctx, g, pipelines, weights ? { weights } : {});
      try {
        await compiled.run(inputs);
        const read = await compiled.read(Object.keys(outs));
        return Object.fromEntries(read);
      } finally {
        compiled.dispose();
      }
    },
    dispose() {
      ctx.dispose();
    },
  };
}
