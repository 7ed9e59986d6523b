/**
 * The kernels built on shaders/common/reduce.wgsl (LayerNorm, softmax, GroupNorm, plane-stats)
 * against test/ref under BOTH kernel policies, with the variant each policy picks by itself (the
 * test checks which kernel ran): rows shorter than the workgroup, rows many times longer, a single
 * row, and more rows than one dispatch dimension allows (the device's per-dimension cap lowered to
 * 7, as in the tiled matmul test: SwiftShader runs 65536 barrier workgroups too slowly for a unit
 * test; the folding and the guard against surplus workgroups are the same). Errors printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { CPU_POLICY, GPU_POLICY, type KernelPolicy } from '../../src/gpu/policy.ts';
import { GraphBuilder, type Tensor } from '../../src/graph/builder.ts';
import { CompiledGraph, type HostArray } from '../../src/graph/runner.ts';
import { foldWorkgroups } from '../../src/gpu/kernel.ts';
import * as ops from '../../src/ops/index.ts';
import { ROW_PER_INVOCATION_MAX_C } from '../../src/ops/layer-norm.ts';
import { SOFTMAX_ROW_PER_INVOCATION_MAX } from '../../src/ops/softmax.ts';
import { maxErrors } from '../ref/compare.ts';
import { makeRng, randn } from '../ref/random.ts';
import { groupNormRef, layerNormRef, softmaxRef } from '../ref/norm.ts';
import { positiveSigmoidRef } from '../ref/post.ts';

const SEED = Number(process.env.MASKGPU_SEED ?? 1234);
/** Per-dimension workgroup cap of the second device (folding without 65536 workgroups). */
const CAP = 7;

let full: GpuContext;
let capped: GpuContext;
beforeAll(async () => {
  full = await requestNodeGpu();
  capped = await requestNodeGpu({ maxWorkgroupsPerDimension: CAP });
  console.log(`adapter: ${full.adapterName}`);
});
afterAll(() => {
  full?.dispose();
  capped?.dispose();
});

/** Builds under `policy`, runs once, returns output y and the kernels and workgroup counts used. */
async function run(ctx: GpuContext, policy: KernelPolicy, build: (g: GraphBuilder) => Tensor, inputs: Record<string, HostArray>): Promise<{ y: HostArray; kernels: string[]; workgroups: number[] }> {
  const g = new GraphBuilder(ctx.limits.maxComputeWorkgroupsPerDimension, policy);
  g.output('y', build(g));
  const compiled = await CompiledGraph.compile(ctx, g, ctx.pipelines);
  try {
    await compiled.run(inputs);
    const y = (await compiled.read(['y'])).get('y') as HostArray;
    return { y, kernels: g.steps.map((s) => s.kernel.name), workgroups: g.steps.map((s) => s.workgroups) };
  } finally {
    compiled.dispose();
  }
}

function check(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): void {
  const e = maxErrors(actual, expected);
  const tol = atol + rtol * e.maxRef;
  console.log(`${name}: max abs ${e.maxAbs.toExponential(2)} (rel ${e.maxRel.toExponential(2)}, max|ref| ${e.maxRef.toFixed(3)}), tol ${tol.toExponential(2)}, seed ${SEED}`);
  expect(e.maxAbs).toBeLessThanOrEqual(tol);
}

