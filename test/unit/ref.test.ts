import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { attentionRef } from '../ref/attention.ts';
import { maxErrors } from '../ref/compare.ts';
import { conv2dRef } from '../ref/conv.ts';
import { maskEinsumRef } from '../ref/einsum.ts';
import { binaryRef, permuteRef, unaryRef } from '../ref/elementwise.ts';
import { erf, erfc, gelu, matmulRef } from '../ref/matmul.ts';
import { msDeformAttnRef } from '../ref/ms-deform-attn.ts';
import { groupNormRef, layerNormRef, softmaxRef } from '../ref/norm.ts';
import { readPngRgba } from '../ref/png.ts';
import { makeRng, randn, randu } from '../ref/random.ts';
import {
  pilResizeCoefficients,
  pilResizeRef,
  resizeBilinearRef,
  resizeNearestRef,
} from '../ref/resize.ts';
import {
  patchMergeRef,
  relPosBiasRef,
  shiftMaskRef,
  windowPartitionRef,
  windowReverseRef,
} from '../ref/swin.ts';

const F = (values: number[]): Float32Array => Float32Array.from(values);

/** Elementwise closeness with an absolute tolerance; prints nothing on success. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  const e = maxErrors(actual, expected);
  expect(e.maxAbs, `max abs error ${e.maxAbs} at ${e.argMax}`).toBeLessThanOrEqual(tol);
}

describe('random', () => {
  it('mulberry32 is deterministic and in [0, 1)', () => {
    const a = makeRng(42);
    const b = makeRng(42);
    const c = makeRng(43);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(c()).not.toBe(xs[0]);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });

  it('randn / randu have the requested distribution', () => {
    const n = 20001;
    const x = randn(makeRng(7), n, 2);
    expect(x.length).toBe(n);
    const mean = x.reduce((s, v) => s + v, 0) / n;
    const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(std - 2)).toBeLessThan(0.05);
    const u = randu(makeRng(8), 1000, -3, 5);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...u)).toBeLessThan(5);
  });
});

describe('maxErrors', () => {
  it('reports abs, rel, argMax and the reference scale', () => {
    expect(maxErrors([1, 2.5, -4], [1, 2, -4])).toEqual({ maxAbs: 0.5, maxRel: 0.125, argMax: 1, maxRef: 4 });
    expect(maxErrors([], []).maxAbs).toBe(0);
  });
  it('treats NaN as an infinite error and rejects length mismatches', () => {
    const e = maxErrors([0, NaN, 0], [0, 1, 0]);
    expect(e.maxAbs).toBe(Infinity);
    expect(e.argMax).toBe(1);
    expect(() => maxErrors([1, 2], [1])).toThrow(/length/);
  });
});

describe('erf / gelu', () => {
  it('matches known values to float64 precision', () => {
    const known: [number, number][] = [
      [0, 0],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [-3, -0.9999779095030014],
      [3.5, 0.9999992569016276],
      [-0.1, -0.1124629160182849],
    ];
    for (const [x, y] of known) expect(Math.abs(erf(x) - y), `erf(${x})`).toBeLessThan(2e-16 + 2e-16 * Math.abs(y));
    expect(erf(10)).toBe(1);
    // erfc(5) = 1.5374597944280349e-12 (relative accuracy in the tail)
    expect(Math.abs(erfc(5) / 1.5374597944280349e-12 - 1)).toBeLessThan(1e-13);
    expect(Math.abs(erfc(-1) - (1 + 0.8427007929497149))).toBeLessThan(1e-15);
  });
  it('gives exact GELU', () => {
    expect(Math.abs(gelu(1) - 0.8413447460685429)).toBeLessThan(1e-15);
    expect(Math.abs(gelu(-1) + 0.15865525393145707)).toBeLessThan(1e-15);
    expect(gelu(0)).toBe(0);
    // gelu(-10) = -10 * Phi(-10) = -7.619853024160527e-23: the tail survives
    expect(Math.abs(gelu(-10) / -7.619853024160527e-23 - 1)).toBeLessThan(1e-12);
  });
});

describe('matmulRef', () => {
  const a = F([1, 2, 3, 4]);
  it('2x2 product, transB, bias along n and m, alpha, activations', () => {
    const b = F([5, 6, 7, 8]);
    const base = { batch: 1, M: 2, N: 2, K: 2, transB: false, biasAlong: 'n', act: 'none' } as const;
    expect(Array.from(matmulRef(a, b, null, base))).toEqual([19, 22, 43, 50]);
    // B^T stored: [[5,7],[6,8]] read transposed gives the same product
    expect(Array.from(matmulRef(a, F([5, 7, 6, 8]), null, { ...base, transB: true }))).toEqual([19, 22, 43, 50]);
    expect(Array.from(matmulRef(a, b, F([1, -100]), base))).toEqual([20, -78, 44, -50]);
    expect(Array.from(matmulRef(a, b, F([1, -100]), { ...base, biasAlong: 'm' }))).toEqual([20, 23, -57, -50]);
    expect(Array.from(matmulRef(a, b, F([0, -30]), { ...base, act: 'relu' }))).toEqual([19, 0, 43, 20]);
    expect(Array.from(matmulRef(a, b, null, { ...base, alpha: 0.5 }))).toEqual([9.5, 11, 21.5, 25]);
    const g = matmulRef(F([1]), F([-1]), null, { ...base, M: 1, N: 1, K: 1, act: 'gelu' });
    expect(Math.abs((g[0] ?? NaN) + 0.15865525393145707)).toBeLessThan(1e-7);
  });
  it('batches with per-batch and broadcast operands', () => {
    const b2 = F([1, 0, 0, 1, 2, 0, 0, 2]); // [I, 2I]
    const o = { batch: 2, M: 2, N: 2, K: 2, transB: false, biasAlong: 'n', act: 'none', aBatchStride: 0 } as const;
    expect(Array.from(matmulRef(a, b2, null, o))).toEqual([1, 2, 3, 4, 2, 4, 6, 8]);
    const a2 = F([1, 2, 3, 4, 1, 1, 1, 1]);
    const eye = F([1, 0, 0, 1]);
    expect(Array.from(matmulRef(a2, eye, null, { ...o, aBatchStride: 4, bBatchStride: 0 }))).toEqual([
      1, 2, 3, 4, 1, 1, 1, 1,
    ]);
  });
});

describe('conv2dRef', () => {
  it('3x3 with zero padding: each output sums the in-bounds neighbourhood', () => {
    const x = F([1, 2, 3, 4]); // [1,1,2,2]
    const w = new Float32Array(9).fill(1);
    const r = conv2dRef(x, [1, 1, 2, 2], w, F([0.5]), { cout: 1, kh: 3, kw: 3, strideY: 1, strideX: 1, padY: 1, padX: 1 });
    expect(r.shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(r.data)).toEqual([10.5, 10.5, 10.5, 10.5]);
    // centre tap only = identity
    const wc = new Float32Array(9);
    wc[4] = 1;
    const id = conv2dRef(x, [1, 1, 2, 2], wc, null, { cout: 1, kh: 3, kw: 3, strideY: 1, strideX: 1, padY: 1, padX: 1 });
    expect(Array.from(id.data)).toEqual([1, 2, 3, 4]);
  });
  it('stride and output size follow PyTorch (floor)', () => {
    // x 1x1x5x5 = 0..24, 2x2 kernel picking the top-left tap, stride 2, no padding -> 2x2
    const x = Float32Array.from({ length: 25 }, (_, i) => i);
    const r = conv2dRef(x, [1, 1, 5, 5], F([1, 0, 0, 0]), null, { cout: 1, kh: 2, kw: 2, strideY: 2, strideX: 2, padY: 0, padX: 0 });
    expect(r.shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(r.data)).toEqual([0, 2, 10, 12]);
  });
  it('1x1 conv equals a matmul of the weight with the [Cin, HW] map', () => {
    const rng = makeRng(11);
    const [B, Cin, H, W, Cout] = [2, 3, 4, 5, 6];
    const x = randn(rng, B * Cin * H * W);
    const w = randn(rng, Cout * Cin);
    const bias = randn(rng, Cout);
    const conv = conv2dRef(x, [B, Cin, H, W], w, bias, { cout: Cout, kh: 1, kw: 1, strideY: 1, strideX: 1, padY: 0, padX: 0 });
    const mm = matmulRef(w, x, bias, {
      batch: B, M: Cout, N: H * W, K: Cin, transB: false, biasAlong: 'm', act: 'none', aBatchStride: 0,
    });
    expectClose(conv.data, mm, 1e-6);
  });
});

describe('norms and softmax', () => {
  it('layerNorm over the last dim, with residual', () => {
    const s = Math.sqrt(1.5);
    const one = F([1, 1, 1]);
    const zero = F([0, 0, 0]);
    expectClose(layerNormRef(F([1, 2, 3, 5, 5, 5]), 2, 3, one, zero, 1e-12), [-s, 0, s, 0, 0, 0]);
    expectClose(layerNormRef(F([0, 0, 0]), 1, 3, F([2, 2, 2]), F([1, 1, 1]), 0, F([1, 2, 3])), [1 - 2 * s, 1, 1 + 2 * s]);
    // eps enters under the square root: var 0 -> 0 / sqrt(eps)
    expectClose(layerNormRef(F([4, 4]), 1, 2, F([1, 1]), F([0.5, 0.5]), 1e-5), [0.5, 0.5]);
  });
  it('groupNorm statistics per group, per-channel affine, optional relu', () => {
    // B=1, C=2, H=1, W=2, one group over [1,2,3,4]: mean 2.5, var 1.25
    const x = F([1, 2, 3, 4]);
    const inv = 1 / Math.sqrt(1.25);
    const n = [-1.5, -0.5, 0.5, 1.5].map((v) => v * inv);
    expectClose(groupNormRef(x, [1, 2, 1, 2], 1, F([1, 2]), F([0, 1]), 0, false), [n[0]!, n[1]!, 2 * n[2]! + 1, 2 * n[3]! + 1]);
    expectClose(groupNormRef(x, [1, 2, 1, 2], 1, F([1, 1]), F([0, 0]), 0, true), [0, 0, n[2]!, n[3]!]);
    // two groups: each channel normalised alone
    expectClose(groupNormRef(x, [1, 2, 1, 2], 2, F([1, 1]), F([0, 0]), 0, false), [-1, 1, -1, 1]);
  });
  it('softmax of [0, ln 2] is [1/3, 2/3]', () => {
    expectClose(softmaxRef(F([0, Math.log(2), 1000, 1000]), 2, 2), [1 / 3, 2 / 3, 0.5, 0.5]);
  });
});

describe('elementwise', () => {
  it('unary ops', () => {
    const x = F([-1, 0, 2]);
    expect(Array.from(unaryRef('relu', x))).toEqual([0, 0, 2]);
    expect(Array.from(unaryRef('copy', x))).toEqual([-1, 0, 2]);
    expectClose(unaryRef('sigmoid', x), [1 / (1 + Math.E), 0.5, 1 / (1 + Math.exp(-2))]);
    expectClose(unaryRef('gelu', x), [-0.15865525393145707, 0, 1.9544997361036416]);
  });
  it('binary broadcast b[floor(i / bInner) % bLen]', () => {
    const a = F([1, 2, 3, 4, 5, 6]); // [2, 3]
    expect(Array.from(binaryRef('add', a, F([10, 20, 30]), 1, 3))).toEqual([11, 22, 33, 14, 25, 36]);
    expect(Array.from(binaryRef('mul', a, F([10, 100]), 3, 2))).toEqual([10, 20, 30, 400, 500, 600]);
    expect(Array.from(binaryRef('add', a, a, 1, 6))).toEqual([2, 4, 6, 8, 10, 12]);
  });
  it('permute = torch.permute().contiguous()', () => {
    const x = F([1, 2, 3, 4, 5, 6]); // [2, 3]
    expect(Array.from(permuteRef(x, [2, 3], [1, 0]))).toEqual([1, 4, 2, 5, 3, 6]);
    // [2, 3, 4] -> perm [2, 0, 1]: out[k, i, j] = x[i, j, k]
    const y = Float32Array.from({ length: 24 }, (_, i) => i);
    const p = permuteRef(y, [2, 3, 4], [2, 0, 1]);
    for (let k = 0; k < 4; k++)
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 3; j++) expect(p[(k * 2 + i) * 3 + j]).toBe(y[(i * 3 + j) * 4 + k]);
    expect(Array.from(permuteRef(permuteRef(y, [2, 3, 4], [2, 0, 1]), [4, 2, 3], [1, 2, 0]))).toEqual(Array.from(y));
    expect(() => permuteRef(x, [2, 3], [0, 0])).toThrow();
  });
});

describe('attentionRef', () => {
  const base = { B: 1, H: 1, Lq: 1, Lk: 1, dh: 2, scale: 1, maskedRow: 'attend-all' } as const;
  it('a single key returns its value', () => {
    expect(Array.from(attentionRef(F([3, -1]), F([0.3, 7]), F([5, 6]), base))).toEqual([5, 6]);
  });
  it('softmax weights, scale, bias and additive mask', () => {
    // logits scale*q.k = [0, ln 2] -> weights [1/3, 2/3]
    const q = F([1, 0]);
    const k = F([0, 0, 2 * Math.log(2), 0]);
    const v = F([3, 0, 0, 3]);
    const o = { ...base, Lk: 2, scale: 0.5 };
    expectClose(attentionRef(q, k, v, o), [1, 2]);
    // bias [H, Lq, Lk] = [ln 2, 0] equalises the logits
    expectClose(attentionRef(q, k, v, { ...o, bias: F([Math.log(2), 0]) }), [1.5, 1.5]);
    expectClose(
      attentionRef(q, k, v, { ...o, mask: { kind: 'additive', data: F([0, -Infinity]), maskBatch: 1 } }),
      [3, 0],
    );
  });
  it('boolean mask blocks keys; fully masked rows follow the chosen rule', () => {
    // B=2, Lq=2, Lk=2, one mask shared across the batch (maskBatch 1)
    const q = F([1, 0, 0, 1, 1, 1, 0, 0]);
    const k = F([1, 0, 0, 1, 2, 0, 0, 2]);
    const v = F([1, 2, 3, 4, 5, 6, 7, 8]);
    const o = { ...base, B: 2, Lq: 2, Lk: 2 };
    const mask = { kind: 'bool', data: Uint32Array.from([0, 1, 1, 1]), maskBatch: 1 } as const;
    const unmasked = attentionRef(q, k, v, o);
    const allAttend = attentionRef(q, k, v, { ...o, mask, maskedRow: 'attend-all' });
    const zero = attentionRef(q, k, v, { ...o, mask, maskedRow: 'zero' });
    for (const b of [0, 1]) {
      // row 0 sees only key 0
      expect(Array.from(allAttend.slice(b * 4, b * 4 + 2))).toEqual([b ? 5 : 1, b ? 6 : 2]);
      expect(Array.from(zero.slice(b * 4, b * 4 + 2))).toEqual([b ? 5 : 1, b ? 6 : 2]);
      // row 1 is fully masked
      expect(Array.from(allAttend.slice(b * 4 + 2, b * 4 + 4))).toEqual(Array.from(unmasked.slice(b * 4 + 2, b * 4 + 4)));
      expect(Array.from(zero.slice(b * 4 + 2, b * 4 + 4))).toEqual([0, 0]);
    }
  });
  it('heads use their own channel slices and per-batch masks', () => {
    // H=2, dh=1, Lk=2; batch 1 uses mask 1 which blocks key 0
    const q = F([0, 0, 0, 0]);
    const k = F([0, 0, 0, 0, 0, 0, 0, 0]);
    const v = F([1, 10, 3, 30, 1, 10, 3, 30]);
    const mask = { kind: 'bool', data: F([0, 0, 1, 0]), maskBatch: 2 } as const;
    const out = attentionRef(q, k, v, { ...base, B: 2, H: 2, dh: 1, Lk: 2, mask });
    expect(Array.from(out)).toEqual([2, 20, 3, 30]);
  });
  it('equals softmax(scale q k^T) v built from matmulRef and softmaxRef', () => {
    const rng = makeRng(5);
    const [Lq, Lk, dh] = [3, 5, 4];
    const q = randn(rng, Lq * dh);
    const k = randn(rng, Lk * dh);
    const v = randn(rng, Lk * dh);
    const logits = matmulRef(q, k, null, { batch: 1, M: Lq, N: Lk, K: dh, transB: true, biasAlong: 'n', act: 'none', alpha: 0.5 });
    const p = softmaxRef(logits, Lq, Lk);
    const ref = matmulRef(p, v, null, { batch: 1, M: Lq, N: dh, K: Lk, transB: false, biasAlong: 'n', act: 'none' });
    expectClose(attentionRef(q, k, v, { ...base, Lq, Lk, dh, scale: 0.5 }), ref, 1e-6);
  });
});

describe('msDeformAttnRef', () => {
  // one level h=2, w=3, value token t has channel values [t, 10 t]
  const levels: [number, number][] = [[2, 3]];
  const value = Float32Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? i / 2 : 5 * i - 5));
  const o = { B: 1, Lq: 1, H: 1, dh: 2, levels, points: 1 };
  const refAt = (px: number, py: number): Float32Array => F([(px + 0.5) / 3, (py + 0.5) / 2]);

  it('samples at pixel centres reproduce the value; one-pixel offsets move one pixel', () => {
    expectClose(msDeformAttnRef(value, F([0, 0]), F([1]), refAt(1, 1), o), [4, 40], 1e-12);
    expectClose(msDeformAttnRef(value, F([1, -1]), F([1]), refAt(1, 1), o), [2, 20], 1e-12);
    expectClose(msDeformAttnRef(value, F([0.5, 0]), F([0.5]), refAt(0, 0), o), [0.25, 2.5], 1e-7);
  });
  it('outside the map gives 0; half outside gives half', () => {
    expectClose(msDeformAttnRef(value, F([-10, 0]), F([1]), refAt(0, 0), o), [0, 0]);
    expectClose(msDeformAttnRef(value, F([0, 5]), F([1]), refAt(2, 1), o), [0, 0]);
    // x = -0.5 pixel: halfway between the zero padding and column 0 of row 1 (token 3)
    expectClose(msDeformAttnRef(value, F([-0.5, 0]), F([1]), refAt(0, 1), o), [1.5, 15], 1e-7);
  });
  it('sums weighted samples over levels and points', () => {
    // levels [2x3, 1x1]; level 1 has the single token 6 with value [100, 1000]
    const v2 = new Float32Array(14);
    v2.set(value);
    v2.set([100, 1000], 12);
    const o2 = { ...o, levels: [[2, 3], [1, 1]] as [number, number][], points: 2 };
    // ref at pixel (1, 0) of level 0; level 1 centre is 0.5 so ref (0.5, 0.25) -> offsets needed to hit it
    const ref = refAt(1, 0);
    const offsets = F([0, 0, 1, 1, 0, 0.25, 0, 0.25]); // [L=2, P=2, 2]
    const weights = F([0.1, 0.2, 0.3, 0.4]);
    // l0 p0: token 1 -> [1, 10]; l0 p1: pixel (2, 1) token 5 -> [5, 50]; l1 p0,p1: token 6 at centre
    const expected = [0.1 * 1 + 0.2 * 5 + 0.7 * 100, 0.1 * 10 + 0.2 * 50 + 0.7 * 1000];
    expectClose(msDeformAttnRef(v2, offsets, weights, ref, o2), expected, 1e-4);
  });
});

describe('torch resize references', () => {
  it('bilinear 2x2 -> 4x4 (align_corners=False)', () => {
    const c = [0, 0.25, 0.75, 1];
    const expected = c.flatMap((y) => c.map((x) => x + 2 * y));
    expectClose(resizeBilinearRef(F([0, 1, 2, 3]), 1, 2, 2, 4, 4), expected);
    // identity size and a 4 -> 2 downscale (averages pairs)
    const x = Float32Array.from({ length: 8 }, (_, i) => i);
    expectClose(resizeBilinearRef(x, 2, 2, 2, 2, 2), x);
    expectClose(resizeBilinearRef(F([0, 1, 2, 3]), 1, 1, 4, 1, 2), [0.5, 2.5]);
  });
  it('nearest uses floor(dst * in/out)', () => {
    expect(Array.from(resizeNearestRef(F([0, 1, 2, 3, 4]), 1, 1, 5, 1, 3))).toEqual([0, 1, 3]);
    expect(Array.from(resizeNearestRef(F([0, 1]), 1, 1, 2, 1, 3))).toEqual([0, 0, 1]);
    expect(Array.from(resizeNearestRef(F([0, 1, 2, 3]), 1, 2, 2, 4, 1))).toEqual([0, 0, 2, 2]);
  });
});

describe('Pillow bilinear resize', () => {
  it('coefficients for a 2 -> 4 upscale', () => {
    const c = pilResizeCoefficients(2, 4);
    expect(c.ksize).toBe(3);
    expect(Array.from(c.bounds)).toEqual([0, 1, 0, 2, 0, 2, 1, 1]);
    expect(Array.from(c.coeffs)).toEqual([
      1 << 22, 0, 0, 3 << 20, 1 << 20, 0, 1 << 20, 3 << 20, 0, 1 << 22, 0, 0,
    ]);
  });
  it('coefficients for a 4 -> 2 downscale widen the triangle (antialias)', () => {
    const c = pilResizeCoefficients(4, 2);
    // support 2, ksize 5; out 0: center 1, inputs 0..2 with weights 0.75, 0.75, 0.25 (/1.75)
    expect(c.ksize).toBe(5);
    expect(Array.from(c.bounds)).toEqual([0, 3, 1, 3]);
    const k = (w: number): number => Math.trunc(0.5 + (w / 1.75) * (1 << 22));
    expect(Array.from(c.coeffs.slice(0, 5))).toEqual([k(0.75), k(0.75), k(0.25), 0, 0]);
  });
  it('resizes a tiny image with rounding and skips unchanged axes', () => {
    const px = (v: number): number[] => [v, v, v, 255];
    const img = Uint8Array.from([...px(0), ...px(255)]); // 1 x 2
    // columns at 0.75/0.25 mix: 63.75 -> 64, 191.25 -> 191
    expect(Array.from(pilResizeRef(img, 1, 2, 1, 4))).toEqual([...px(0), ...px(64), ...px(191), ...px(255)]);
    expect(Array.from(pilResizeRef(img, 1, 2, 1, 2))).toEqual(Array.from(img));
    expect(Array.from(pilResizeRef(img, 1, 2, 2, 2))).toEqual([...px(0), ...px(255), ...px(0), ...px(255)]);
  });

  /** Reads one U8 tensor of a safetensors file: 8-byte LE header length, JSON header, raw data. */
  function readU8Tensor(path: string, name: string): { data: Uint8Array; shape: number[] } {
    const file = readFileSync(path);
    const headerLen = Number(file.readBigUInt64LE(0));
    const header: unknown = JSON.parse(file.subarray(8, 8 + headerLen).toString('utf8'));
    if (typeof header !== 'object' || header === null || !(name in header)) throw new Error(`${name} missing in ${path}`);
    const entry: unknown = (header as Record<string, unknown>)[name];
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e.dtype !== 'U8' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
      throw new Error(`${name}: unexpected entry ${JSON.stringify(entry)}`);
    }
    const [begin, end] = e.data_offsets as [number, number];
    const start = 8 + headerLen;
    return { data: new Uint8Array(file.subarray(start + begin, start + end)), shape: e.shape as number[] };
  }

  const root = '/work/shared/fixtures/mask2former';
  const cases: [string, number, number, number][] = [
    ['tiny', 0, 96, 128],
    ['tiny-odd', 0, 56, 73],
    ['tiny-odd', 1, 90, 53],
  ];
  for (const [dir, i, outH, outW] of cases) {
    it(`reproduces ${dir} resized_image.${i} (${outH}x${outW}) exactly`, () => {
      const img = readPngRgba(`${root}/${dir}/image${i}.png`);
      const expected = readU8Tensor(`${root}/${dir}/expected.safetensors`, `resized_image.${i}`);
      expect(expected.shape).toEqual([outH, outW, 3]);
      const out = pilResizeRef(img.data, img.height, img.width, outH, outW);
      let differing = 0;
      let maxDiff = 0;
      for (let p = 0; p < outH * outW; p++) {
        let differs = false;
        for (let c = 0; c < 3; c++) {
          const d = Math.abs((out[p * 4 + c] ?? -1) - (expected.data[p * 3 + c] ?? -1));
          maxDiff = Math.max(maxDiff, d);
          differs ||= d !== 0;
        }
        if (differs) differing++;
      }
      console.log(`pil resize ${dir}/image${i} ${img.height}x${img.width} -> ${outH}x${outW}: ${differing} pixels differ (max channel diff ${maxDiff})`);
      expect(differing).toBe(0);
    });
  }
});

