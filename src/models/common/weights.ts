/**
 * Binding checkpoint tensors into a graph by their Hugging Face names, with shape checks. After a
 * model is built, every tensor of the checkpoint must have been used or explicitly ignored.
 */
import { WeightError } from '../../errors.ts';
import type { GraphBuilder, PackedLayout, Tensor } from '../../graph/builder.ts';

/** What the binder needs from a weight store (the GPU WeightStore, or a shape-only stand-in). */
export interface WeightShapes {
  readonly file: string;
  shape(key: string, expected?: readonly number[]): readonly number[];
  has(key: string): boolean;
  ignore(keys: Iterable<string>): void;
  unused(): string[];
  keys(): string[];
  /** How the GPU holds a float tensor (default 'f32'; 'f16' for half-precision weights). */
  dtype?(key: string): 'f32' | 'f16';
  /** The K-major packing of a weight the store packed for the vec4 matmul (default none). */
  packed?(key: string): PackedLayout | undefined;
}

export class WeightBinder {
  constructor(
    readonly g: GraphBuilder,
    readonly store: WeightShapes,
  ) {}

  /** The tensor `key`, which must have exactly `shape`. */
  w(key: string, shape: readonly number[]): Tensor {
    this.store.shape(key, shape);
    return this.g.weight(key, shape, this.store.dtype?.(key) ?? 'f32', this.store.packed?.(key));
  }

  /** `${prefix}.weight` [out, in] and `${prefix}.bias` [out] (bias optional when `bias` is false). */
  linear(prefix: string, out: number, inp: number, bias = true): { w: Tensor; b: Tensor | null } {
    return { w: this.w(`${prefix}.weight`, [out, inp]), b: bias ? this.w(`${prefix}.bias`, [out]) : null };
  }

  norm(prefix: string, c: number): { g: Tensor; b: Tensor } {
    return { g: this.w(`${prefix}.weight`, [c]), b: this.w(`${prefix}.bias`, [c]) };
  }

  /** Throws if the checkpoint has tensors the model did not use and nobody ignored. */
  assertAllUsed(): void {
    const extra = this.store.unused();
    if (extra.length > 0) {
      const shown = extra.slice(0, 8).join(', ');
      throw new WeightError(this.store.file, extra[0], `${extra.length} unexpected tensor(s) for this config: ${shown}${extra.length > 8 ? ', ...' : ''}`, 'unexpected');
    }
  }
}
