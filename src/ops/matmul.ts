/**
 * matmul / linear: C = act(alpha * A @ B + bias), batched, B optionally transposed (nn.Linear
 * weights as stored), batch broadcasting by zero stride, and a small-M variant for ~100 queries.
 */
import code from '../../shaders/matmul/matmul.wgsl?raw';
import tiledCode from '../../shaders/matmul/matmul-tiled.wgsl?raw';
import f16Code from '../../shaders/matmul/matmul-f16.wgsl?raw';
import tiledF16Code from '../../shaders/matmul/matmul-tiled-f16.wgsl?raw';
import vec4Code from '../../shaders/matmul/matmul-vec4.wgsl?raw';
import vec4F16Code from '../../shaders/matmul/matmul-vec4-f16.wgsl?raw';
import linearVec4Code from '../../shaders/matmul/matmul-linear-vec4.wgsl?raw';
import { ShapeError, UnsupportedError } from '../errors.ts';
import { defineKernel } from '../gpu/kernel.ts';
import { numel, type GraphBuilder, type Tensor } from '../graph/builder.ts';
import { expectRank, outputFor } from './common.ts';

export const matmulKernel = defineKernel({
  name: 'matmul',
  code,
  params: [
    ['M', 'u32'], ['N', 'u32'], ['K', 'u32'], ['batch', 'u32'],
    ['aOff', 'u32'], ['aStride', 'u32'], ['bOff', 'u32'], ['bStride', 'u32'],
    ['biasOff', 'u32'], ['cOff', 'u32'], ['cStride', 'u32'], ['tilesN', 'u32'],
    ['tilesM', 'u32'], ['alpha', 'f32'], ['transB', 'u32'], ['bias', 'u32'],
    ['act', 'u32'],
  ],
  bindings: ['read', 'read', 'read', 'write'],
  overrides: ['TM', 'WG_X', 'WG_Y'],
  f16Capable: [1],
  packable: [1],
});

/**
 * The same contract tiled for GPUs: (4 * TILED_WG)^2 tiles of C per workgroup, A and B staged
 * through workgroup memory in slices of TILED_BK; transB / bias / act are uniforms (one pipeline).
 */
export const matmulTiledKernel = defineKernel({
  name: 'matmul-tiled',
  code: tiledCode,
  params: matmulKernel.params,
  bindings: matmulKernel.bindings,
  overrides: ['WG', 'BK'],
  f16Capable: [1],
  packable: [1],
});

/**
 * The register kernel's nn.Linear case on CPU adapters: B as [N, K] rows, A and B read along K
 * with vec4 loads (K and every offset / batch stride multiples of 4), 16 dot products per 4 k.
 * An f16 B takes the f16 register kernel (f16Capable), as the register kernel does.
 */
export const matmulLinearVec4Kernel = defineKernel({
  name: 'matmul-linear-vec4',
  code: linearVec4Code,
  params: matmulKernel.params,
  bindings: matmulKernel.bindings,
  overrides: matmulKernel.overrides,
  f16Capable: [1],
  packable: [1],
  vec4Bindings: [0, 1],
});

/** The register kernel with B (binding 1) stored as f16: half-precision weights, f32 accumulation. */
export const matmulF16Kernel = defineKernel({
  name: 'matmul-f16',
  code: f16Code,
  params: matmulKernel.params,
  bindings: matmulKernel.bindings,
  overrides: matmulKernel.overrides,
  f16Bindings: [1],
});

/** The tiled kernel with B (binding 1) stored as f16. */
export const matmulTiledF16Kernel = defineKernel({
  name: 'matmul-tiled-f16',
  code: tiledF16Code,
  params: matmulKernel.params,
  bindings: matmulKernel.bindings,
  overrides: matmulTiledKernel.overrides,
  f16Bindings: [1],
});

