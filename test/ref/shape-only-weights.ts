/** A checkpoint seen by shapes only (no GPU): what the weight binder checks. */
import { WeightError } from '../../src/errors.ts';
import type { WeightShapes } from '../../src/models/common/weights.ts';

export class ShapeOnlyWeights implements WeightShapes {
  private readonly used = new Set<string>();
  constructor(
    readonly file: string,
    private readonly shapes: ReadonlyMap<string, { readonly shape: readonly number[] }>,
  ) {}

  shape(key: string, expected?: readonly number[]): readonly number[] {
    const t = this.shapes.get(key);
    if (!t) throw new WeightError(this.file, key, 'missing from the checkpoint');
    if (expected && (expected.length !== t.shape.length || expected.some((d, i) => d >= 0 && d !== t.shape[i]))) {
      throw new WeightError(this.file, key, `expected shape [${expected.join(', ')}], got [${t.shape.join(', ')}]`, 'shape');
    }
    this.used.add(key);
    return t.shape;
  }

  has(key: string): boolean {
    return this.shapes.has(key);
  }

  ignore(keys: Iterable<string>): void {
    for (const k of keys) if (this.shapes.has(k)) this.used.add(k);
  }

  unused(): string[] {
    return this.keys().filter((k) => !this.used.has(k));
  }

  keys(): string[] {
    return [...this.shapes.keys()];
  }
}
