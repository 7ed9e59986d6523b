/**
 * Every kernel against its plain-TS CPU reference (test/ref) on random inputs, including awkward
 * shapes (not multiples of 4/16/32, single rows, one head) and dispatches above 65535 workgroups.
 * Tolerances are written per case; the measured errors are printed on every run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.ts';
import type { Tensor } from '../../src/graph/builder.ts';
import * as ops from '../../src/ops/index.ts';
import { maxErrors } from '../ref/compare.ts';
import { makeRng, randn, randu } from '../ref/random.ts';
import { matmulRef } from '../ref/matmul.ts';
import { packedLayout, packKMajor } from '../../src/weights/pack.ts';
import { conv2dRef, maxPoolRef } from '../ref/conv.ts';
import { batchNormRef, groupNormRef, layerNormRef, softmaxRef } from '../ref/norm.ts';
import { binaryRef, permuteRef, unaryRef } from '../ref/elementwise.ts';
import { attentionRef } from '../ref/attention.ts';
import { msDeformAttnRef } from '../ref/ms-deform-attn.ts';
import { pilResizeRef, resizeBilinearRef, resizeNearestRef } from '../ref/resize.ts';
import { nearestLabelsRef, paintInstancesRef, positiveSigmoidRef, remapRef, resizeArgmaxRef, sampledPositiveRef, unpackLabelStats } from '../ref/post.ts';
import { patchMergeRef, relPosBiasRef, shiftMaskRef, windowPartitionRef, windowReverseRef } from '../ref/swin.ts';
import { maskEinsumRef } from '../ref/einsum.ts';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
  console.log(`adapter: ${h.ctx.adapterName}`);
});
afterAll(() => h?.dispose());

const SEED = Number(process.env.MASKGPU_SEED ?? 1234);

/** Checks max |a - e| <= atol + rtol * max|e| and logs the measurement. */
function check(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): void {
  const e = maxErrors(actual, expected);
  const tol = atol + rtol * e.maxRef;
  console.log(`${name}: max abs ${e.maxAbs.toExponential(2)} (rel ${e.maxRel.toExponential(2)}, max|ref| ${e.maxRef.toFixed(3)}), tol ${tol.toExponential(2)}, seed ${SEED}`);
  expect(e.maxAbs).toBeLessThanOrEqual(tol);
}