/**
 * The GPU matmul with vec4 loads: A and B bound as arrays of vec4 (read whole where K / the row
 * stride and the offsets are multiples of 4, element-wise otherwise), TM x 4 outputs per
 * invocation, and B either [K, N] with a row stride `ldb` (activations, or an nn.Linear weight
 * packed K-major at load: weights/pack.ts) or [N, K] rows (a weight as stored).
 */
export const matmulVec4Kernel = defineKernel({
  name: 'matmul-vec4',
  code: vec4Code,
  params: [...matmulKernel.params, ['ldb', 'u32'], ['aVec', 'u32'], ['bVec', 'u32']],
  bindings: matmulKernel.bindings,
  overrides: ['WG_X', 'WG_Y', 'TM', 'BK'],
  f16Capable: [1],
  vec4Bindings: [0, 1],
  packedBindings: [1],
  packable: [1],
});

/** The vec4 kernel with B (binding 1) stored as f16 (`array<vec4<f16>>`). */
export const matmulVec4F16Kernel = defineKernel({
  name: 'matmul-vec4-f16',
  code: vec4F16Code,
  params: matmulVec4Kernel.params,
  bindings: matmulKernel.bindings,
  overrides: matmulVec4Kernel.overrides,
  f16Bindings: [1],
  vec4Bindings: [0, 1],
  packedBindings: [1],
  packable: [1],
});

/**
 * Tile shapes of the vec4 kernel: WG_X x WG_Y invocations, each TM rows x 4 columns of C. Rows
 * below VEC4_SMALL_M (the ~100 queries of the transformer decoder, single rows) take the
 * smaller tile, for more workgroups.
 */
export const VEC4_LARGE = { WG_X: 16, WG_Y: 8, TM: 8, BK: 16 } as const;
export const VEC4_SMALL = { WG_X: 8, WG_Y: 8, TM: 4, BK: 16 } as const;
export const VEC4_SMALL_M = 128;

/** Invocations per side of a tiled-matmul workgroup; each computes 4x4 outputs. */
export const TILED_WG = 16;
/** k per workgroup-memory slice of the tiled matmul (2 * TILED_BK * TILED_WG vec4s of workgroup memory). */
export const TILED_BK = 16;

/**
 * Rows handled per workgroup is WG_Y * TM; below this M the small-M variant (TM = 1: one row per
 * invocation, more workgroups for the few rows of a single query or token).
 */
export const SMALL_M = 32;
const WG_X = 8;
const WG_Y = 8;

export interface MatmulOptions {
  /** B is [N, K] (nn.Linear weight) instead of [K, N]. */
  readonly transB?: boolean;
  /**
   * Force a kernel (tests run each on any adapter); by default the graph's policy decides. A
   * weight packed K-major at load is read by 'vec4' only. 'register' is the register kernel's
   * scalar form; by default the register policy reads nn.Linear operands with vec4 loads where
   * K and the offsets allow ('linear-vec4', which can also be forced where they do).
   */
  readonly kernel?: 'register' | 'linear-vec4' | 'tiled' | 'vec4';
  /** Bias [N] per column, or [M] per row ('m', conv1x1 output channels). */
  readonly bias?: Tensor | null;
  readonly biasAlong?: 'n' | 'm';
  readonly act?: 'none' | 'relu';
  readonly alpha?: number;
  readonly out?: Tensor;
  readonly name?: string;
}

/**
 * a: [batch?, M, K]; b: [batch?, K, N] (or [batch?, N, K] with transB). A 2-D operand is
 * broadcast over the batch of the other. Returns [batch, M, N] (or [M, N] if both are 2-D).
 */