describe('swin references', () => {
  it('window partition order, padding and roll', () => {
    // B=1, H=W=4, C=1, x = 0..15, ws=2, shift=1: window 0 starts at padded (1, 1)
    const x = Float32Array.from({ length: 16 }, (_, i) => i);
    const w = windowPartitionRef(x, 1, 4, 4, 1, 2, 1);
    expect(Array.from(w.slice(0, 4))).toEqual([5, 6, 9, 10]);
    expect(Array.from(w.slice(12, 16))).toEqual([15, 12, 3, 0]); // last window wraps around
    const w0 = windowPartitionRef(x, 1, 4, 4, 1, 2, 0);
    expect(Array.from(w0.slice(4, 8))).toEqual([2, 3, 6, 7]);
    // H=W=3 with ws=2 pads to 4x4: window 3 holds x[2][2] and three zeros
    const x3 = Float32Array.from({ length: 9 }, (_, i) => i + 1);
    const w3 = windowPartitionRef(x3, 1, 3, 3, 1, 2, 0);
    expect(w3.length).toBe(16);
    expect(Array.from(w3.slice(12, 16))).toEqual([9, 0, 0, 0]);
  });
  it('reverse(partition(x)) + residual = residual + x for H, W not multiples of ws, with shift', () => {
    const rng = makeRng(3);
    const [B, H, W, C, ws, shift] = [2, 5, 7, 3, 3, 1];
    const x = randn(rng, B * H * W * C);
    const res = randn(rng, B * H * W * C);
    const win = windowPartitionRef(x, B, H, W, C, ws, shift);
    expect(win.length).toBe(B * 2 * 3 * ws * ws * C);
    const back = windowReverseRef(win, B, H, W, C, ws, shift, res);
    expectClose(back, binaryRef('add', x, res, 1, res.length), 0);
  });
  it('relative position bias index', () => {
    // ws=2, one head, table entry e holds e
    const t = Float32Array.from({ length: 9 }, (_, i) => i);
    const b = relPosBiasRef(t, 2, 1);
    expect(b[0]).toBe(4); // same token: (0+1)*3 + (0+1)
    expect(b[3]).toBe(0); // i=(0,0), j=(1,1)
    expect(b[12]).toBe(8); // i=(1,1), j=(0,0)
    expect(b[1]).toBe(3); // i=(0,0), j=(0,1): dy 0, dx -1
    // two heads are interleaved in the table
    const t2 = Float32Array.from({ length: 18 }, (_, i) => i);
    const b2 = relPosBiasRef(t2, 2, 2);
    expect([b2[0], b2[16]]).toEqual([8, 9]);
  });
  it('shift mask regions', () => {
    // Hp = Wp = 4, ws = 2, shift = 1: window 0 is one region, window 3 has four
    const m = shiftMaskRef(4, 4, 2, 1);
    expect(m.length).toBe(4 * 16);
    expect(Array.from(m.slice(0, 16)).every((v) => v === 0)).toBe(true);
    const w3 = Array.from(m.slice(48, 64));
    expect(w3).toEqual(Array.from({ length: 16 }, (_, e) => (Math.floor(e / 4) === e % 4 ? 0 : -100)));
    // window 1 (rows 0-1, cols 2-3): columns 2 and 3 are different regions
    const w1 = Array.from(m.slice(16, 32));
    expect(w1).toEqual([0, -100, 0, -100, -100, 0, -100, 0, 0, -100, 0, -100, -100, 0, -100, 0]);
    expect(shiftMaskRef(4, 4, 2, 0).every((v) => v === 0)).toBe(true);
    // map no larger than one window (Hp = ws = 7, shift 3): rows 0-3 vs 4-6
    const s = shiftMaskRef(7, 7, 7, 3);
    expect(s[0 * 49 + 3 * 7 + 3]).toBe(0); // (0,0) vs (3,3)
    expect(s[0 * 49 + 4 * 7]).toBe(-100); // (0,0) vs (4,0)
  });
  it('patch merge ordering and odd padding', () => {
    expect(Array.from(patchMergeRef(F([1, 2, 3, 4]), 1, 2, 2, 1))).toEqual([1, 3, 2, 4]);
    // C=2 keeps channel blocks contiguous
    const x = F([1, 10, 2, 20, 3, 30, 4, 40]);
    expect(Array.from(patchMergeRef(x, 1, 2, 2, 2))).toEqual([1, 10, 3, 30, 2, 20, 4, 40]);
    // H=3, W=1 -> 2x1 tokens
    expect(Array.from(patchMergeRef(F([1, 2, 3]), 1, 3, 1, 1))).toEqual([1, 2, 0, 0, 3, 0, 0, 0]);
  });
});

describe('maskEinsumRef', () => {
  it('bqc,bchw->bqhw', () => {
    const emb = F([1, 2, 0, 1, 3, 0]); // B=2, Q=1, C=3 -> two batches [1,2,0] and [1,3,0]
    const feat = F([1, 2, 10, 20, 5, 5, 1, 1, 1, 1, 7, 7]); // B=2, C=3, HW=2
    expect(Array.from(maskEinsumRef(emb, feat, 2, 1, 3, 2))).toEqual([21, 42, 4, 4]);
  });
});
