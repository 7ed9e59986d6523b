/**
 * A checkpoint's tensor shapes as its safetensors header declares them, with the same binding
 * interface as the GPU WeightStore (shape checks, used / ignored / unused keys). A model built
 * against it checks keys and shapes before a single tensor is read or uploaded.
 */
import { WeightError } from '../errors.ts';
import type { SafetensorsHeader } from './safetensors.ts';

export class HeaderShapes {
  private readonly used = new Set<string>();

  constructor(
    private readonly header: SafetensorsHeader,
    readonly file: string,
  ) {}

  has(key: string): boolean {
    return this.header.tensors.has(key);
  }

  keys(): string[] {
    return [...this.header.tensors.keys()];
  }

  /** Shape of a tensor, checked against `expected` when given (-1 = any size). Marks it used. */
  shape(key: string, expected?: readonly number[]): readonly number[] {
    const t = this.header.tensors.get(key);
    if (!t) throw new WeightError(this.file, key, 'missing from the checkpoint');
    if (expected && (expected.length !== t.shape.length || expected.some((d, i) => d >= 0 && d !== t.shape[i]))) {
      throw new WeightError(this.file, key, `expected shape [${expected.join(', ')}], got [${t.shape.join(', ')}]`, 'shape');
    }
    this.used.add(key);
    return t.shape;
  }

  ignore(keys: Iterable<string>): void {
    for (const k of keys) if (this.header.tensors.has(k)) this.used.add(k);
  }

  unused(): string[] {
    return this.keys().filter((k) => !this.used.has(k));
  }
}