export function matmul(g: GraphBuilder, a: Tensor, b: Tensor, o: MatmulOptions = {}): Tensor {
  const op = o.name ?? 'matmul';
  if (a.shape.length !== 2 && a.shape.length !== 3) throw new ShapeError(op, a.name, '[M, K] or [batch, M, K]', a.shape);
  if (b.shape.length !== 2 && b.shape.length !== 3) throw new ShapeError(op, b.name, '[K, N] or [batch, K, N]', b.shape);
  const [M, K] = a.shape.slice(-2) as [number, number];
  const transB = o.transB ?? false;
  const [b0, b1] = b.shape.slice(-2) as [number, number];
  const [Kb, N] = transB ? [b1, b0] : [b0, b1];
  if (Kb !== K) throw new ShapeError(op, b.name, `inner dim ${K} (from ${a.name})${transB ? ' as [N, K]' : ' as [K, N]'}`, b.shape);
  const batchA = a.shape.length === 3 ? (a.shape[0] as number) : 1;
  const batchB = b.shape.length === 3 ? (b.shape[0] as number) : 1;
  if (a.shape.length === 3 && b.shape.length === 3 && batchA !== batchB) throw new ShapeError(op, b.name, `batch ${batchA}`, b.shape);
  const batch = Math.max(batchA, batchB);
  const biasAlong = o.biasAlong ?? 'n';
  const bias = o.bias ?? null;
  if (bias) {
    const want = biasAlong === 'n' ? N : M;
    if (numel(bias.shape) !== want) throw new ShapeError(op, bias.name, `[${want}] (bias along ${biasAlong})`, bias.shape);
  }
  // B may be an f16 checkpoint tensor (weights kept half on shader-f16 adapters); A never is.
  if (a.dtype !== 'f32') throw new ShapeError(op, a.name, 'dtype f32', `dtype ${a.dtype}`);
  if (b.dtype !== 'f32' && b.dtype !== 'f16') throw new ShapeError(op, b.name, 'dtype f32 or f16', `dtype ${b.dtype}`);
  const half = b.dtype === 'f16';
  const outShape = a.shape.length === 3 || b.shape.length === 3 ? [batch, M, N] : [M, N];
  const c = outputFor(g, op, outShape, o.out, o.name);
  const biasMode = bias ? (biasAlong === 'n' ? 1 : 2) : 0;
  const common = {
    M, N, K, batch,
    aOff: a.offset, aStride: a.shape.length === 3 ? M * K : 0,
    bOff: b.offset, bStride: b.shape.length === 3 ? K * N : 0,
    biasOff: bias ? bias.offset : 0,
    cOff: c.offset, cStride: M * N, alpha: o.alpha ?? 1,
    transB: transB ? 1 : 0, bias: biasMode, act: o.act === 'relu' ? 1 : 0,
  };
  const packed = g.packing(b);
  const policyKernel = g.policy.matmul === 'tiled' ? (g.policy.packedMatmul ? 'vec4' : 'tiled') : 'register';
  const kernel = o.kernel ?? (packed ? 'vec4' : policyKernel);
  if (kernel === 'vec4') {
    let bOff = b.offset;
    let ldb = transB ? K : N;
    let bTrans = transB;
    if (packed) {
      // Rows r0..r0+N of the [rows, K] weight are columns r0.. of the packed [K, ld].
      if (!transB || b.shape.length !== 2 || packed.K !== K || b.offset % K !== 0) {
        throw new UnsupportedError(`${g.label(op)}: weight '${b.name}' is packed K-major as rows of ${packed.K}; read here as ${transB ? '' : 'non-transposed '}[${b.shape.join(', ')}] at element ${b.offset}, which is not whole rows of it`);
      }
      bOff = b.offset / K;
      ldb = packed.ld;
      bTrans = false;
    }
    const aVec = K % 4 === 0 && a.offset % 4 === 0 ? 1 : 0;
    const bStride = common.bStride;
    const bVec = ldb % 4 === 0 && bOff % 4 === 0 && bStride % 4 === 0 ? 1 : 0;
    const shape = M < VEC4_SMALL_M ? VEC4_SMALL : VEC4_LARGE;
    const tilesN = Math.ceil(N / (4 * shape.WG_X));
    const tilesM = Math.ceil(M / (shape.TM * shape.WG_Y));
    g.step({
      label: op,
      kernel: half ? matmulVec4F16Kernel : matmulVec4Kernel,
      constants: { ...shape },
      bindings: [a, b, bias ?? g.dummy(), c],
      params: { ...common, bOff, transB: bTrans ? 1 : 0, tilesN, tilesM, ldb, aVec, bVec },
      workgroups: batch * tilesM * tilesN,
    });
    return c;
  }
  if (packed) throw new UnsupportedError(`${g.label(op)}: weight '${b.name}' is packed K-major for the vec4 matmul; the ${kernel} kernel reads the checkpoint layout`);
  if (kernel === 'tiled') {
    const tile = 4 * TILED_WG;
    const tilesN = Math.ceil(N / tile);
    const tilesM = Math.ceil(M / tile);
    g.step({
      label: op,
      kernel: half ? matmulTiledF16Kernel : matmulTiledKernel,
      constants: { WG: TILED_WG, BK: TILED_BK },
      bindings: [a, b, bias ?? g.dummy(), c],
      params: { ...common, tilesN, tilesM },
      workgroups: batch * tilesM * tilesN,
    });
    return c;
  }
  const TM = M < SMALL_M ? 1 : 4;
  const tilesN = Math.ceil(N / (4 * WG_X));
  const tilesM = Math.ceil(M / (TM * WG_Y));
  const aligned = transB && K % 4 === 0 && [a.offset, b.offset, common.aStride, common.bStride].every((v) => v % 4 === 0);
  if (kernel === 'linear-vec4' && !aligned) {
    throw new UnsupportedError(`${g.label(op)}: the linear-vec4 matmul needs B as [N, K] with K and the offsets multiples of 4 (K ${K}, offsets ${a.offset} / ${b.offset}, transB ${transB})`);
  }
  const linearVec4 = !half && aligned && (kernel === 'linear-vec4' || o.kernel === undefined);
  g.step({
    label: op,
    kernel: half ? matmulF16Kernel : linearVec4 ? matmulLinearVec4Kernel : matmulKernel,
    constants: { TM, WG_X, WG_Y },
    bindings: [a, b, bias ?? g.dummy(), c],
    params: { ...common, tilesN, tilesM },
    workgroups: batch * tilesM * tilesN,
  });
  return c;
}

