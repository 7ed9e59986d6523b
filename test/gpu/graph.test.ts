/**
 * The graph runner on the GPU: a planned multi-op graph gives the same numbers as the same ops
 * run one at a time, a second run creates no GPU object, and profiling / debug modes agree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.ts';
import * as ops from '../../src/ops/index.ts';
import { GraphBuilder, type Tensor } from '../../src/graph/builder.ts';
import { CompiledGraph, type HostArray } from '../../src/graph/runner.ts';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import { makeRng, randn } from '../ref/random.ts';
import { maxErrors } from '../ref/compare.ts';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h?.dispose());

const [B, L, C] = [2, 37, 24];
const rng = makeRng(7);
const data = {
  x: randn(rng, B * L * C),
  w1: randn(rng, 48 * C, 0.2),
  b1: randn(rng, 48),
  w2: randn(rng, C * 48, 0.2),
  g: randn(rng, C),
  be: randn(rng, C),
};

/** A small transformer-ish block: linear -> gelu -> linear -> add & norm -> self-attention. */
function block(g: GraphBuilder, inp: Record<string, Tensor>): Tensor {
  const h1 = ops.unary(g, 'gelu', ops.linear(g, inp.x!, inp.w1!, inp.b1!));
  const h2 = ops.linear(g, h1, inp.w2!, null);
  const n = ops.layerNorm(g, h2, inp.g!, inp.be!, { residual: inp.x! });
  return ops.attention(g, n, n, n, { heads: 4 });
}

function declareInputs(g: GraphBuilder): Record<string, Tensor> {
  return {
    x: g.input('x', [B, L, C]), w1: g.input('w1', [48, C]), b1: g.input('b1', [48]),
    w2: g.input('w2', [C, 48]), g: g.input('g', [C]), be: g.input('be', [C]),
  };
}

describe('graph runner', () => {
  it('planned graph == ops run one by one', async () => {
    const planned = await h.run((g) => ({ y: block(g, declareInputs(g)) }), data);
    // One op per graph, each output read back and fed to the next as a host input.
    const s1 = await h.run((g) => ({ y: ops.linear(g, g.input('x', [B, L, C]), g.input('w1', [48, C]), g.input('b1', [48])) }), data);
    const s2 = await h.run((g) => ({ y: ops.unary(g, 'gelu', g.input('a', [B, L, 48])) }), { a: s1.y! });
    const s3 = await h.run((g) => ({ y: ops.linear(g, g.input('a', [B, L, 48]), g.input('w2', [C, 48]), null) }), { a: s2.y!, w2: data.w2 });
    const s4 = await h.run((g) => ({ y: ops.layerNorm(g, g.input('a', [B, L, C]), g.input('g', [C]), g.input('be', [C]), { residual: g.input('x', [B, L, C]) }) }), { a: s3.y!, g: data.g, be: data.be, x: data.x });
    const s5 = await h.run((g) => {
      const n = g.input('n', [B, L, C]);
      return { y: ops.attention(g, n, n, n, { heads: 4 }) };
    }, { n: s4.y! });
    const e = maxErrors(planned.y!, s5.y!);
    console.log(`planned vs one-by-one: max abs ${e.maxAbs}`);
    expect(e.maxAbs).toBe(0);
  });

  it('a second and third run create no buffer, bind group or pipeline; outputs are identical', async () => {
    const g = new GraphBuilder();
    g.output('y', block(g, declareInputs(g)));
    const compiled = await CompiledGraph.compile(h.ctx, g, h.pipelines);
    const device = h.ctx.device;
    const counts = { buffers: 0, bindGroups: 0, pipelines: 0 };
    const orig = { b: device.createBuffer.bind(device), bg: device.createBindGroup.bind(device), p: device.createComputePipelineAsync.bind(device) };
    device.createBuffer = (d) => (counts.buffers++, orig.b(d));
    device.createBindGroup = (d) => (counts.bindGroups++, orig.bg(d));
    device.createComputePipelineAsync = (d) => (counts.pipelines++, orig.p(d));
    try {
      await compiled.run(data);
      const first = (await compiled.readOne('y')) as Float32Array;
      const stats1 = compiled.stats;
      const afterFirstRead = { ...counts };
      await compiled.run(data);
      const second = (await compiled.readOne('y')) as Float32Array;
      await compiled.run(data);
      const stats3 = compiled.stats;
      console.log(`stats: ${JSON.stringify(stats3)}; created during runs: ${JSON.stringify(counts)}`);
      expect(afterFirstRead.bindGroups).toBe(0);
      expect(afterFirstRead.pipelines).toBe(0);
      expect(afterFirstRead.buffers).toBe(1); // the staging buffer of the first read of 'y'
      expect(counts).toEqual(afterFirstRead); // nothing more on later runs and reads
      expect(stats3).toEqual(stats1);
      expect(maxErrors(first, second).maxAbs).toBe(0);
      expect(stats1.tempBytes).toBeLessThan(stats1.unsharedTempBytes);
    } finally {
      Object.assign(device, { createBuffer: orig.b, createBindGroup: orig.bg, createComputePipelineAsync: orig.p });
      compiled.dispose();
    }
  });

  it('profiling gives one timing per step and the same numbers; debug mode (submit per step) too', async () => {
    const g = new GraphBuilder();
    g.output('y', block(g, declareInputs(g)));
    const plain = await h.run((gg) => ({ y: block(gg, declareInputs(gg)) }), data);
    if (h.ctx.features.timestampQuery) {
      const profiled = await CompiledGraph.compile(h.ctx, g, h.pipelines, { profile: true });
      const info = await profiled.run(data);
      expect(info.steps?.length).toBe(g.steps.length);
      console.log(info.steps?.map((s) => `${s.label} ${s.ms.toFixed(3)} ms`).join('; '));
      expect(maxErrors((await profiled.readOne('y')) as Float32Array, plain.y!).maxAbs).toBe(0);
      profiled.dispose();
    }
    const dbgCtx = await requestNodeGpu({ debug: true });
    try {
      const dg = new GraphBuilder();
      dg.output('y', block(dg, declareInputs(dg)));
      const dbg = await CompiledGraph.compile(dbgCtx, dg, dbgCtx.pipelines);
      await dbg.run(data);
      const y: HostArray = await dbg.readOne('y');
      expect(maxErrors(y as Float32Array, plain.y!).maxAbs).toBe(0);
      dbg.dispose();
    } finally {
      dbgCtx.dispose();
    }
  });

  it('missing or mis-sized inputs are typed errors naming the input', async () => {
    const g = new GraphBuilder();
    g.output('y', ops.unary(g, 'relu', g.input('x', [3, 5])));
    const c = await CompiledGraph.compile(h.ctx, g, h.pipelines);
    await expect(c.run({})).rejects.toThrow(/input 'x' expected \[3, 5\]/);
    await expect(c.run({ x: new Float32Array(14) })).rejects.toThrow(/input 'x' expected 15 elements/);
    c.dispose();
    await expect(c.run({ x: new Float32Array(15) })).rejects.toThrow(/after dispose/);
  });
});
