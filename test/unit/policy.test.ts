/** Kernel policy: chosen from the adapter (fallback flag, names, limits), overridable; carried by the GraphBuilder. */
import { describe, expect, it } from 'vitest';
import { choosePolicy, CPU_POLICY, GPU_POLICY, isCpuAdapter, TILED_MATMUL_NEEDS, type AdapterFacts } from '../../src/gpu/policy.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import * as ops from '../../src/ops/index.ts';
import { kernels } from '../../src/ops/index.ts';
import { TILED_BK, TILED_WG, VEC4_LARGE, VEC4_SMALL, matmulKernel } from '../../src/ops/matmul.ts';
import { PipelineCache } from '../../src/gpu/kernel.ts';

const facts = (info: Partial<AdapterFacts['info']>, limits: Partial<AdapterFacts['limits']> = {}): AdapterFacts => ({
  info: { vendor: '', architecture: '', description: '', isFallbackAdapter: false, ...info },
  limits: { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, ...limits },
  features: { shaderF16: false, subgroups: false },
});

describe('kernel policy', () => {
  it('CPU adapters (fallback flag or a software driver name) keep the CPU kernels', () => {
    expect(choosePolicy(facts({ isFallbackAdapter: true, vendor: 'nvidia' }))).toBe(CPU_POLICY);
    expect(choosePolicy(facts({ vendor: 'google', description: 'SwiftShader driver 5.0.0' }))).toBe(CPU_POLICY);
    expect(choosePolicy(facts({ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }))).toBe(CPU_POLICY);
    expect(isCpuAdapter(facts({ vendor: 'nvidia', architecture: 'ampere' }))).toBe(false);
  });
  it('GPUs get the tiled kernels; limits too small for the tiles keep the register matmul', () => {
    expect(choosePolicy(facts({ vendor: 'nvidia', architecture: 'ampere' }))).toBe(GPU_POLICY);
    const small = choosePolicy(facts({ vendor: 'arm' }, { maxComputeWorkgroupStorageSize: 4096 }));
    expect(small.name).toBe('gpu');
    expect(small.matmul).toBe('register');
    expect(small.packedMatmul).toBe(false);
    expect(small.rowReduction).toBe('workgroup');
    expect(small.conv).toBe('direct');
    expect(choosePolicy(facts({ vendor: 'arm' }, { maxComputeInvocationsPerWorkgroup: 128 })).matmul).toBe('register');
  });
  it('an explicit choice overrides the adapter', () => {
    // GPU kernels on a CPU adapter (tests): still compiled one at a time.
    expect(choosePolicy(facts({ isFallbackAdapter: true }), 'gpu')).toEqual({ ...GPU_POLICY, compileConcurrency: 1 });
    expect(choosePolicy(facts({ vendor: 'nvidia' }), 'cpu')).toBe(CPU_POLICY);
  });
  it('TILED_MATMUL_NEEDS matches the tiled kernel constants (and covers the vec4 kernel tiles)', () => {
    expect(TILED_MATMUL_NEEDS.workgroupStorageBytes).toBe(2 * TILED_BK * TILED_WG * 16);
    expect(TILED_MATMUL_NEEDS.invocations).toBe(TILED_WG * TILED_WG);
    for (const t of [VEC4_LARGE, VEC4_SMALL]) {
      // As: BK x (TM * WG_Y) floats, Bs: BK x (4 * WG_X) floats.
      expect(t.BK * (t.TM * t.WG_Y + 4 * t.WG_X) * 4).toBeLessThanOrEqual(TILED_MATMUL_NEEDS.workgroupStorageBytes);
      expect(t.WG_X * t.WG_Y).toBeLessThanOrEqual(TILED_MATMUL_NEEDS.invocations);
      expect(t.BK % 4).toBe(0);
      expect([4, 8]).toContain(t.TM);
    }
    // conv2d-gemm (same tiles) gathers each im2col column at every (TILED_WG / 4)-th k of a slice.
    expect(TILED_WG % 4).toBe(0);
  });
  it('conv2d: 1x1 stride 1 is a matmul under both policies; other convs direct (cpu) or implicit GEMM (gpu)', () => {
    const convKernels = (g: GraphBuilder): string[] => {
      const x = g.input('x', [1, 3, 12, 10]);
      ops.conv2d(g, x, g.input('w1', [4, 3, 1, 1]), null);
      ops.conv2d(g, x, g.input('w3', [4, 3, 3, 3]), null, { padding: 1 });
      ops.conv2d(g, x, g.input('w4', [4, 3, 4, 4]), null, { stride: 4, padEnd: [0, 2] });
      ops.conv2d(g, x, g.input('w7', [4, 3, 7, 7]), null, { stride: 2, padding: 3 });
      ops.conv2d(g, x, g.input('wd', [4, 3, 1, 1]), null, { stride: 2 });
      return g.steps.map((s) => s.kernel.name);
    };
    expect(CPU_POLICY.conv).toBe('direct');
    expect(convKernels(new GraphBuilder())).toEqual(['matmul', 'conv2d', 'conv2d', 'conv2d', 'conv2d']);
    expect(convKernels(new GraphBuilder(65535, GPU_POLICY))).toEqual(['matmul-vec4', 'conv2d-gemm', 'conv2d-gemm', 'conv2d-gemm', 'conv2d-gemm']);
  });
  it('the GraphBuilder carries the policy to the op functions (same model code, other kernels)', () => {
    const kernelsOf = (g: GraphBuilder): string[] => {
      const x = g.input('x', [2, 5, 8]);
      const w = g.input('w', [6, 8]);
      const y = ops.linear(g, x, w, null);
      ops.layerNorm(g, y, g.input('ga', [6]), g.input('be', [6]));
      ops.softmax(g, y);
      ops.attention(g, y, y, y, { heads: 2 });
      return g.steps.map((s) => s.kernel.name);
    };
    expect(kernelsOf(new GraphBuilder())).toEqual(['matmul-linear-vec4', 'layer-norm-rows', 'softmax-rows', 'attention-rows']);
    // The cpu policy's linear with vec4 loads needs K and the offsets to be multiples of 4, and B as [N, K].
    const cpuLinear = (K: number, xOffset: number, o: { transB?: boolean; kernel?: 'register' } = {}): string => {
      const g = new GraphBuilder();
      const xs = g.input('xs', [xOffset + 5 * K]);
      const x = g.view(xs, xOffset, [5, K]);
      const w = g.input('w', [6, K]);
      if (o.transB === false) ops.matmul(g, x, g.input('b', [K, 6]), o.kernel ? { kernel: o.kernel } : {});
      else ops.linear(g, x, w, null, o.kernel ? { kernel: o.kernel } : {});
      return g.steps.map((s) => s.kernel.name).join();
    };
    expect(cpuLinear(8, 0)).toBe('matmul-linear-vec4');
    expect(cpuLinear(7, 0)).toBe('matmul');
    expect(cpuLinear(8, 2)).toBe('matmul');
    expect(cpuLinear(8, 0, { transB: false })).toBe('matmul');
    expect(cpuLinear(8, 0, { kernel: 'register' })).toBe('matmul');
    expect(() => {
      const g = new GraphBuilder();
      ops.linear(g, g.input('x', [5, 7]), g.input('w', [6, 7]), null, { kernel: 'linear-vec4' });
    }).toThrow(/linear-vec4 matmul needs/);
    expect(kernelsOf(new GraphBuilder(65535, GPU_POLICY))).toEqual(['matmul-vec4', 'layer-norm', 'softmax', 'attention-tiled']);
    // Heads wider than the tiled kernel's registers (dh 65) fall back to a workgroup per row.
    const wide = new GraphBuilder(65535, GPU_POLICY);
    const x = wide.input('x', [1, 3, 130]);
    ops.attention(wide, x, x, x, { heads: 2 });
    expect(wide.steps.map((s) => s.kernel.name)).toEqual(['attention']);
    expect(kernelsOf(GraphBuilder.forDevice({ limits: { maxComputeWorkgroupsPerDimension: 65535 }, policy: GPU_POLICY }))[0]).toBe('matmul-vec4');
    // The 64x64 tiled kernel without vec4 loads where the policy does not pack.
    expect(kernelsOf(new GraphBuilder(65535, { ...GPU_POLICY, packedMatmul: false }))[0]).toBe('matmul-tiled');
    expect(kernels.map((k) => k.name)).toEqual(expect.arrayContaining(['matmul-tiled', 'matmul-vec4', 'matmul-vec4-f16']));
  });
});