for (const policy of [CPU_POLICY, GPU_POLICY]) {
  describe(`${policy.name} policy`, () => {
    // [rows, C, residual, capped device]. C = 7: shorter than the workgroup (64); 3000: 47 elements
    // per invocation and past the row-per-invocation limit (1024), so both policies take the
    // workgroup kernel. On the capped device (at most 7^3 = 343 workgroups): 300 rows are 300
    // workgroups of the workgroup kernel (gpu), 500 rows are 8 of the row kernel (cpu); both fold.
    const many = policy.rowReduction === 'workgroup' ? 300 : 500;
    const lnCases = [[1, 7, false, false], [1, 3000, true, false], [33, 96, true, false], [many, 5, false, true]] as const;
    for (const [rows, C, residual, cap] of lnCases) {
      it(`layer norm rows=${rows} C=${C}${residual ? ' + residual' : ''}${cap ? ` (dispatch cap ${CAP})` : ''}`, async () => {
        const rng = makeRng(SEED);
        const x = randn(rng, rows * C, 3);
        const r = randn(rng, rows * C);
        const gamma = randn(rng, C);
        const beta = randn(rng, C);
        const out = await run(cap ? capped : full, policy, (g) => ops.layerNorm(g, g.input('x', [rows, C]), g.input('g', [C]), g.input('b', [C]), residual ? { residual: g.input('r', [rows, C]) } : {}), residual ? { x, r, g: gamma, b: beta } : { x, g: gamma, b: beta });
        const perRow = policy.rowReduction === 'invocation' && C <= ROW_PER_INVOCATION_MAX_C;
        expect(out.kernels).toEqual([perRow ? 'layer-norm-rows' : 'layer-norm']);
        if (cap) expect(foldWorkgroups(out.workgroups[0] as number, CAP)[1]).toBeGreaterThan(1);
        check(`${policy.name} ${out.kernels[0]} rows=${rows} C=${C}`, out.y, layerNormRef(x, rows, C, gamma, beta, 1e-5, residual ? r : undefined), 2e-5, 1e-5);
      });
    }
    const smCases = [[1, 1, false], [5, 37, false], [2, 3000, false], [many, 3, true]] as const;
    for (const [rows, n, cap] of smCases) {
      it(`softmax rows=${rows} n=${n}${cap ? ` (dispatch cap ${CAP})` : ''}`, async () => {
        const x = randn(makeRng(SEED), rows * n, 4);
        const out = await run(cap ? capped : full, policy, (g) => ops.softmax(g, g.input('x', [rows, n])), { x });
        const perRow = policy.rowReduction === 'invocation' && n <= SOFTMAX_ROW_PER_INVOCATION_MAX;
        expect(out.kernels).toEqual([perRow ? 'softmax-rows' : 'softmax']);
        if (cap) expect(foldWorkgroups(out.workgroups[0] as number, CAP)[1]).toBeGreaterThan(1);
        check(`${policy.name} ${out.kernels[0]} rows=${rows} n=${n}`, out.y, softmaxRef(x, rows, n), 1e-6, 1e-5);
      });
    }
    // Workgroup = policy.reductionWorkgroup (64 / 256). [B, C, H, W, G, capped]: groups of 1 value
    // (shorter than the workgroup), of 2 * 48 * 48 = 4608 values (18+ per invocation), 33 groups
    // on the capped device ([7, 5, 1] with 2 surplus workgroups).
    const gnCases = [[1, 6, 1, 1, 6, false], [1, 64, 48, 48, 32, false], [3, 22, 3, 5, 11, true]] as const;
    for (const [B, C, H, W, G, cap] of gnCases) {
      it(`group norm B=${B} C=${C} ${H}x${W} G=${G}${cap ? ` (dispatch cap ${CAP})` : ''}`, async () => {
        const rng = makeRng(SEED);
        const x = randn(rng, B * C * H * W, 2);
        const gamma = randn(rng, C);
        const beta = randn(rng, C);
        const out = await run(cap ? capped : full, policy, (g) => ops.groupNorm(g, g.input('x', [B, C, H, W]), g.input('g', [C]), g.input('b', [C]), { groups: G, relu: true }), { x, g: gamma, b: beta });
        expect(out.kernels).toEqual(['group-norm']);
        check(`${policy.name} group-norm WG=${policy.reductionWorkgroup} B=${B} C=${C} ${H}x${W} G=${G}`, out.y, groupNormRef(x, [B, C, H, W], G, gamma, beta, 1e-5, true), 2e-5, 1e-5);
      });
    }
    // The paired sum (workgroupSum2): counts exact, sums of sigmoids to f32 rounding; 9 planes on
    // the capped device fold to [7, 2, 1].
    for (const [B, Q, h, w, cap] of [[1, 2, 1, 3, false], [1, 3, 45, 61, false], [3, 3, 5, 4, true]] as const) {
      it(`plane stats (positive sigmoid) ${B}x${Q} planes of ${h}x${w}${cap ? ` (dispatch cap ${CAP})` : ''}`, async () => {
        const x = randn(makeRng(SEED), B * Q * h * w, 2);
        const out = await run(cap ? capped : full, policy, (g) => ops.planeStats(g, g.input('x', [B, Q, h, w]), { kind: 'positive-sigmoid' }), { x });
        const ref = positiveSigmoidRef(x, B * Q, h * w);
        const y = out.y as Float32Array;
        for (let p = 0; p < B * Q; p++) expect(y[p * 2]).toBe(ref[p * 2]);
        check(`${policy.name} plane-stats WG=${policy.reductionWorkgroup} ${B * Q} planes ${h}x${w}`, y, ref, 0, 2e-6);
      });
    }
  });
}

