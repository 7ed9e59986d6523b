/** Small helpers shared by the CPU references. */

/** a[i], throwing on an out-of-range index instead of yielding undefined (NaN downstream). */
export function at(a: ArrayLike<number>, i: number): number {
  const v = a[i];
  if (v === undefined) throw new RangeError(`index ${i} out of range [0, ${a.length})`);
  return v;
}

/** Throws unless `a` holds exactly `expected` elements. */
export function checkLength(op: string, name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new Error(`${op}: ${name} has ${a.length} elements, expected ${expected}`);
  }
}

/** Throws unless `a` holds at least `needed` elements (strided views may read a prefix). */
export function checkMinLength(op: string, name: string, a: ArrayLike<number>, needed: number): void {
  if (a.length < needed) {
    throw new Error(`${op}: ${name} has ${a.length} elements, needs at least ${needed}`);
  }
}
