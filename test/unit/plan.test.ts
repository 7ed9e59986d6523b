/** The buffer planner on graphs built without a GPU: lifetimes, reuse, no read/write aliasing. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { planBuffers } from '../../src/graph/plan.ts';
import * as ops from '../../src/ops/index.ts';

function chain(n: number, width: number): GraphBuilder {
  const g = new GraphBuilder();
  let x = g.input('x', [4, width]);
  const w = g.weight('w', [width, width]);
  for (let i = 0; i < n; i++) x = ops.linear(g, x, w, null);
  g.output('y', x);
  return g;
}

describe('planBuffers', () => {
  it('a chain of 10 linears needs 2 buffers, not 10', () => {
    const g = chain(10, 8);
    const keep = new Set([...g.outputs.values()].map((t) => t.storage));
    const plan = planBuffers(g.storages, g.steps, keep);
    expect(plan.slotBytes.length).toBe(2);
    expect(plan.unsharedBytes).toBe(10 * 4 * 8 * 4);
  });

  it('never gives a step an output slot equal to one of its inputs, and keeps outputs alive', () => {
    const g = new GraphBuilder();
    const x = g.input('x', [2, 16]);
    const w = g.weight('w', [16, 16]);
    const a = ops.linear(g, x, w, null);
    const b = ops.linear(g, a, w, null);
    g.output('a', a); // a must survive every later step
    let y = b;
    for (let i = 0; i < 5; i++) y = ops.unary(g, 'relu', ops.linear(g, y, w, null));
    g.output('y', y);
    const keep = new Set([...g.outputs.values()].map((t) => t.storage));
    const plan = planBuffers(g.storages, g.steps, keep);
    g.steps.forEach((s) => {
      const slots = s.bindings.map((t) => plan.slotOf.get(t.storage));
      s.kernel.bindings.forEach((acc, i) => {
        if (acc !== 'write') return;
        slots.forEach((sl, j) => {
          if (j !== i && sl !== undefined) expect(sl).not.toBe(slots[i]);
        });
      });
    });
    const aSlot = plan.slotOf.get(a.storage);
    for (const s of g.steps.slice(2)) {
      for (const [i, t] of s.bindings.entries()) {
        if (s.kernel.bindings[i] === 'write') expect(plan.slotOf.get(t.storage)).not.toBe(aSlot);
      }
    }
  });

  it('grows a freed slot rather than adding one when the next tensor is larger', () => {
    const g = new GraphBuilder();
    const x = g.input('x', [4]);
    const a = ops.unary(g, 'relu', x); // 16 B
    const big = g.empty('big', [64]);
    ops.writeSlice(g, a, big, 0, 0); // a dies here; big is born here
    const c = ops.unary(g, 'relu', big);
    g.output('c', c);
    const plan = planBuffers(g.storages, g.steps, new Set([c.storage]));
    expect(plan.slotBytes.length).toBe(2);
    expect(Math.max(...plan.slotBytes)).toBe(256);
  });

  it('rejects steps that write to inputs or alias an output with an input', () => {
    const g = new GraphBuilder();
    const x = g.input('x', [4]);
    expect(() => ops.unary(g, 'relu', g.input('x2', [4]), x)).toThrow(/cannot write to input/);
    expect(() => ops.unary(g, 'relu', x, x)).toThrow(/aliases/);
    const t = g.empty('t', [8]);
    expect(() => ops.unary(g, 'relu', g.view(t, 0, [4]), g.view(t, 4, [4]))).toThrow(/aliases/);
  });

  it('shape errors name the op, the tensor and both shapes', () => {
    const g = new GraphBuilder();
    const a = g.input('a', [3, 5]);
    const b = g.input('b', [4, 6]);
    expect(() => ops.matmul(g, a, b)).toThrow(/matmul: b expected inner dim 5/);
    expect(() => ops.conv2d(g, g.input('img', [1, 3, 8, 8]), g.weight('w', [4, 2, 3, 3]), null)).toThrow(/conv2d: w expected \[Cout, 3, KH, KW\].*got \[4, 2, 3, 3\]/);
    expect(() => ops.layerNorm(g, a, g.weight('g', [4]), g.weight('be', [5]))).toThrow(/layer-norm: g expected \[5\], got \[4\]/);
  });
});