describe('pipeline cache', () => {
  it('compiles at most `concurrency` pipelines at once, each key once', async () => {
    let running = 0;
    let peak = 0;
    let compiled = 0;
    const device = {
      createShaderModule: () => ({}),
      createBindGroupLayout: () => ({}),
      createPipelineLayout: () => ({}),
      pushErrorScope: () => undefined,
      popErrorScope: async () => null,
      createComputePipelineAsync: async () => {
        running++;
        compiled++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return {};
      },
    } as unknown as GPUDevice;
    (globalThis as { GPUShaderStage?: unknown }).GPUShaderStage ??= { COMPUTE: 4 };
    const cache = new PipelineCache(device, false, 1);
    const variants = [1, 4, 1, 4, 1].map((TM) => cache.get(matmulKernel, { TM, WG_X: 8, WG_Y: 8 }));
    const got = await Promise.all(variants);
    expect(peak).toBe(1);
    expect(compiled).toBe(2);
    expect(got[0]).toBe(got[2]);
    expect(cache.size).toBe(2);
    const wide = new PipelineCache(device, false, 8);
    peak = 0;
    await Promise.all([1, 2, 3].map((WG_X) => wide.get(matmulKernel, { TM: 1, WG_X, WG_Y: 8 })));
    expect(peak).toBe(3);
  });
});
