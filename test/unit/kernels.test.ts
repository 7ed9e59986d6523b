/** Kernel declarations: the TS Params layout and overrides agree with each WGSL file; dispatch folding. */
import { describe, expect, it } from 'vitest';
import { kernels } from '../../src/ops/index.ts';
import { foldWorkgroups, packParams } from '../../src/gpu/kernel.ts';
import { ROWS_MAX_HEAD_DIM, TILED_MAX_HEAD_DIM, TILED_QUERIES, attention, tiledAttentionShape } from '../../src/ops/attention.ts';
import { OC_BLOCK } from '../../src/ops/conv2d.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { GPU_POLICY } from '../../src/gpu/policy.ts';

function wgslParams(code: string): [string, string][] {
  const m = /struct Params\s*\{([^}]*)\}/.exec(code);
  if (!m) return [];
  return (m[1] as string)
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f.length > 0)
    .map((f) => {
      const [name, type] = f.split(':').map((s) => s.trim());
      return [name as string, type as string];
    });
}

describe('kernel declarations', () => {
  for (const k of kernels) {
    it(`${k.name}: Params struct, bindings and overrides match the WGSL`, () => {
      expect(wgslParams(k.code)).toEqual(k.params.map(([n, t]) => [n, t]));
      const overrides = [...k.code.matchAll(/^override\s+(\w+)\s*:\s*\w+\s*;/gm)].map((m) => m[1]);
      expect(overrides.sort()).toEqual([...k.overrides].sort());
      // No defaults in WGSL: TS is the one source of every override value.
      expect(/^override\s+\w+\s*:\s*\w+\s*=/m.test(k.code)).toBe(false);
      const bindings = [...k.code.matchAll(/@binding\((\d+)\)\s*var<storage,\s*(read|read_write)>/g)].map((m) => [Number(m[1]), m[2]]);
      expect(bindings).toEqual(k.bindings.map((b, i) => [i + 1, b === 'read' ? 'read' : 'read_write']));
      expect(k.code).toMatch(/@group\(0\) @binding\(0\) var<uniform> P: Params;/);
      expect(k.code).toMatch(/fn main\(/);
    });
  }
  it('packParams writes fields in order with their types, rejects missing / unknown / out of range', () => {
    const k = kernels.find((x) => x.name === 'softmax')!;
    const buf = packParams(k, { rows: 3, n: 7, xOff: 1, yOff: 2 });
    expect([...new Uint32Array(buf)]).toEqual([3, 7, 1, 2]);
    expect(() => packParams(k, { rows: 3, n: 7, xOff: 1 })).toThrow(/yOff/);
    expect(() => packParams(k, { rows: 3, n: 7, xOff: 1, yOff: 2, zz: 1 })).toThrow(/zz/);
    expect(() => packParams(k, { rows: -1, n: 7, xOff: 1, yOff: 2 })).toThrow(/rows/);
    const ln = kernels.find((x) => x.name === 'layer-norm')!;
    const v = new DataView(packParams(ln, { rows: 1, C: 2, eps: 1e-5, xOff: 0, rOff: 0, gOff: 0, bOff: 0, yOff: 0 }));
    expect(v.getFloat32(8, true)).toBeCloseTo(1e-5, 10);
  });
});

describe('constants shared by TS and WGSL', () => {
  it('attention-rows: const ACC in WGSL * 4 == ROWS_MAX_HEAD_DIM', () => {
    const k = kernels.find((x) => x.name === 'attention-rows')!;
    const acc = /const ACC = (\d+)u;/.exec(k.code);
    expect(Number(acc?.[1]) * 4).toBe(ROWS_MAX_HEAD_DIM);
  });
  it('conv2d: const OCB in WGSL == OC_BLOCK', () => {
    const k = kernels.find((x) => x.name === 'conv2d')!;
    const ocb = /const OCB = (\d+)u;/.exec(k.code);
    expect(Number(ocb?.[1])).toBe(OC_BLOCK);
  });
  it('attention-tiled: const MAX_DV * 4 == TILED_MAX_HEAD_DIM; every specialisation fits MAX_DV, MAX_BK and 16 KiB', () => {
    const k = kernels.find((x) => x.name === 'attention-tiled')!;
    const maxDv = Number(/const MAX_DV = (\d+)u;/.exec(k.code)?.[1]);
    const maxBk = Number(/const MAX_BK = (\d+)u;/.exec(k.code)?.[1]);
    expect(maxDv * 4).toBe(TILED_MAX_HEAD_DIM);
    for (let dh = 1; dh <= TILED_MAX_HEAD_DIM; dh++) {
      const { DV, BK } = tiledAttentionShape(dh);
      expect(4 * DV).toBeGreaterThanOrEqual(dh);
      expect(DV).toBeLessThanOrEqual(maxDv);
      expect(BK).toBeLessThanOrEqual(maxBk);
      expect(2 * BK * DV * 16).toBeLessThanOrEqual(16384); // ks + vs, WebGPU's minimum workgroup storage
    }
    expect(() => tiledAttentionShape(TILED_MAX_HEAD_DIM + 1)).toThrow(/head_dim 65/);
  });
  it('attention-tiled step: a workgroup per 32-query block of each (batch, head), specialised by head dim', () => {
    const g = new GraphBuilder(65535, GPU_POLICY);
    const q = g.input('q', [2, 33, 3 * 24]);
    const kv = g.input('kv', [2, 5, 3 * 24]);
    attention(g, q, kv, kv, { heads: 3 });
    const step = g.steps[0]!;
    expect(step.kernel.name).toBe('attention-tiled');
    expect(step.workgroups).toBe(2 * 3 * Math.ceil(33 / TILED_QUERIES));
    expect(step.constants).toMatchObject({ WG: TILED_QUERIES, DV: 8, BK: 32 });
  });
});

describe('foldWorkgroups', () => {
  it('keeps small counts on x, folds large ones into y and z', () => {
    expect(foldWorkgroups(1, 65535)).toEqual([1, 1, 1]);
    expect(foldWorkgroups(0, 65535)).toEqual([1, 1, 1]);
    expect(foldWorkgroups(65535, 65535)).toEqual([65535, 1, 1]);
    expect(foldWorkgroups(65536, 65535)).toEqual([65535, 2, 1]);
    expect(foldWorkgroups(10, 3)).toEqual([3, 2, 2]);
    for (const n of [1, 7, 65535, 65536, 1e6, 5e9]) {
      const [x, y, z] = foldWorkgroups(n, 65535);
      expect(x * y * z).toBeGreaterThanOrEqual(n);
      expect(Math.max(x, y, z)).toBeLessThanOrEqual(65535);
    }
    expect(() => foldWorkgroups(65535 ** 3 + 1, 65535)).toThrow();
  });
});
