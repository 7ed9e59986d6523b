/** Strided copies: permute (transpose), and writing a tensor into a slice of another (concat). */
import code from '../../shaders/elementwise/strided-copy.wgsl?raw';
import { ShapeError } from '../errors.ts';
import { defineKernel } from '../gpu/kernel.ts';
import { numel, type GraphBuilder, type Tensor } from '../graph/builder.ts';
import { outputFor, perElement } from './common.ts';

export const stridedCopyKernel = defineKernel({
  name: 'strided-copy',
  code,
  params: [
    ['n', 'u32'], ['xOff', 'u32'], ['yOff', 'u32'],
    ['d0', 'u32'], ['d1', 'u32'], ['d2', 'u32'], ['d3', 'u32'], ['d4', 'u32'], ['d5', 'u32'],
    ['is0', 'u32'], ['is1', 'u32'], ['is2', 'u32'], ['is3', 'u32'], ['is4', 'u32'], ['is5', 'u32'],
    ['os0', 'u32'], ['os1', 'u32'], ['os2', 'u32'], ['os3', 'u32'], ['os4', 'u32'], ['os5', 'u32'],
  ],
  bindings: ['read', 'write'],
  overrides: ['WG'],
});

const WG = 256;
export const MAX_RANK = 6;

export const stridesOf = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = (s[i + 1] as number) * (shape[i + 1] as number);
  return s;
};

/**
 * Copies `dims` elements from x (strides `is`, from x.offset + xOff) into y (strides `os`, from
 * y.offset + yOff). Offsets and strides are in elements; the caller keeps them inside both tensors.
 */
export function stridedCopy(g: GraphBuilder, x: Tensor, y: Tensor, dims: readonly number[], is: readonly number[], os: readonly number[], yOff = 0, label = 'strided-copy', xOff = 0): void {
  if (dims.length > MAX_RANK) throw new ShapeError(label, x.name, `rank <= ${MAX_RANK}`, dims);
  const pad = MAX_RANK - dims.length;
  const D = [...new Array<number>(pad).fill(1), ...dims];
  const I = [...new Array<number>(pad).fill(0), ...is];
  const O = [...new Array<number>(pad).fill(0), ...os];
  const n = numel(dims);
  const params: Record<string, number> = { n, xOff: x.offset + xOff, yOff: y.offset + yOff };
  for (let i = 0; i < MAX_RANK; i++) {
    params[`d${i}`] = D[i] as number;
    params[`is${i}`] = I[i] as number;
    params[`os${i}`] = O[i] as number;
  }
  g.step({ label, kernel: stridedCopyKernel, constants: { WG }, bindings: [x, y], params, workgroups: perElement(n, WG) });
}

/** torch.permute(x, perm).contiguous() */
export function permute(g: GraphBuilder, x: Tensor, perm: readonly number[], out?: Tensor): Tensor {
  const r = x.shape.length;
  if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new ShapeError('permute', x.name, `a permutation of ${r} dims`, `perm [${perm.join(', ')}]`);
  }
  const shape = perm.map((p) => x.shape[p] as number);
  const y = outputFor(g, 'permute', shape, out);
  const xs = stridesOf(x.shape);
  stridedCopy(g, x, y, shape, perm.map((p) => xs[p] as number), stridesOf(shape), 0, 'permute');
  return y;
}

/**
 * Writes x into `dst` as the slice starting at `start` along `axis` (dst's other dims must
 * match x): the building block of concat.
 */
export function writeSlice(g: GraphBuilder, x: Tensor, dst: Tensor, axis: number, start: number): void {
  const ok = x.shape.length === dst.shape.length && x.shape.every((d, i) => (i === axis ? start + d <= (dst.shape[i] as number) : d === dst.shape[i]));
  if (!ok) throw new ShapeError('write-slice', x.name, `fits ${dst.name} [${dst.shape.join(', ')}] at axis ${axis} from ${start}`, x.shape);
  const os = stridesOf(dst.shape);
  stridedCopy(g, x, dst, x.shape, stridesOf(x.shape), os, start * (os[axis] as number), 'write-slice');
}

/**
 * Token maps and NCHW maps of several levels share one buffer as [B, S, C] (levels one after
 * another along S). These two copies move one level in or out of that layout.
 */
export function levelToTokens(g: GraphBuilder, x: Tensor, dst: Tensor, start: number): void {
  const [B, C, h, w] = x.shape as [number, number, number, number];
  const [Bd, S, Cd] = dst.shape as [number, number, number];
  if (x.shape.length !== 4 || dst.shape.length !== 3 || Bd !== B || Cd !== C || start + h * w > S) {
    throw new ShapeError('level-to-tokens', x.name, `[${Bd}, ${Cd}, h, w] with h*w <= ${S - start}`, x.shape);
  }
  stridedCopy(g, x, dst, [B, h * w, C], [C * h * w, 1, h * w], [S * C, C, 1], start * C, 'level-to-tokens');
}

export function tokensToLevel(g: GraphBuilder, tokens: Tensor, start: number, size: readonly [number, number], name: string): Tensor {
  const [B, S, C] = tokens.shape as [number, number, number];
  const [h, w] = size;
  if (tokens.shape.length !== 3 || start + h * w > S) throw new ShapeError('tokens-to-level', tokens.name, `[B, >= ${start + h * w}, C]`, tokens.shape);
  const y = g.empty(name, [B, C, h, w]);
  stridedCopy(g, tokens, y, [B, C, h * w], [S * C, 1, C], [C * h * w, h * w, 1], 0, 'tokens-to-level', start * C);
  return y;
}

/** Repeats x [...] `times` times along a new leading dim: [times, ...] (e.g. queries over the batch). */
export function repeatLeading(g: GraphBuilder, x: Tensor, times: number): Tensor {
  const n = numel(x.shape);
  const y = g.empty('repeat', [times, ...x.shape]);
  stridedCopy(g, x, y, [times, n], [0, 1], [n, 1], 0, 'repeat');
  return y;
}
