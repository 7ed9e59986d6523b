/**
 * nn.Linear weights packed K-major for the vec4 matmul: the packing itself, which weights a
 * graph lets a store pack, how matmul binds a packed weight, and the refusals that keep a packed
 * weight away from kernels reading the checkpoint layout.
 */
import { describe, expect, it } from 'vitest';
import { UnsupportedError, WeightError } from '../../src/errors.ts';
import { CPU_POLICY, GPU_POLICY } from '../../src/gpu/policy.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import * as ops from '../../src/ops/index.ts';
import { packedLayout, packKMajor } from '../../src/weights/pack.ts';

describe('K-major packing', () => {
  it('rows [N, K] -> [K, ld], ld = N rounded up to 4, padding zero', () => {
    const layout = packedLayout('f', 'w', [3, 2], 2);
    expect(layout).toEqual({ kind: 'k-major', N: 3, K: 2, ld: 4 });
    // w = [[1, 2], [3, 4], [5, 6]] -> k=0: 1 3 5 0, k=1: 2 4 6 0
    expect([...packKMajor(new Float32Array([1, 2, 3, 4, 5, 6]), layout)]).toEqual([1, 3, 5, 0, 2, 4, 6, 0]);
    // Any rank with N * K elements (a 1-D tensor read as rows).
    expect(packedLayout('f', 'w', [24], 8)).toEqual({ kind: 'k-major', N: 3, K: 8, ld: 4 });
    expect(packedLayout('f', 'w', [8, 16], 16).ld).toBe(8);
  });
  it('a tensor that is not whole rows of K is a WeightError naming file and key', () => {
    expect(() => packedLayout('m.safetensors', 'a.weight', [5, 3], 4)).toThrow(WeightError);
    expect(() => packedLayout('m.safetensors', 'a.weight', [5, 3], 4)).toThrow(/a\.weight.*rows of 4/);
    expect(() => packedLayout('m.safetensors', 'a.weight', [5, 3], 0)).toThrow(WeightError);
  });
});

describe('packable weights', () => {
  it('are those read only as whole rows of matmul B with transB, with one K', () => {
    for (const policy of [CPU_POLICY, GPU_POLICY]) {
      const g = new GraphBuilder(65535, policy);
      const x = g.input('x', [2, 5, 8]);
      ops.linear(g, x, g.weight('fc.weight', [6, 8]), g.weight('fc.bias', [6]));
      // in_proj-style row slices of one [3D, D] tensor
      const inW = g.weight('attn.in_proj_weight', [24, 8]);
      for (let i = 0; i < 3; i++) ops.linear(g, x, g.view(inW, i * 64, [8, 8]), null);
      // not whole rows: a slice starting mid-row
      ops.linear(g, x, g.view(g.weight('odd.weight', [40]), 4, [4, 8]), null);
      // read as [K, N] (not transposed)
      ops.matmul(g, g.input('q', [3, 8]), g.weight('proj.weight', [8, 3]));
      // also read by another kernel
      const shared = g.weight('shared.weight', [8, 8]);
      ops.linear(g, x, shared, null);
      ops.binary(g, 'add', x, g.view(shared, 0, [8]), 2);
      // two different K
      const twoK = g.weight('twok.weight', [16, 4]);
      ops.linear(g, g.input('x4', [3, 4]), g.view(twoK, 0, [4, 4]), null);
      ops.linear(g, x, g.view(twoK, 0, [4, 8]), null);
      expect(Object.fromEntries(g.packableWeights()), policy.name).toEqual({ 'fc.weight': 8, 'attn.in_proj_weight': 8 });
    }
  });
  it('matmul reads a packed weight with the vec4 kernel (any policy): row slice r0 = column offset r0 of [K, ld]', () => {
    for (const policy of [CPU_POLICY, GPU_POLICY]) {
      const g = new GraphBuilder(65535, policy);
      const x = g.input('x', [5, 8]);
      const W = g.weight('attn.in_proj_weight', [24, 8], 'f32', { kind: 'k-major', N: 24, K: 8, ld: 24 });
      ops.linear(g, x, g.view(W, 8 * 8, [8, 8]), null);
      const s = g.steps.at(-1);
      expect(s?.kernel.name).toBe('matmul-vec4');
      expect(s?.params).toMatchObject({ transB: 0, bOff: 8, ldb: 24, bVec: 1, aVec: 1, N: 8, K: 8 });
      // A graph on an already packed store names the same weights packable.
      expect(Object.fromEntries(g.packableWeights())).toEqual({ 'attn.in_proj_weight': 8 });
    }
  });
  it('a packed weight anywhere else is an UnsupportedError, never a silent wrong answer', () => {
    const g = new GraphBuilder(65535, GPU_POLICY);
    const x = g.input('x', [5, 8]);
    const W = g.weight('fc.weight', [8, 8], 'f32', { kind: 'k-major', N: 8, K: 8, ld: 8 });
    expect(() => ops.binary(g, 'add', x, g.view(W, 0, [8]), 1)).toThrow(UnsupportedError);
    expect(() => ops.binary(g, 'add', x, g.view(W, 0, [8]), 1)).toThrow(/fc\.weight.*packed K-major/);
    expect(() => ops.linear(g, x, W, null, { kernel: 'tiled' })).toThrow(UnsupportedError);
    expect(() => ops.linear(g, x, W, null, { kernel: 'register' })).toThrow(/packed K-major/);
    expect(() => ops.matmul(g, x, W)).toThrow(UnsupportedError); // read as [K, N]
    expect(() => ops.linear(g, g.input('x4', [5, 4]), g.view(W, 0, [16, 4]), null)).toThrow(/not whole rows/);
    // A layout that does not cover the declared shape.
    expect(() => g.weight('bad.weight', [8, 8], 'f32', { kind: 'k-major', N: 4, K: 8, ld: 4 })).toThrow(/packed/);
  });
});
