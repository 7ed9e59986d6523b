/**
 * Resource limits checked before allocating: preprocessor sizes (a typed one-line ConfigError
 * with the limit and the option), a graph's host and GPU bytes (estimated before building,
 * checked exactly before any buffer is created: ResourceError with the limit and the option).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePreprocessorConfig } from '../../src/config/index.ts';
import { ConfigError, ResourceError } from '../../src/errors.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { CompiledGraph } from '../../src/graph/runner.ts';
import * as ops from '../../src/ops/index.ts';
import { Segmenter } from '../../src/segmenter.ts';
import { readJson } from '../fixture-files.ts';
import { TINY, tinyCheckpoint, tinyImage } from './helpers.ts';
import { join } from 'node:path';

const tinyPre = readJson(join(TINY, 'preprocessor_config.json')) as Record<string, unknown>;
const withSize = (size: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ ...tinyPre, size, ...extra });

describe('preprocessor_config.json sizes', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['shortest_edge 20000', withSize({ shortest_edge: 20000, longest_edge: 30000 }), 'size.shortest_edge'],
    ['16384 x 16384', withSize({ height: 16384, width: 16384 }), 'size.height'],
    ['legacy int size 20000', withSize(20000, { max_size: 30000 }), 'size'],
    ['longest_edge 100000', withSize({ shortest_edge: 800, longest_edge: 100000 }), 'size.longest_edge'],
    ['[height, width] = [64, 9000]', withSize([64, 9000]), 'size[1]'],
  ];
  for (const [name, json, key] of cases) {
    it(`${name}: ConfigError naming ${key}, the limit and the option`, () => {
      const e = (() => {
        try {
          parsePreprocessorConfig(json);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      console.log(`${name}: ${String(e)}`);
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).key).toBe(key);
      expect(String(e)).toContain('4096');
      expect(String(e)).toContain('maxPreprocessEdge');
      expect(String(e)).not.toContain('\n');
    });
  }

  it('the limit is an option; hub sizes (384, 800 / 1333) pass by default', () => {
    expect(parsePreprocessorConfig(withSize({ height: 16384, width: 16384 }), 'p.json', { maxEdge: 16384 }).resize).toEqual({ kind: 'fixed', height: 16384, width: 16384 });
    expect(parsePreprocessorConfig(withSize({ shortest_edge: 800, longest_edge: 1333 })).resize).toEqual({ kind: 'shortestEdge', shortestEdge: 800, longestEdge: 1333 });
    expect(parsePreprocessorConfig(withSize({ height: 384, width: 384 })).resize.kind).toBe('fixed');
  });
});

let gpu: GpuContext;
beforeAll(async () => {
  gpu = await requestNodeGpu();
});
afterAll(() => gpu?.dispose());

describe('graph memory, before building and before allocating', () => {
  it('Segmenter.load() refuses shortest_edge 20000 with the ConfigError', async () => {
    await expect(Segmenter.load(tinyCheckpoint({ preprocessor: withSize({ shortest_edge: 20000, longest_edge: 30000 }) }), { gpu })).rejects.toBeInstanceOf(ConfigError);
  });

  it('a 16384 x 16384 preprocessor size allowed by option is refused at segment() from the estimate, before building', async () => {
    const seg = await Segmenter.load(tinyCheckpoint({ preprocessor: withSize({ height: 16384, width: 16384 }) }), { gpu, maxPreprocessEdge: 16384 });
    try {
      const t0 = performance.now();
      const e = await seg.segment(tinyImage()).then(() => undefined, (err: unknown) => err);
      console.log(`16384 x 16384: ${String(e)} (${(performance.now() - t0).toFixed(0)} ms)`);
      expect(e).toBeInstanceOf(ResourceError);
      expect(String(e)).toContain('estimated before building');
      expect(String(e)).not.toContain('\n');
    } finally {
      seg.dispose();
    }
  });

  it('memoryBudget: a 2048 x 2048 input over a 64 MiB GPU budget is refused, naming the option', async () => {
    const seg = await Segmenter.load(tinyCheckpoint({ preprocessor: withSize({ height: 2048, width: 2048 }) }), { gpu, memoryBudget: { gpuBytes: 64 * 2 ** 20 } });
    try {
      const e = await seg.segment(tinyImage()).then(() => undefined, (err: unknown) => err);
      console.log(`2048 x 2048, 64 MiB budget: ${String(e)}`);
      expect(e).toBeInstanceOf(ResourceError);
      expect(String(e)).toContain('memoryBudget');
      expect((e as ResourceError).limit).toBe(64 * 2 ** 20);
    } finally {
      seg.dispose();
    }
  });

  it('the estimate is close to the exact footprint of the built graph (tiny config, 480 x 352 and 1024 x 768 inputs)', async () => {
    const seg = await Segmenter.load(tinyCheckpoint(), { gpu });
    try {
      for (const [h, w] of [[352, 480], [768, 1024]] as const) {
        const input = { kind: 'pixel-values', shape: [1, 3, h, w] } as const;
        const est = seg.model.estimate(input).fp;
        const exact = CompiledGraph.footprint(gpu, seg.model.spec.build(seg.model.weights, input).graph);
        const rel = (a: number, b: number): number => Math.abs(a - b) / b;
        console.log(`${w}x${h}: estimate ${JSON.stringify(est)} exact ${JSON.stringify(exact)}; rel error gpu ${rel(est.gpuBytes, exact.gpuBytes).toFixed(3)} host ${rel(est.hostBytes, exact.hostBytes).toFixed(3)} largest ${rel(est.largestBuffer, exact.largestBuffer).toFixed(3)}`);
        // An estimate, not a bound: within 25% either way (tolerance).
        expect(rel(est.gpuBytes, exact.gpuBytes)).toBeLessThan(0.25);
        expect(rel(est.hostBytes, exact.hostBytes)).toBeLessThan(0.25);
        expect(rel(est.largestBuffer, exact.largestBuffer)).toBeLessThan(0.25);
      }
    } finally {
      seg.dispose();
    }
  });

  it('CompiledGraph.compile: the footprint equals what compile + read allocate; over the budget nothing is allocated', async () => {
    const build = (): GraphBuilder => {
      const g = new GraphBuilder(gpu.limits.maxComputeWorkgroupsPerDimension);
      const x = g.input('x', [5, 7]);
      const c = g.constant('c', [7, 3], new Float32Array(21).fill(0.5));
      g.output('y', ops.softmax(g, ops.matmul(g, x, c)));
      return g;
    };
    let created = 0;
    const device = gpu.device;
    const create = device.createBuffer.bind(device);
    device.createBuffer = (d: GPUBufferDescriptor) => (created++, create(d));
    try {
      const fp = CompiledGraph.footprint(gpu, build());
      const e = await CompiledGraph.compile(gpu, build(), gpu.pipelines, { budget: { gpuBytes: fp.gpuBytes - 1 } }).then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(ResourceError);
      expect(created).toBe(0);
      const host = await CompiledGraph.compile(gpu, build(), gpu.pipelines, { budget: { hostBytes: fp.hostBytes - 1 } }).then(() => undefined, (err: unknown) => err);
      expect(host).toBeInstanceOf(ResourceError);
      expect(created).toBe(0);
      const graph = await CompiledGraph.compile(gpu, build(), gpu.pipelines, { budget: { gpuBytes: fp.gpuBytes, hostBytes: fp.hostBytes } });
      await graph.run({ x: new Float32Array(35).fill(1) });
      await graph.read(['y']);
      console.log(`footprint ${JSON.stringify(fp)}; compiled + read ${graph.stats.bytes} bytes in ${created} buffers`);
      expect(graph.stats.bytes).toBe(fp.gpuBytes);
      // Host bytes: the constant c (21 floats) and the 4-float placeholder matmul binds for its absent bias.
      const consts = build().storages.filter((st) => st.kind === 'const').map((st) => st.data?.byteLength ?? 0);
      expect(consts).toEqual([84, 16]);
      expect(fp.hostBytes).toBe(84 + 16);
      graph.dispose();
    } finally {
      device.createBuffer = create;
    }
  });
});