describe('matmul', () => {
  const cases = [
    { batch: 1, M: 1, N: 1, K: 1, transB: false, bias: 'n', act: 'none', bcastB: false },
    { batch: 1, M: 37, N: 29, K: 53, transB: true, bias: 'n', act: 'relu', bcastB: true },
    { batch: 3, M: 100, N: 65, K: 33, transB: false, bias: 'none', act: 'none', bcastB: false },
    { batch: 2, M: 131, N: 7, K: 19, transB: true, bias: 'm', act: 'none', bcastB: true },
    { batch: 1, M: 1, N: 301, K: 97, transB: true, bias: 'n', act: 'relu', bcastB: true },
  ] as const;
  for (const c of cases) for (const kernel of ['register', 'tiled', 'vec4'] as const) {
    it(`batch=${c.batch} M=${c.M} N=${c.N} K=${c.K} transB=${c.transB} bias=${c.bias} act=${c.act}${c.bcastB ? ' B broadcast' : ''} kernel=${kernel}`, async () => {
      const rng = makeRng(SEED);
      const a = randn(rng, c.batch * c.M * c.K);
      const bBatch = c.bcastB ? 1 : c.batch;
      const b = randn(rng, bBatch * c.K * c.N);
      const biasLen = c.bias === 'n' ? c.N : c.bias === 'm' ? c.M : 0;
      const bias = randn(rng, Math.max(biasLen, 1));
      const bShape = c.transB ? [c.N, c.K] : [c.K, c.N];
      const out = await h.run(
        (g) => {
          const A = g.input('a', [c.batch, c.M, c.K]);
          const B = g.input('b', c.bcastB ? bShape : [c.batch, ...bShape]);
          const bi = c.bias === 'none' ? null : g.input('bias', [biasLen]);
          return { y: ops.matmul(g, A, B, { transB: c.transB, bias: bi, biasAlong: c.bias === 'm' ? 'm' : 'n', act: c.act, kernel }) };
        },
        c.bias === 'none' ? { a, b } : { a, b, bias },
      );
      const ref = matmulRef(a, b, c.bias === 'none' ? null : bias, {
        batch: c.batch, M: c.M, N: c.N, K: c.K, transB: c.transB, biasAlong: c.bias === 'm' ? 'm' : 'n', act: c.act,
        aBatchStride: c.M * c.K, bBatchStride: c.bcastB ? 0 : c.K * c.N,
      });
      check(`matmul ${kernel}`, out.y!, ref, 1e-5, 1e-5);
    });
  }

  // The cpu policy's nn.Linear kernel (vec4 loads along K): K a multiple of 4, uneven M and N.
  const linearCases = [
    { batch: 1, M: 1, N: 1, K: 4, bias: 'n', act: 'none', bcastB: true },
    { batch: 1, M: 37, N: 29, K: 52, bias: 'n', act: 'relu', bcastB: true },
    { batch: 2, M: 131, N: 7, K: 20, bias: 'm', act: 'none', bcastB: false },
    { batch: 1, M: 1, N: 301, K: 96, bias: 'n', act: 'relu', bcastB: true },
    { batch: 3, M: 33, N: 5, K: 8, bias: 'none', act: 'none', bcastB: true },
  ] as const;
  for (const c of linearCases) {
    it(`linear-vec4: batch=${c.batch} M=${c.M} N=${c.N} K=${c.K} bias=${c.bias} act=${c.act}${c.bcastB ? ' B broadcast' : ''}`, async () => {
      const rng = makeRng(SEED);
      const a = randn(rng, c.batch * c.M * c.K);
      const b = randn(rng, (c.bcastB ? 1 : c.batch) * c.N * c.K);
      const biasLen = c.bias === 'n' ? c.N : c.bias === 'm' ? c.M : 0;
      const bias = randn(rng, Math.max(biasLen, 1));
      let kernelName = '';
      const out = await h.run(
        (g) => {
          const A = g.input('a', [c.batch, c.M, c.K]);
          const B = g.input('b', c.bcastB ? [c.N, c.K] : [c.batch, c.N, c.K]);
          const bi = c.bias === 'none' ? null : g.input('bias', [biasLen]);
          const y = ops.matmul(g, A, B, { transB: true, bias: bi, biasAlong: c.bias === 'm' ? 'm' : 'n', act: c.act, kernel: 'linear-vec4' });
          kernelName = g.steps.at(-1)?.kernel.name ?? '';
          return { y };
        },
        c.bias === 'none' ? { a, b } : { a, b, bias },
      );
      expect(kernelName).toBe('matmul-linear-vec4');
      const ref = matmulRef(a, b, c.bias === 'none' ? null : bias, {
        batch: c.batch, M: c.M, N: c.N, K: c.K, transB: true, biasAlong: c.bias === 'm' ? 'm' : 'n', act: c.act,
        aBatchStride: c.M * c.K, bBatchStride: c.bcastB ? 0 : c.K * c.N,
      });
      check('matmul linear-vec4', out.y!, ref, 1e-5, 1e-5);
    });
  }

  it('tiled: views at odd offsets, alpha, M and N past one tile, K past several slices (M=70 N=67 K=45)', async () => {
    const rng = makeRng(SEED);
    const [M, N, K] = [70, 67, 45];
    const a = randn(rng, 3 + M * K);
    const b = randn(rng, 5 + N * K);
    const out = await h.run(
      (g) => {
        const A = g.view(g.input('a', [3 + M * K]), 3, [M, K]);
        const B = g.view(g.input('b', [5 + N * K]), 5, [N, K]);
        return { y: ops.matmul(g, A, B, { transB: true, alpha: 0.25, kernel: 'tiled' }) };
      },
      { a, b },
    );
    const ref = matmulRef(a.subarray(3), b.subarray(5), null, { batch: 1, M, N, K, transB: true, biasAlong: 'n', act: 'none', alpha: 0.25 });
    check('matmul tiled offsets', out.y!, ref, 1e-5, 1e-5);
  });

  // The tiled kernel on SwiftShader runs barriers as coroutines: 65536+ workgroups of 256 take
  // minutes. The device here caps a dispatch dimension at 7, so 31 workgroups fold to [7, 5, 1]
  // (4 surplus workgroups must do nothing): the same folding and guard as above 65535.
  it('tiled and vec4: folded dispatch with surplus workgroups (cap 7 per dimension; batch=31 M=2 N=3 K=5, B broadcast; 300x300)', async () => {
    const folded = await createHarness({ maxWorkgroupsPerDimension: 7 });
    try {
      const rng = makeRng(SEED);
      const [batch, M, N, K] = [31, 2, 3, 5];
      const a = randn(rng, batch * M * K);
      const b = randn(rng, K * N);
      const ref = matmulRef(a, b, null, { batch, M, N, K, transB: false, biasAlong: 'n', act: 'none', aBatchStride: M * K, bBatchStride: 0 });
      for (const kernel of ['tiled', 'vec4'] as const) {
        const out = await folded.run((g) => ({ y: ops.matmul(g, g.input('a', [batch, M, K]), g.input('b', [K, N]), { kernel }) }), { a, b });
        check(`matmul ${kernel} folded`, out.y!, ref, 1e-5, 1e-5);
      }
      // 2-D tile grids folded too: 300x300 is 5x5 tiled workgroups, 10x10 register ones.
      const a2 = randn(rng, 300 * K);
      const b2 = randn(rng, K * 300);
      const ref2 = matmulRef(a2, b2, null, { batch: 1, M: 300, N: 300, K, transB: false, biasAlong: 'n', act: 'none' });
      for (const kernel of ['register', 'tiled', 'vec4'] as const) {
        const wide = await folded.run((g) => ({ y: ops.matmul(g, g.input('a', [300, K]), g.input('b', [K, 300]), { kernel }) }), { a: a2, b: b2 });
        check(`matmul ${kernel} folded 300x300`, wide.y!, ref2, 1e-5, 1e-5);
      }
      // linear-vec4 (B as [N, K], K = 8): 10x10 register tiles folded too.
      const w3 = randn(rng, 300 * 8);
      const a4 = randn(rng, 300 * 8);
      const lin = await folded.run((g) => ({ y: ops.linear(g, g.input('a', [300, 8]), g.input('w', [300, 8]), null, { kernel: 'linear-vec4' }) }), { a: a4, w: w3 });
      check('matmul linear-vec4 folded 300x300', lin.y!, matmulRef(a4, w3, null, { batch: 1, M: 300, N: 300, K: 8, transB: true, biasAlong: 'n', act: 'none' }), 1e-5, 1e-5);
      // vec4 with K = 8: whole-vec4 loads of A and B (K = 5 above takes the element path).
      const a3 = randn(rng, 300 * 8);
      const b3 = randn(rng, 8 * 300);
      const aligned = await folded.run((g) => ({ y: ops.matmul(g, g.input('a', [300, 8]), g.input('b', [8, 300]), { kernel: 'vec4' }) }), { a: a3, b: b3 });
      check('matmul vec4 folded 300x300 K=8', aligned.y!, matmulRef(a3, b3, null, { batch: 1, M: 300, N: 300, K: 8, transB: false, biasAlong: 'n', act: 'none' }), 1e-5, 1e-5);
    } finally {
      folded.dispose();
    }
  });

  // The vec4 kernel: whole-vec4 loads where K / N and the offsets are multiples of 4 (aVec,
  // bVec), element loads otherwise; both tile shapes (M < VEC4_SMALL_M and above).
  const vecCases = [
    { batch: 2, M: 65, N: 17, K: 100, transB: false, bias: 'n', act: 'none', aOff: 0, bOff: 0 }, // A vec4, B by element
    { batch: 1, M: 129, N: 63, K: 64, transB: true, bias: 'm', act: 'relu', aOff: 4, bOff: 8 }, // both vec4 (B along k), large tile
    { batch: 1, M: 3, N: 100, K: 5, transB: false, bias: 'n', act: 'none', aOff: 1, bOff: 4 }, // B vec4 along n, A by element
    { batch: 3, M: 5, N: 129, K: 17, transB: true, bias: 'none', act: 'none', aOff: 0, bOff: 1 }, // K % 4 != 0
    { batch: 1, M: 100, N: 65, K: 63, transB: false, bias: 'm', act: 'relu', aOff: 3, bOff: 0 },
    { batch: 2, M: 17, N: 5, K: 129, transB: true, bias: 'n', act: 'none', aOff: 0, bOff: 0 }, // B broadcast over the batch
  ] as const;
  for (const c of vecCases) {
    it(`vec4: batch=${c.batch} M=${c.M} N=${c.N} K=${c.K} transB=${c.transB} bias=${c.bias} act=${c.act} A offset ${c.aOff} B offset ${c.bOff}`, async () => {
      const rng = makeRng(SEED);
      const bBatch = c.batch === 2 && c.transB ? 1 : c.batch;
      const a = randn(rng, c.aOff + c.batch * c.M * c.K);
      const b = randn(rng, c.bOff + bBatch * c.K * c.N);
      const biasLen = c.bias === 'n' ? c.N : c.bias === 'm' ? c.M : 0;
      const bias = randn(rng, Math.max(biasLen, 1));
      const bShape = c.transB ? [c.N, c.K] : [c.K, c.N];
      let params: Readonly<Record<string, number>> = {};
      const out = await h.run(
        (g) => {
          const A = g.view(g.input('a', [a.length]), c.aOff, [c.batch, c.M, c.K]);
          const B = g.view(g.input('b', [b.length]), c.bOff, bBatch === 1 ? bShape : [bBatch, ...bShape]);
          const bi = c.bias === 'none' ? null : g.input('bias', [biasLen]);
          const y = ops.matmul(g, A, B, { transB: c.transB, bias: bi, biasAlong: c.bias === 'm' ? 'm' : 'n', act: c.act, kernel: 'vec4' });
          params = (g.steps.at(-1) as { params: Record<string, number> }).params;
          return { y };
        },
        c.bias === 'none' ? { a, b } : { a, b, bias },
      );
      const ref = matmulRef(a.subarray(c.aOff), b.subarray(c.bOff), c.bias === 'none' ? null : bias, {
        batch: c.batch, M: c.M, N: c.N, K: c.K, transB: c.transB, biasAlong: c.bias === 'm' ? 'm' : 'n', act: c.act,
        aBatchStride: c.M * c.K, bBatchStride: bBatch === 1 ? 0 : c.K * c.N,
      });
      check(`matmul vec4 (aVec=${params.aVec} bVec=${params.bVec})`, out.y!, ref, 1e-5, 1e-5);
    });
  }

  // nn.Linear weights packed K-major at load (weights/pack.ts), read whole and as row slices
  // (the packed in_proj_weight of attention: q/k/v rows at offsets D*D, 2*D*D).
  for (const [N, K, M, batch] of [[20, 64, 100, 1], [17, 33, 5, 2], [129, 8, 130, 1]] as const) {
    it(`vec4: packed weight [3*${N}, ${K}] in three row slices, x [${batch}, ${M}, ${K}], bias along n`, async () => {
      const rng = makeRng(SEED);
      const w = randn(rng, 3 * N * K);
      const x = randn(rng, batch * M * K);
      const bias = randn(rng, 3 * N);
      const layout = packedLayout('test', 'w', [3 * N, K], K);
      const packedData = packKMajor(w, layout);
      const buffer = h.ctx.device.createBuffer({ label: 'test:packed-weight', size: Math.ceil(packedData.byteLength / 16) * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
      h.ctx.device.queue.writeBuffer(buffer, 0, packedData);
      const kinds: string[] = [];
      try {
        const out = await h.run(
          (g) => {
            const W = g.weight('w', [3 * N, K], 'f32', layout);
            const X = g.input('x', [batch, M, K]);
            const Bi = g.input('bias', [3 * N]);
            const ys: Record<string, Tensor> = {};
            for (let i = 0; i < 3; i++) {
              ys[`y${i}`] = ops.matmul(g, X, g.view(W, i * N * K, [N, K]), { transB: true, bias: g.view(Bi, i * N, [N]) });
              const p = (g.steps.at(-1) as { params: Record<string, number>; kernel: { name: string } });
              kinds.push(`${p.kernel.name} bOff=${p.params.bOff} ldb=${p.params.ldb} bVec=${p.params.bVec}`);
            }
            return ys;
          },
          { x, bias },
          { buffer: () => buffer, packed: () => layout },
        );
        console.log(`packed slices: ${kinds.join('; ')}`);
        for (let i = 0; i < 3; i++) {
          const ref = matmulRef(x, w.subarray(i * N * K, (i + 1) * N * K), bias.subarray(i * N, (i + 1) * N), { batch, M, N, K, transB: true, biasAlong: 'n', act: 'none', aBatchStride: M * K, bBatchStride: 0 });
          check(`matmul vec4 packed slice ${i}`, out[`y${i}`]!, ref, 1e-5, 1e-5);
        }
      } finally {
        buffer.destroy();
      }
    });
  }

  it('mask einsum bqc,bchw->bqhw B=2 Q=13 C=9 H=5 W=7', async () => {
    const rng = makeRng(SEED);
    const [B, Q, C, H, W] = [2, 13, 9, 5, 7];
    const emb = randn(rng, B * Q * C);
    const feat = randn(rng, B * C * H * W);
    const out = await h.run((g) => ({ y: ops.maskEinsum(g, g.input('e', [B, Q, C]), g.input('f', [B, C, H, W])) }), { e: emb, f: feat });
    check('mask-einsum', out.y!, maskEinsumRef(emb, feat, B, Q, C, H * W), 1e-5, 1e-5);
  });
});

describe('conv2d', () => {
  // Both kernels of a non-1x1 conv (the policy picks one: direct on CPU adapters, the implicit GEMM
  // on GPUs): awkward channel counts and sizes, one output channel, single output row / column,
  // strides 2 and 4, the ResNet 7x7 stem geometry, non-square kernels, a strided 1x1 (ResNet
  // downsample), batch 2, several 64x64 tiles and K slices (Cout=70, 143 pixels, K=81).
  const cases = [
    { B: 1, Cin: 3, H: 17, W: 13, Cout: 5, kh: 4, kw: 4, s: 4, p: 0, bias: true },
    { B: 2, Cin: 6, H: 9, W: 11, Cout: 7, kh: 3, kw: 3, s: 1, p: 1, bias: false },
    { B: 1, Cin: 5, H: 1, W: 9, Cout: 3, kh: 1, kw: 1, s: 1, p: 0, bias: true },
    { B: 2, Cin: 4, H: 10, W: 7, Cout: 9, kh: 3, kw: 3, s: 2, p: 1, bias: true },
    { B: 1, Cin: 3, H: 23, W: 19, Cout: 1, kh: 7, kw: 7, s: 2, p: 3, bias: true },
    { B: 1, Cin: 5, H: 1, W: 9, Cout: 3, kh: 3, kw: 3, s: 1, p: 1, bias: false },
    { B: 2, Cin: 2, H: 8, W: 1, Cout: 4, kh: 3, kw: 3, s: 1, p: 1, bias: true },
    { B: 1, Cin: 3, H: 6, W: 10, Cout: 6, kh: 2, kw: 3, s: 1, p: 0, bias: true },
    { B: 1, Cin: 6, H: 9, W: 7, Cout: 5, kh: 1, kw: 1, s: 2, p: 0, bias: false },
    { B: 2, Cin: 9, H: 13, W: 11, Cout: 70, kh: 3, kw: 3, s: 1, p: 1, bias: true },
  ];
  for (const c of cases) {
    const matmulPath = c.kh === 1 && c.kw === 1 && c.s === 1 && c.p === 0;
    for (const kernel of matmulPath ? (['direct'] as const) : (['direct', 'gemm'] as const)) {
      it(`B=${c.B} Cin=${c.Cin} ${c.H}x${c.W} Cout=${c.Cout} k=${c.kh}x${c.kw} s=${c.s} p=${c.p} bias=${c.bias} ${matmulPath ? '(1x1 -> matmul)' : `kernel=${kernel}`}`, async () => {
        const rng = makeRng(SEED);
        const x = randn(rng, c.B * c.Cin * c.H * c.W);
        const w = randn(rng, c.Cout * c.Cin * c.kh * c.kw);
        const b = randn(rng, c.Cout);
        const out = await h.run(
          (g) => {
            const y = ops.conv2d(g, g.input('x', [c.B, c.Cin, c.H, c.W]), g.input('w', [c.Cout, c.Cin, c.kh, c.kw]), c.bias ? g.input('b', [c.Cout]) : null, { stride: c.s, padding: c.p, kernel });
            expect(g.steps.at(-1)?.kernel.name).toBe(matmulPath ? 'matmul' : kernel === 'gemm' ? 'conv2d-gemm' : 'conv2d');
            return { y };
          },
          c.bias ? { x, w, b } : { x, w },
        );
        const ref = conv2dRef(x, [c.B, c.Cin, c.H, c.W], w, c.bias ? b : null, { cout: c.Cout, kh: c.kh, kw: c.kw, strideY: c.s, strideX: c.s, padY: c.p, padX: c.p });
        check(`conv2d ${matmulPath ? 'matmul' : kernel}`, out.y!, ref.data, 1e-5, 1e-5);
      });
    }
  }

  it('views at odd offsets (x, w, bias, out) for both kernels: B=1 Cin=3 7x6 Cout=5 k=3 s=1 p=1', async () => {
    const rng = makeRng(SEED);
    const [B, Cin, H, W, Cout] = [1, 3, 7, 6, 5];
    const x = randn(rng, 3 + B * Cin * H * W);
    const w = randn(rng, 5 + Cout * Cin * 9);
    const b = randn(rng, 1 + Cout);
    const ref = conv2dRef(x.subarray(3), [B, Cin, H, W], w.subarray(5), b.subarray(1), { cout: Cout, kh: 3, kw: 3, strideY: 1, strideX: 1, padY: 1, padX: 1 });
    for (const kernel of ['direct', 'gemm'] as const) {
      const out = await h.run((g) => {
        const X = g.view(g.input('x', [x.length]), 3, [B, Cin, H, W]);
        const Wt = g.view(g.input('w', [w.length]), 5, [Cout, Cin, 3, 3]);
        const bi = g.view(g.input('b', [b.length]), 1, [Cout]);
        const whole = g.empty('y', [7 + ref.data.length]);
        const y = ops.conv2d(g, X, Wt, bi, { padding: 1, kernel, out: g.view(whole, 7, ref.shape) });
        return { y };
      }, { x, w, b });
      check(`conv2d ${kernel} offsets`, out.y!, ref.data, 1e-5, 1e-5);
    }
  });

  // SwiftShader runs barriers as coroutines: a real 65536-workgroup gemm dispatch takes minutes.
  // A device capped at 7 workgroups per dimension folds the same way: 12 gemm workgroups (2
  // batches x 2 channel tiles x 3 pixel tiles) -> [7, 2, 1] with 2 surplus that must do nothing.
  it('folded dispatch with surplus workgroups (cap 7 per dimension; B=2 Cin=9 13x11 Cout=70 k=3 p=1)', async () => {
    const folded = await createHarness({ maxWorkgroupsPerDimension: 7 });
    try {
      const rng = makeRng(SEED);
      const [B, Cin, H, W, Cout] = [2, 9, 13, 11, 70];
      const x = randn(rng, B * Cin * H * W);
      const w = randn(rng, Cout * Cin * 9);
      const b = randn(rng, Cout);
      const ref = conv2dRef(x, [B, Cin, H, W], w, b, { cout: Cout, kh: 3, kw: 3, strideY: 1, strideX: 1, padY: 1, padX: 1 });
      for (const kernel of ['direct', 'gemm'] as const) {
        const out = await folded.run((g) => ({ y: ops.conv2d(g, g.input('x', [B, Cin, H, W]), g.input('w', [Cout, Cin, 3, 3]), g.input('b', [Cout]), { padding: 1, kernel }) }), { x, w, b });
        check(`conv2d ${kernel} folded`, out.y!, ref.data, 1e-5, 1e-5);
      }
    } finally {
      folded.dispose();
    }
  });
});

describe('max pool', () => {
  // ResNet stem (3/2/1) on odd and tiny maps, a window with no padding, stride > kernel, all-negative values.
  for (const [B, C, H, W, k, st, pad] of [[1, 3, 11, 9, 3, 2, 1], [2, 5, 1, 1, 3, 2, 1], [1, 2, 2, 7, 3, 2, 1], [1, 4, 8, 6, 2, 2, 0], [1, 1, 10, 10, 2, 3, 1]] as const) {
    it(`max pool B=${B} C=${C} ${H}x${W} k=${k} s=${st} pad=${pad}`, async () => {
      const x = randn(makeRng(SEED), B * C * H * W, 2).map((v) => v - 10);
      const ref = maxPoolRef(x, B * C, H, W, k, st, pad);
      const out = await h.run((g) => ({ y: ops.maxPool2d(g, g.input('x', [B, C, H, W]), { kernel: k, stride: st, padding: pad }) }), { x });
      expect(out.y!.length).toBe(B * C * ref.Ho * ref.Wo);
      check('max-pool', out.y!, ref.y, 0);
    });
  }
  it('rejects padding above half the kernel', async () => {
    await expect(h.run((g) => ({ y: ops.maxPool2d(g, g.input('x', [1, 1, 5, 5]), { kernel: 3, stride: 2, padding: 2 }) }), {})).rejects.toThrow(/max-pool: padding/);
  });
});

describe('conv2d bottom/right padding (Swin patch embedding)', () => {
  for (const kernel of ['direct', 'gemm'] as const) {
    it(`B=2 Cin=3 17x13 k=4 s=4 padEnd=[3,3] -> 5x4 kernel=${kernel}`, async () => {
      const rng = makeRng(SEED);
      const [B, Cin, H, W, Cout] = [2, 3, 17, 13, 5];
      const x = randn(rng, B * Cin * H * W);
      const w = randn(rng, Cout * Cin * 16);
      const b = randn(rng, Cout);
      const out = await h.run((g) => ({ y: ops.conv2d(g, g.input('x', [B, Cin, H, W]), g.input('w', [Cout, Cin, 4, 4]), g.input('b', [Cout]), { stride: 4, padEnd: [3, 3], kernel }) }), { x, w, b });
      const padded = new Float32Array(B * Cin * 20 * 16);
      for (let p = 0; p < B * Cin; p++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) padded[(p * 20 + i) * 16 + j] = x[(p * H + i) * W + j]!;
      const ref = conv2dRef(padded, [B, Cin, 20, 16], w, b, { cout: Cout, kh: 4, kw: 4, strideY: 4, strideX: 4, padY: 0, padX: 0 });
      expect(ref.shape).toEqual([B, Cout, 5, 4]);
      check(`conv2d ${kernel} padEnd`, out.y!, ref.data, 1e-5, 1e-5);
    });
  }
});

describe('normalisation', () => {
  for (const [rows, C, residual] of [[1, 7, false], [33, 96, true], [5, 1000, false]] as const) for (const kernel of ['rows', 'workgroup'] as const) {
    it(`layer norm rows=${rows} C=${C}${residual ? ' + residual' : ''} kernel=${kernel}`, async () => {
      const rng = makeRng(SEED);
      const x = randn(rng, rows * C, 3);
      const r = randn(rng, rows * C);
      const gamma = randn(rng, C);
      const beta = randn(rng, C);
      const out = await h.run(
        (g) => {
          const X = g.input('x', [rows, C]);
          return { y: ops.layerNorm(g, X, g.input('g', [C]), g.input('b', [C]), residual ? { residual: g.input('r', [rows, C]), kernel } : { kernel }) };
        },
        residual ? { x, r, g: gamma, b: beta } : { x, g: gamma, b: beta },
      );
      check('layer-norm', out.y!, layerNormRef(x, rows, C, gamma, beta, 1e-5, residual ? r : undefined), 2e-5, 1e-5);
    });
  }
  for (const [B, C, H, W, G, relu] of [[1, 32, 3, 5, 32, false], [2, 64, 7, 9, 32, true], [1, 6, 1, 1, 3, false]] as const) {
    it(`group norm B=${B} C=${C} ${H}x${W} G=${G}${relu ? ' relu' : ''}`, async () => {
      const rng = makeRng(SEED);
      const x = randn(rng, B * C * H * W, 2);
      const gamma = randn(rng, C);
      const beta = randn(rng, C);
      const out = await h.run(
        (g) => ({ y: ops.groupNorm(g, g.input('x', [B, C, H, W]), g.input('g', [C]), g.input('b', [C]), { groups: G, relu }) }),
        { x, g: gamma, b: beta },
      );
      check('group-norm', out.y!, groupNormRef(x, [B, C, H, W], G, gamma, beta, 1e-5, relu), 2e-5, 1e-5);
    });
  }
  for (const [B, C, H, W, act, residual] of [[1, 3, 1, 1, 'none', false], [2, 5, 7, 9, 'relu', true], [1, 17, 11, 3, 'relu', false], [3, 1, 2, 13, 'none', true]] as const) {
    it(`batch norm (eval) B=${B} C=${C} ${H}x${W} act=${act}${residual ? ' + residual' : ''}`, async () => {
      const rng = makeRng(SEED);
      const n = B * C * H * W;
      const x = randn(rng, n, 2);
      const r = randn(rng, n);
      const gamma = randn(rng, C);
      const beta = randn(rng, C);
      const mean = randn(rng, C, 0.5);
      const variance = randu(rng, C, 0.05, 3);
      const out = await h.run(
        (g) => ({
          y: ops.batchNorm(g, g.input('x', [B, C, H, W]), { weight: g.input('g', [C]), bias: g.input('b', [C]), runningMean: g.input('m', [C]), runningVar: g.input('v', [C]) }, {
            act, ...(residual ? { residual: g.input('r', [B, C, H, W]) } : {}),
          }),
        }),
        residual ? { x, r, g: gamma, b: beta, m: mean, v: variance } : { x, g: gamma, b: beta, m: mean, v: variance },
      );
      check('batch-norm', out.y!, batchNormRef(x, [B, C, H, W], gamma, beta, mean, variance, 1e-5, act, residual ? r : undefined), 2e-6, 1e-6);
    });
  }
  for (const [rows, n] of [[1, 1], [7, 12], [3, 301]] as const) for (const kernel of ['rows', 'workgroup'] as const) {
    it(`softmax rows=${rows} n=${n} kernel=${kernel}`, async () => {
      const x = randn(makeRng(SEED), rows * n, 4);
      const out = await h.run((g) => ({ y: ops.softmax(g, g.input('x', [rows, n]), undefined, kernel) }), { x });
      check('softmax', out.y!, softmaxRef(x, rows, n), 1e-6, 1e-5);
    });
  }
  it('softmax with more rows than one dispatch dimension allows (70000 x 3)', async () => {
    const [rows, n] = [70000, 3];
    const x = randn(makeRng(SEED), rows * n);
    const out = await h.run((g) => ({ y: ops.softmax(g, g.input('x', [rows, n])) }), { x });
    check('softmax 70000 rows', out.y!, softmaxRef(x, rows, n), 1e-6, 1e-5);
  });
});

describe('elementwise and copies', () => {
  for (const op of ['relu', 'gelu', 'sigmoid', 'copy'] as const) {
    it(`${op} n=1001`, async () => {
      const x = randn(makeRng(SEED), 1001, 4);
      const out = await h.run((g) => ({ y: ops.unary(g, op, g.input('x', [1001])) }), { x });
      check(op, out.y!, unaryRef(op, x), 1e-6, 1e-6);
    });
  }
  it('add per channel [2, 5, 3, 7] + [5] (axis 1), mul same shape', async () => {
    const rng = makeRng(SEED);
    const a = randn(rng, 2 * 5 * 3 * 7);
    const b = randn(rng, 5);
    const c = randn(rng, a.length);
    const out = await h.run(
      (g) => {
        const A = g.input('a', [2, 5, 3, 7]);
        return { add: ops.binary(g, 'add', A, g.input('b', [5]), 1), mul: ops.binary(g, 'mul', A, g.input('c', [2, 5, 3, 7])) };
      },
      { a, b, c },
    );
    check('add broadcast', out.add!, binaryRef('add', a, b, 21, 5), 0);
    check('mul', out.mul!, binaryRef('mul', a, c, 1, a.length), 0);
  });
  it('elementwise add over 65535 * 256 elements (folded dispatch)', async () => {
    const rng = makeRng(SEED);
    const m = 3 * (65535 * 86 + 25); // 65535 * 258 + 75 elements -> 66052 workgroups of 256
    const x = randu(rng, m, -1, 1);
    const bias = randu(rng, 3, -1, 1);
    const got = await h.run((g) => ({ y: ops.binary(g, 'add', g.input('x', [m / 3, 3]), g.input('bias', [3]), 1) }), { x, bias });
    check('add folded', got.y!, binaryRef('add', x, bias, 1, 3), 0);
  });
  it('permute [2, 3, 5, 7] by [0, 2, 3, 1] and [3, 1, 0, 2]', async () => {
    const x = randn(makeRng(SEED), 2 * 3 * 5 * 7);
    const out = await h.run(
      (g) => {
        const X = g.input('x', [2, 3, 5, 7]);
        return { p1: ops.permute(g, X, [0, 2, 3, 1]), p2: ops.permute(g, X, [3, 1, 0, 2]) };
      },
      { x },
    );
    check('permute 0231', out.p1!, permuteRef(x, [2, 3, 5, 7], [0, 2, 3, 1]), 0);
    check('permute 3102', out.p2!, permuteRef(x, [2, 3, 5, 7], [3, 1, 0, 2]), 0);
  });
  it('writeSlice builds a concat along axis 1 of [2, *, 3]', async () => {
    const rng = makeRng(SEED);
    const a = randn(rng, 2 * 4 * 3);
    const b = randn(rng, 2 * 5 * 3);
    const out = await h.run(
      (g) => {
        const y = g.empty('cat', [2, 9, 3]);
        ops.writeSlice(g, g.input('a', [2, 4, 3]), y, 1, 0);
        ops.writeSlice(g, g.input('b', [2, 5, 3]), y, 1, 4);
        return { y };
      },
      { a, b },
    );
    const ref = new Float32Array(2 * 9 * 3);
    for (let n = 0; n < 2; n++) {
      ref.set(a.subarray(n * 12, n * 12 + 12), n * 27);
      ref.set(b.subarray(n * 15, n * 15 + 15), n * 27 + 12);
    }
    check('concat', out.y!, ref, 0);
  });
});

interface AttentionCase {
  B: number; H: number; Lq: number; Lk: number; dh: number;
  mask: 'none' | 'bool' | 'additive';
  /** Batches of the mask (divides B; b uses mask b % maskBatch). Defaults: bool B, additive 3. */
  maskBatch?: number;
  bias: boolean;
  /** q, k, v and the output as views at odd offsets of larger buffers (the op's xOff params). */
  views?: boolean;
}

/**
 * Runs one attention case on `harness` and checks it against attentionRef. Bool masks block 70%
 * of keys at random, plus every key of query 0 of each mask batch and of query 2 of mask batch 1
 * (fully blocked rows); additive masks are Swin's shift mask (-100 between regions).
 */
async function checkAttention(harness: Harness, c: AttentionCase, kernel: 'rows' | 'workgroup' | 'tiled', maskedRow: 'attend-all' | 'zero', label: string): Promise<void> {
  const rng = makeRng(SEED);
  const C = c.H * c.dh;
  const q = randn(rng, c.B * c.Lq * C);
  const k = randn(rng, c.B * c.Lk * C);
  const v = randn(rng, c.B * c.Lk * C);
  const maskBatch = c.maskBatch ?? (c.mask === 'additive' ? 3 : c.B);
  const nMask = maskBatch * c.Lq * c.Lk;
  let maskData: Float32Array | Uint32Array | undefined;
  if (c.mask === 'bool') {
    const m = new Uint32Array(nMask);
    for (let i = 0; i < nMask; i++) m[i] = rng() < 0.7 ? 1 : 0;
    for (let b = 0; b < maskBatch; b++) m.fill(1, b * c.Lq * c.Lk, b * c.Lq * c.Lk + c.Lk);
    if (c.Lq > 2 && maskBatch > 1) m.fill(1, (c.Lq + 2) * c.Lk, (c.Lq + 3) * c.Lk);
    maskData = m;
  } else if (c.mask === 'additive') {
    const shift = shiftMaskRef(14, 21, 7, 3); // [6 windows, 49, 49]
    if (c.Lq !== 49 || c.Lk !== 49 || maskBatch > 6) throw new Error('additive cases use 49-token windows, maskBatch <= 6');
    maskData = shift.subarray(0, nMask);
  }
  const bias = c.bias ? randn(rng, c.H * c.Lq * c.Lk) : undefined;
  // Views: q at offset 3 of its buffer, k and v at offsets 1 and 2 + |k| of one buffer, the
  // output at offset 5 of a buffer holding -0.25 everywhere (the rest must keep it).
  const [qPad, kPad, oPad] = c.views ? [3, 1, 5] : [0, 0, 0];
  const inputs: Record<string, Float32Array | Uint32Array> = {};
  if (c.views) {
    const qb = new Float32Array(qPad + q.length + 2);
    qb.set(q, qPad);
    const kv = new Float32Array(kPad + k.length + 1 + v.length + 4);
    kv.set(k, kPad);
    kv.set(v, kPad + k.length + 1);
    Object.assign(inputs, { q: qb, kv, o0: new Float32Array(oPad + q.length + 3).fill(-0.25) });
  } else Object.assign(inputs, { q, k, v });
  if (maskData) inputs.mask = maskData;
  if (bias) inputs.bias = bias;
  const out = await harness.run(
    (g) => {
      let qt: Tensor, kt: Tensor, vt: Tensor, ot: Tensor | undefined, whole: Tensor | undefined;
      if (c.views) {
        qt = g.view(g.input('q', [qPad + q.length + 2]), qPad, [c.B, c.Lq, C], 'q');
        const kv = g.input('kv', [kPad + k.length + 1 + v.length + 4]);
        kt = g.view(kv, kPad, [c.B, c.Lk, C], 'k');
        vt = g.view(kv, kPad + k.length + 1, [c.B, c.Lk, C], 'v');
        whole = ops.unary(g, 'copy', g.input('o0', [oPad + q.length + 3]));
        ot = g.view(whole, oPad, [c.B, c.Lq, C], 'out');
      } else {
        qt = g.input('q', [c.B, c.Lq, C]);
        kt = g.input('k', [c.B, c.Lk, C]);
        vt = g.input('v', [c.B, c.Lk, C]);
      }
      const y = ops.attention(g, qt, kt, vt, {
        heads: c.H,
        maskedRow,
        kernel,
        ...(maskData ? { mask: { kind: c.mask === 'bool' ? 'bool' : 'additive', tensor: g.input('mask', [maskBatch, c.Lq, c.Lk], c.mask === 'bool' ? 'u32' : 'f32') } } : {}),
        ...(bias ? { bias: g.input('bias', [c.H, c.Lq, c.Lk]) } : {}),
        ...(ot ? { out: ot } : {}),
      } as const);
      return { y: whole ?? y };
    },
    inputs,
  );
  const ref = attentionRef(q, k, v, {
    B: c.B, H: c.H, Lq: c.Lq, Lk: c.Lk, dh: c.dh, scale: 1 / Math.sqrt(c.dh), maskedRow,
    ...(maskData ? { mask: { kind: c.mask === 'bool' ? 'bool' : 'additive', data: maskData, maskBatch } } : {}),
    ...(bias ? { bias } : {}),
  } as Parameters<typeof attentionRef>[3]);
  const expected = c.views ? new Float32Array(oPad + q.length + 3).fill(-0.25) : ref;
  if (c.views) expected.set(ref, oPad);
  check(`attention ${kernel} ${label}`, out.y!, expected, 2e-5, 1e-5);
}

const caseName = (c: AttentionCase): string =>
  `B=${c.B} H=${c.H} Lq=${c.Lq} Lk=${c.Lk} dh=${c.dh} mask=${c.mask}${c.maskBatch !== undefined ? ` maskBatch=${c.maskBatch}` : ''}${c.bias ? ' +bias' : ''}${c.views ? ' views' : ''}`;

describe('attention', () => {
  const cases: AttentionCase[] = [
    { B: 1, H: 1, Lq: 1, Lk: 1, dh: 3, mask: 'none', bias: false },
    { B: 2, H: 3, Lq: 7, Lk: 70, dh: 11, mask: 'none', bias: false },
    { B: 2, H: 4, Lq: 12, Lk: 131, dh: 16, mask: 'bool', bias: false },
    { B: 6, H: 2, Lq: 49, Lk: 49, dh: 6, mask: 'additive', bias: true },
    { B: 1, H: 2, Lq: 5, Lk: 9, dh: 65, mask: 'bool', bias: true },
  ];
  for (const c of cases) {
    for (const maskedRow of c.mask === 'bool' ? (['attend-all', 'zero'] as const) : (['attend-all'] as const)) for (const kernel of c.dh <= 64 ? (['rows', 'workgroup', 'tiled'] as const) : (['workgroup'] as const)) {
      it(`${caseName(c)} maskedRow=${maskedRow} kernel=${kernel}`, async () => {
        await checkAttention(h, c, kernel, maskedRow, caseName(c));
      });
    }
  }

  // The tiled kernel: query blocks of 32 and key tiles of 64/32/16 (dh <= 16/32/64) that the
  // shapes do not fill, one head, fully blocked rows under both rules, masks shared by batches.
  const tiled: AttentionCase[] = [
    { B: 1, H: 1, Lq: 1, Lk: 1, dh: 8, mask: 'none', bias: false },
    { B: 2, H: 1, Lq: 7, Lk: 5, dh: 24, mask: 'bool', maskBatch: 1, bias: false },
    { B: 4, H: 3, Lq: 49, Lk: 49, dh: 32, mask: 'additive', maskBatch: 2, bias: true },
    { B: 2, H: 2, Lq: 100, Lk: 300, dh: 32, mask: 'bool', maskBatch: 1, bias: false },
    { B: 1, H: 2, Lq: 33, Lk: 300, dh: 64, mask: 'bool', bias: true },
    { B: 3, H: 1, Lq: 33, Lk: 49, dh: 64, mask: 'none', bias: false, views: true },
    { B: 2, H: 1, Lq: 100, Lk: 5, dh: 8, mask: 'bool', bias: true, views: true },
  ];
  for (const c of tiled) {
    for (const maskedRow of c.mask === 'bool' ? (['attend-all', 'zero'] as const) : (['attend-all'] as const)) {
      it(`tiled: ${caseName(c)} maskedRow=${maskedRow}`, async () => {
        await checkAttention(h, c, 'tiled', maskedRow, caseName(c));
      });
    }
  }

  // B*H*ceil(Lq/32) = 3*2*3 = 18 workgroups on a device capped at 7 per dimension: [7, 3, 1],
  // 3 surplus workgroups must store nothing (the same folding as above 65535).
  it('tiled: folded dispatch with surplus workgroups (cap 7 per dimension; B=3 H=2 Lq=70 Lk=40 dh=16 bool)', async () => {
    const folded = await createHarness({ maxWorkgroupsPerDimension: 7 });
    try {
      const c: AttentionCase = { B: 3, H: 2, Lq: 70, Lk: 40, dh: 16, mask: 'bool', bias: false };
      await checkAttention(folded, c, 'tiled', 'attend-all', `${caseName(c)} folded`);
    } finally {
      folded.dispose();
    }
  });
});

describe('multi-scale deformable attention', () => {
  const cases = [
    { B: 1, Lq: 1, H: 1, dh: 4, levels: [[1, 1]] as [number, number][], P: 1 },
    { B: 2, Lq: 31, H: 3, dh: 5, levels: [[6, 4], [3, 2], [2, 1]] as [number, number][], P: 4 },
    { B: 1, Lq: 50, H: 2, dh: 8, levels: [[7, 5], [4, 3], [2, 2], [1, 1]] as [number, number][], P: 3 },
  ];
  for (const c of cases) {
    it(`q=${c.Lq} h=${c.H} dh=${c.dh} lv=[${c.levels.map(([a, b]) => `${a}x${b}`).join(',')}] p=${c.P} (points outside the maps)`, async () => {
      const rng = makeRng(SEED);
      const L = c.levels.length;
      const S = c.levels.reduce((a, [hh, ww]) => a + hh * ww, 0);
      const C = c.H * c.dh;
      const value = randn(rng, c.B * S * C);
      const offsets = randn(rng, c.B * c.Lq * c.H * L * c.P * 2, 2.5); // several pixels, some outside
      const wRaw = randu(rng, c.B * c.Lq * c.H * L * c.P, 0, 1);
      const ref2 = randu(rng, c.Lq * 2, -0.1, 1.1);
      const out = await h.run(
        (g) => ({
          y: ops.msDeformAttn(
            g, g.input('value', [c.B, S, C]), g.input('off', [c.B, c.Lq, c.H * L * c.P * 2]), g.input('w', [c.B, c.Lq, c.H * L * c.P]), g.input('ref', [c.Lq, 2]),
            { heads: c.H, levels: c.levels, points: c.P },
          ),
        }),
        { value, off: offsets, w: wRaw, ref: ref2 },
      );
      const ref = msDeformAttnRef(value, offsets, wRaw, ref2, { B: c.B, Lq: c.Lq, H: c.H, dh: c.dh, levels: c.levels, points: c.P });
      check('ms-deform-attn', out.y!, ref, 2e-5, 1e-5);
    });
  }
});

describe('resize', () => {
  for (const [planes, Hi, Wi, Ho, Wo] of [[3, 5, 7, 11, 13], [2, 24, 32, 7, 6], [1, 1, 1, 3, 2], [4, 23, 19, 384, 384]] as const) {
    it(`bilinear ${planes} planes ${Hi}x${Wi} -> ${Ho}x${Wo}`, async () => {
      const x = randn(makeRng(SEED), planes * Hi * Wi);
      const out = await h.run((g) => ({ y: ops.resizeBilinear(g, g.input('x', [planes, Hi, Wi]), [Ho, Wo]) }), { x });
      check('resize-bilinear', out.y!, resizeBilinearRef(x, planes, Hi, Wi, Ho, Wo), 1e-5, 1e-6);
    });
  }
  for (const [hh, ww, oh, ow] of [[90, 120, 96, 128], [77, 101, 56, 73], [113, 67, 90, 53], [5, 9, 17, 2], [40, 1, 13, 1]] as const) {
    it(`Pillow bilinear RGBA8 ${hh}x${ww} -> ${oh}x${ow} is bit exact`, async () => {
      const rng = makeRng(SEED);
      const rgba = new Uint8Array(hh * ww * 4);
      for (let i = 0; i < rgba.length; i++) rgba[i] = Math.floor(rng() * 256);
      const out = await h.run((g) => ({ y: ops.pilResize(g, g.input('img', [hh, ww], 'u32'), [oh, ow]) }), { img: new Uint32Array(rgba.buffer) });
      const got = new Uint8Array((out.y as Uint32Array).buffer);
      const ref = pilResizeRef(rgba, hh, ww, oh, ow);
      check('pil-resize', got, ref, 0);
    });
  }
});

describe('swin', () => {
  for (const [B, H, W, C, ws, shift] of [[1, 24, 32, 12, 7, 3], [2, 23, 19, 8, 6, 3], [1, 3, 4, 5, 7, 3], [1, 14, 14, 4, 7, 0]] as const) {
    it(`window partition + reverse B=${B} ${H}x${W} C=${C} ws=${ws} shift=${shift}`, async () => {
      const rng = makeRng(SEED);
      const x = randn(rng, B * H * W * C);
      const res = randn(rng, B * H * W * C);
      const out = await h.run(
        (g) => {
          const geo = ops.windowGeometry(B, H, W, C, ws, shift);
          const win = ops.windowPartition(g, g.input('x', [B, H, W, C]), geo);
          return { win, back: ops.windowReverse(g, win, g.input('res', [B, H, W, C]), geo) };
        },
        { x, res },
      );
      const winRef = windowPartitionRef(x, B, H, W, C, ws, shift);
      check('window-partition', out.win!, winRef, 0);
      check('window-reverse', out.back!, windowReverseRef(winRef, B, H, W, C, ws, shift, res), 0);
    });
  }
  for (const [ws, heads] of [[7, 3], [6, 1], [12, 4]] as const) {
    it(`relative position bias ws=${ws} heads=${heads}; shift mask`, async () => {
      const table = randn(makeRng(SEED), (2 * ws - 1) ** 2 * heads);
      const out = await h.run((g) => ({ y: ops.relativePositionBias(g, g.input('t', [(2 * ws - 1) ** 2, heads]), ws, heads) }), { t: table });
      check('relative-position-bias', out.y!, relPosBiasRef(table, ws, heads), 0);
      check('shift-mask', ops.shiftMask(2 * ws, 3 * ws, ws, Math.floor(ws / 2)), shiftMaskRef(2 * ws, 3 * ws, ws, Math.floor(ws / 2)), 0);
    });
  }
  for (const [B, H, W, C] of [[1, 24, 32, 12], [2, 23, 19, 8], [1, 1, 1, 3]] as const) {
    it(`patch merge gather B=${B} ${H}x${W} C=${C}`, async () => {
      const x = randn(makeRng(SEED), B * H * W * C);
      const out = await h.run((g) => ({ y: ops.patchMergeGather(g, g.input('x', [B, H, W, C])) }), { x });
      check('patch-merge', out.y!, patchMergeRef(x, B, H, W, C), 0);
    });
  }
});

describe('post-processing kernels', () => {
  it('nearest resize [3, 23, 19] -> [40, 7]', async () => {
    const x = randn(makeRng(SEED), 3 * 23 * 19);
    const out = await h.run((g) => ({ y: ops.resizeNearest(g, g.input('x', [3, 23, 19]), [40, 7]) }), { x });
    check('resize-nearest', out.y!, resizeNearestRef(x, 3, 23, 19, 40, 7), 0);
  });
  for (const c of [
    { P: 5, Hi: 7, Wi: 9, K: 7, Ho: 23, Wo: 301, own: 0.25 },
    { P: 3, Hi: 13, Wi: 11, K: 3, Ho: 4, Wo: 3, own: undefined },
    { P: 2, Hi: 3, Wi: 2, K: 2, Ho: 70, Wo: 1, own: 0.5 },
  ]) {
    it(`resize-argmax P=${c.P} ${c.Hi}x${c.Wi} -> ${c.Ho}x${c.Wo} entries=${c.K} (list ended by -1, repeated planes, ties)`, async () => {
      const rng = makeRng(SEED);
      const x = randu(rng, c.P * c.Hi * c.Wi, -1, 1);
      x.fill(0.5, 0, 2 * c.Hi * c.Wi); // planes 0 and 1 tie where weights tie: the first entry must win
      const plane = Int32Array.from({ length: c.K }, (_, k) => (k === c.K - 2 && c.K > 3 ? -1 : k % c.P)); // entries after the first -1 are ignored
      const w = Float32Array.from({ length: c.K }, (_, k) => (k < 2 ? 1 : 0.5 + rng()));
      const out = await h.run((g) => {
        const r = ops.resizeArgmax(g, g.input('x', [c.P, c.Hi, c.Wi]), g.input('plane', [c.K], 'i32'), g.input('w', [c.K]), [c.Ho, c.Wo], c.own === undefined ? {} : { ownThreshold: c.own });
        return { map: r.map, stats: r.stats };
      }, { x, plane, w });
      const ref = resizeArgmaxRef(x, c.P, c.Hi, c.Wi, plane, w, c.Ho, c.Wo, c.own);
      check('resize-argmax map', out.map!, ref.map, 0);
      check('resize-argmax stats (area, own, sum x, sum y)', unpackLabelStats(out.stats!, c.K), ref.stats, 0);
    });
  }
  it('nearest-labels 23x19 -> 301x7 and 23x19 -> 5x4, labels -1..9 with bins base 1 count 7', async () => {
    const rng = makeRng(SEED);
    const [Hi, Wi] = [23, 19];
    const x = new Int32Array(Hi * Wi).map(() => Math.floor(rng() * 11) - 1);
    for (const [Ho, Wo] of [[301, 7], [5, 4]] as const) {
      const out = await h.run((g) => {
        const r = ops.nearestLabels(g, g.input('x', [Hi, Wi], 'i32'), [Ho, Wo], { base: 1, count: 7 });
        return { map: r.map, stats: r.stats };
      }, { x });
      const ref = nearestLabelsRef(x, Hi, Wi, Ho, Wo, 1, 7);
      check(`nearest-labels map ${Ho}x${Wo}`, out.map!, ref.map, 0);
      check(`nearest-labels histogram + centre sums ${Ho}x${Wo}`, unpackLabelStats(out.stats!, 7), ref.stats, 0);
    }
  });
  it('plane stats: positive-sigmoid and sampled-positive (Q=5, 37x29 -> 11x60)', async () => {
    const rng = makeRng(SEED);
    const [Q, Hi, Wi, Ho, Wo] = [5, 37, 29, 11, 60];
    const n = Hi * Wi;
    const x = randn(rng, Q * n);
    const out = await h.run((g) => {
      const X = g.input('x', [1, Q, Hi, Wi]);
      return {
        pos: ops.planeStats(g, X, { kind: 'positive-sigmoid' }),
        hit: ops.planeStats(g, X, { kind: 'sampled-positive', hits: g.constant('hits', [Hi + Wi], ops.nearestHits([Hi, Wi], [Ho, Wo])) }),
      };
    }, { x });
    const pick = (a: ArrayLike<number>, j: number): number[] => Array.from({ length: Q }, (_, q) => a[q * 2 + j] as number);
    const pos = positiveSigmoidRef(x, Q, n);
    check('plane-stats positive count', pick(out.pos!, 0), Array.from({ length: Q }, (_, q) => pos[q * 2] as number), 0);
    check('plane-stats sigmoid sum', pick(out.pos!, 1), Array.from({ length: Q }, (_, q) => pos[q * 2 + 1] as number), 1e-3, 1e-6);
    check('plane-stats sampled positive count', pick(out.hit!, 0), sampledPositiveRef(x, Q, Hi, Wi, Ho, Wo), 0);
  });
  it('paint instances (last wins, unused rows skipped) and remap with fill', async () => {
    const rng = makeRng(SEED);
    const [Q, n] = [6, 513];
    const masks = randn(rng, Q * n);
    const table = new Int32Array([4, 0, -1, -1, 1, 1, 4, 2, -1, -1, 0, 3]);
    const idx = new Int32Array(n).map(() => Math.floor(rng() * (Q + 2)) - 1);
    const ids = new Int32Array([7, 0, 3, 9, 1, 2, -5]);
    const out = await h.run((g) => ({
      paint: ops.paintInstances(g, g.input('m', [Q, n]), g.input('t', [Q, 2], 'i32'), -1),
      remap: ops.remap(g, g.input('idx', [n], 'i32'), g.input('ids', [7], 'i32')),
    }), { m: masks, t: table, idx, ids });
    check('paint-instances', out.paint!, paintInstancesRef(masks, n, table, -1), 0);
    check('remap', out.remap!, remapRef(idx, ids), 0);
  });
});
