/** Kernel policy: chosen from the adapter (fallback flag, names, limits), overridable; carried by the GraphBuilder. */
import { describe, expect, it } from 'vitest';
import { choosePolicy, CPU_POLICY, GPU_POLICY, isCpuAdapter, TILED_MATMUL_NEEDS, type AdapterFacts } from '../../src/gpu/policy.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import * as ops from '../../src/ops/index.ts';
import { kernels } from '../../src/ops/index.ts';
import { TILED_BK, TILED_WG } from '../../src/ops/matmul.ts';

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
    expect(small.rowReduction).toBe('workgroup');
    expect(choosePolicy(facts({ vendor: 'arm' }, { maxComputeInvocationsPerWorkgroup: 128 })).matmul).toBe('register');
  });
  it('an explicit choice overrides the adapter', () => {
    expect(choosePolicy(facts({ isFallbackAdapter: true }), 'gpu')).toBe(GPU_POLICY);
    expect(choosePolicy(facts({ vendor: 'nvidia' }), 'cpu')).toBe(CPU_POLICY);
  });
  it('TILED_MATMUL_NEEDS matches the tiled kernel constants', () => {
    expect(TILED_MATMUL_NEEDS.workgroupStorageBytes).toBe(2 * TILED_BK * TILED_WG * 16);
    expect(TILED_MATMUL_NEEDS.invocations).toBe(TILED_WG * TILED_WG);
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
    expect(kernelsOf(new GraphBuilder())).toEqual(['matmul', 'layer-norm-rows', 'softmax-rows', 'attention-rows']);
    expect(kernelsOf(new GraphBuilder(65535, GPU_POLICY))).toEqual(['matmul-tiled', 'layer-norm', 'softmax', 'attention']);
    expect(kernelsOf(GraphBuilder.forDevice({ limits: { maxComputeWorkgroupsPerDimension: 65535 }, policy: GPU_POLICY }))[0]).toBe('matmul-tiled');
    expect(kernels.map((k) => k.name)).toContain('matmul-tiled');
  });
});
