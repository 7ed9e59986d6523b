/**
 * Half-precision weights without a GPU: the f32 -> f16 conversion vs the arithmetic reference
 * (test/ref/half.ts), which checkpoint tensors a graph lets a store keep as f16, and the typed
 * error when an f16 tensor reaches a kernel that reads f32.
 */
import { describe, expect, it } from 'vitest';
import { toFloat16Bits, toFloat32 } from '../../src/weights/safetensors.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { GPU_POLICY } from '../../src/gpu/policy.ts';
import { UnsupportedError } from '../../src/errors.ts';
import { kernels } from '../../src/ops/index.ts';
import * as ops from '../../src/ops/index.ts';
import { roundToF16 } from '../ref/half.ts';
import { makeRng, randn } from '../ref/random.ts';

/** The f16 bits back to numbers through the safetensors F16 reader. */
function widen(bits: Uint16Array): Float32Array {
  const bytes = new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
  return toFloat32({ name: 't', dtype: 'F16', shape: [bits.length], begin: 0, end: bits.byteLength }, bytes, 'test');
}

describe('toFloat16Bits', () => {
  it('rounds like IEEE binary16 (nearest, ties to even), subnormals and signed zero included', () => {
    const edge = [0, -0, 1, -1, 65504, -65504, 65519.99, 2 ** -14, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0001, 3 * 2 ** -26, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0.1, 1 / 3, 2049, 2051, 6e-5, 1e-8];
    const rng = makeRng(7);
    const vals = new Float32Array([...edge, ...randn(rng, 2000, 3), ...randn(rng, 500, 1e-5), ...randn(rng, 500, 3000)]);
    const bits = toFloat16Bits(vals);
    expect(bits).not.toBeNull();
    const got = widen(bits as Uint16Array);
    let bad = 0;
    vals.forEach((v, i) => {
      if (!Object.is(got[i], roundToF16(v))) bad++;
    });
    console.log(`toFloat16Bits: ${vals.length} values, ${bad} differ from the arithmetic reference`);
    expect(bad).toBe(0);
    expect(Object.is(got[1], -0)).toBe(true);
  });
  it('refuses values that overflow f16 (the tensor then stays f32)', () => {
    expect(toFloat16Bits(new Float32Array([1, 65520]))).toBeNull();
    expect(toFloat16Bits(new Float32Array([-1e6]))).toBeNull();
  });
});

describe('f16 weights in a graph', () => {
  it('only tensors read solely at f16-capable bindings (matmul B) may be stored half', () => {
    const g = new GraphBuilder();
    const x = g.input('x', [2, 5, 8]);
    const w = g.weight('proj.weight', [6, 8]);
    const b = g.weight('proj.bias', [6]);
    const y = ops.linear(g, x, w, b);
    const gamma = g.weight('norm.weight', [6]);
    ops.layerNorm(g, y, gamma, g.weight('norm.bias', [6]));
    // A weight also read elsewhere (as matmul A here) must stay f32.
    const q = g.weight('query.weight', [4, 8]);
    ops.linear(g, q, w, null);
    ops.matmul(g, q, g.weight('other.weight', [8, 3]));
    expect([...g.f16WeightKeys()].sort()).toEqual(['other.weight', 'proj.weight']);
  });
  it('conv weights qualify only where the implicit GEMM reads them (gpu policy, not 1x1 stride 1)', () => {
    const convs = (g: GraphBuilder): void => {
      const x = g.input('x', [1, 3, 12, 10]);
      ops.conv2d(g, x, g.weight('c3.weight', [4, 3, 3, 3]), g.weight('c3.bias', [4]), { padding: 1 });
      ops.conv2d(g, x, g.weight('c1.weight', [4, 3, 1, 1]), null);
      ops.conv2d(g, x, g.weight('stem.weight', [4, 3, 7, 7]), null, { stride: 2, padding: 3 });
    };
    const cpu = new GraphBuilder();
    convs(cpu);
    expect([...cpu.f16WeightKeys()]).toEqual([]);
    const gpu = new GraphBuilder(65535, GPU_POLICY);
    convs(gpu);
    expect([...gpu.f16WeightKeys()].sort()).toEqual(['c3.weight', 'stem.weight']);
    // Stored f16, the same convs pick the f16 variant.
    const g = new GraphBuilder(65535, GPU_POLICY);
    ops.conv2d(g, g.input('x', [1, 3, 12, 10]), g.weight('c3.weight', [4, 3, 3, 3], 'f16'), null, { padding: 1 });
    expect(g.steps.map((st) => st.kernel.name)).toEqual(['conv2d-gemm-f16']);
  });
  it('picks the f16 matmul kernels for an f16 weight; an f16 tensor anywhere else is an UnsupportedError', () => {
    const g = new GraphBuilder();
    const x = g.input('x', [3, 8]);
    const w = g.weight('proj.weight', [6, 8], 'f16');
    ops.linear(g, x, w, null);
    ops.linear(g, x, g.view(w, 8, [5, 8]), null, { kernel: 'tiled' });
    expect(g.steps.map((s) => s.kernel.name)).toEqual(['matmul-f16', 'matmul-tiled-f16']);
    expect(() => ops.layerNorm(g, x, g.weight('norm.weight', [8], 'f16'), g.weight('norm.bias', [8]))).toThrow(UnsupportedError);
    expect(() => ops.layerNorm(g, x, g.weight('n2.weight', [8], 'f16'), g.weight('n2.bias', [8]))).toThrow(/n2\.weight.*f16/);
    expect(() => ops.matmul(g, g.weight('a16', [3, 8], 'f16'), g.input('b', [8, 2]))).toThrow(/dtype f32/);
  });
  it('f16 kernels declare array<f16> exactly at their f16 bindings', () => {
    for (const k of kernels) {
      const half = [...k.code.matchAll(/@binding\((\d+)\)\s*var<storage,\s*read(?:_write)?>\s*\w+\s*:\s*array<(?:vec4<)?f16>/g)].map((m) => Number(m[1]) - 1);
      expect(half, k.name).toEqual([...(k.f16Bindings ?? [])]);
      // Bindings read as whole vec4s are declared so (the runner checks their extent).
      const vec4 = [...k.code.matchAll(/@binding\((\d+)\)\s*var<storage,\s*read(?:_write)?>\s*\w+\s*:\s*array<vec4</g)].map((m) => Number(m[1]) - 1);
      expect(vec4, k.name).toEqual([...(k.vec4Bindings ?? [])]);
      expect(/^enable f16;/m.test(k.code), k.name).toBe(half.length > 0);
    }
  });
});