// The helper's smallest trees: WG = 1 (no level), 2 (only the last level, done without a barrier
// after it), 4. Custom policies; the shipped ones use 64 / 256.
for (const wg of [1, 2, 4]) {
  it(`reduction workgroup ${wg}: group norm, plane stats, count-nonfinite`, async () => {
    const policy: KernelPolicy = { ...CPU_POLICY, reductionWorkgroup: wg };
    const rng = makeRng(SEED);
    const [B, C, H, W, G] = [2, 6, 3, 5, 3];
    const x = randn(rng, B * C * H * W, 2);
    const gamma = randn(rng, C);
    const beta = randn(rng, C);
    const gn = await run(full, policy, (g) => ops.groupNorm(g, g.input('x', [B, C, H, W]), g.input('g', [C]), g.input('b', [C]), { groups: G }), { x, g: gamma, b: beta });
    check(`group-norm WG=${wg}`, gn.y, groupNormRef(x, [B, C, H, W], G, gamma, beta, 1e-5, false), 2e-5, 1e-5);
    const ps = await run(full, policy, (g) => ops.planeStats(g, g.input('x', [B, C, H, W]), { kind: 'positive-sigmoid' }), { x });
    const ref = positiveSigmoidRef(x, B * C, H * W);
    for (let p = 0; p < B * C; p++) expect((ps.y as Float32Array)[p * 2]).toBe(ref[p * 2]);
    check(`plane-stats WG=${wg}`, ps.y, ref, 0, 2e-6);
    const bad = Float32Array.from(x);
    for (let i = 0; i < bad.length; i += 7) bad[i] = i % 2 ? Number.NaN : Number.NEGATIVE_INFINITY;
    const nf = await run(full, policy, (g) => ops.countNonFinite(g, g.input('x', [bad.length]), 50), { x: bad });
    const expected = Array.from({ length: Math.ceil(bad.length / 50) }, (_, k) => bad.subarray(k * 50, (k + 1) * 50).filter((v) => !Number.isFinite(v)).length);
    expect([...(nf.y as Uint32Array)]).toEqual(expected);
  });
}

it('a reduction workgroup that is not a power of two is refused when the graph is built', () => {
  const g = new GraphBuilder(65535, { ...GPU_POLICY, reductionWorkgroup: 96 });
  expect(() => ops.groupNorm(g, g.input('x', [1, 4, 2, 2]), g.input('g', [4]), g.input('b', [4]), { groups: 2 })).toThrow(/group-norm: reduction workgroup size 96 is not a power of two/);
  expect(() => ops.planeStats(g, g.input('p', [1, 1, 2, 2]), { kind: 'positive-sigmoid' })).toThrow(/plane-stats: reduction workgroup size 96/);
  expect(() => ops.countNonFinite(g, g.input('c', [10]))).toThrow(/count-nonfinite: reduction workgroup size 96/);
  expect(() => ops.resizeArgmax(g, g.input('m', [2, 3, 3]), g.input('pl', [2], 'i32'), g.input('w', [2]), [4, 4])).toThrow(/row-reduce: reduction workgroup size 96/);
});
