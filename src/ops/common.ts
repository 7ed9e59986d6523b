/** Shared checks for op functions: every failure names the op, the tensor and both shapes. */
import { ShapeError, UnsupportedError } from '../errors.ts';
import { numel, shapeStr, type GraphBuilder, type Tensor } from '../graph/builder.ts';

export function expectRank(op: string, t: Tensor, rank: number, dims = `rank ${rank}`): void {
  if (t.shape.length !== rank) throw new ShapeError(op, t.name, dims, t.shape);
}

export function expectShape(op: string, t: Tensor, shape: readonly number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new ShapeError(op, t.name, shapeStr(shape), t.shape);
}

export function expectDtype(op: string, t: Tensor, dtype: Tensor['dtype']): void {
  if (t.dtype !== dtype) throw new ShapeError(op, t.name, `dtype ${dtype}`, `dtype ${t.dtype}`);
}

export function expectPositive(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new ShapeError(op, name, 'a positive integer', String(v));
}

/** The output tensor: the caller's view (checked) or a fresh intermediate. */
export function outputFor(g: GraphBuilder, op: string, shape: readonly number[], out: Tensor | undefined, name = op): Tensor {
  if (!out) return g.empty(name, shape);
  if (numel(out.shape) !== numel(shape)) throw new ShapeError(op, out.name, `${numel(shape)} elements ${shapeStr(shape)}`, out.shape);
  return g.reshape(out, shape);
}

/**
 * The workgroup size of a kernel that reduces with shaders/common/reduce.wgsl: its tree halves WG
 * each step, so WG must be a power of two (a custom policy with another value is refused here).
 */
export function treeWorkgroup(op: string, wg: number): number {
  if (!Number.isInteger(wg) || wg < 1 || (wg & (wg - 1)) !== 0) throw new UnsupportedError(`${op}: reduction workgroup size ${wg} is not a power of two (KernelPolicy.reductionWorkgroup)`);
  return wg;
}

/** Workgroups for a kernel with one invocation per element and WG invocations per workgroup. */
export const perElement = (n: number, wg: number): number => Math.ceil(n / wg);

export const last = (shape: readonly number[]): number => shape[shape.length - 1] as number;