/** nn.Linear on the last dim: x [..., K] @ W[N, K]^T + b -> [..., N]. */
export function linear(g: GraphBuilder, x: Tensor, w: Tensor, b: Tensor | null, o: Omit<MatmulOptions, 'transB' | 'bias' | 'biasAlong'> = {}): Tensor {
  expectRank('linear', w, 2, '[out_features, in_features]');
  const K = x.shape[x.shape.length - 1] as number;
  const rows = numel(x.shape) / Math.max(K, 1);
  const y = matmul(g, g.reshape(x, [rows, K]), w, { ...o, transB: true, bias: b, biasAlong: 'n', name: o.name ?? 'linear' });
  return g.reshape(y, [...x.shape.slice(0, -1), w.shape[0] as number]);
}

/** The mask head einsum('bqc,bchw->bqhw'): emb [B, Q, C] x feat [B, C, H, W] -> [B, Q, H, W]. */
export function maskEinsum(g: GraphBuilder, emb: Tensor, feat: Tensor, out?: Tensor): Tensor {
  expectRank('mask-einsum', emb, 3, '[B, Q, C]');
  expectRank('mask-einsum', feat, 4, '[B, C, H, W]');
  const [B, Q, C] = emb.shape as [number, number, number];
  const [Bf, Cf, H, W] = feat.shape as [number, number, number, number];
  if (Bf !== B || Cf !== C) throw new ShapeError('mask-einsum', feat.name, `[${B}, ${C}, H, W]`, feat.shape);
  const y = matmul(g, emb, g.reshape(feat, [B, C, H * W]), { name: 'mask-einsum', ...(out ? { out } : {}) });
  return g.reshape(y, [B, Q, H, W]);
}
