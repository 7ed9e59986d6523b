/**
 * Stage-by-stage comparison of a forward pass with a fixture's expected.safetensors, shared by
 * the family parity tests: every named stage in order, U8 stages (attention masks) exactly, the
 * others within `relTol` x max|ref|. The first divergent stage names where the engine and HF part.
 */
import type { HostArray } from '../../src/graph/runner.ts';
import type { RefTensor } from '../fixture-files.ts';
import { maxErrors } from '../ref/compare.ts';

export interface StageReport {
  /** One printable line per compared stage. */
  readonly rows: string[];
  /** The first stage missing, mis-sized, not exact (U8) or over the tolerance; undefined if none. */
  readonly firstBad: string | undefined;
}

export function compareStages(order: readonly string[], expected: ReadonlyMap<string, RefTensor>, got: ReadonlyMap<string, HostArray>, relTol: number, pad = 86): StageReport {
  const rows: string[] = [];
  let firstBad: string | undefined;
  for (const n of order) {
    const ref = expected.get(n) as RefTensor;
    const mine = got.get(n);
    if (!mine) {
      firstBad ??= `${n} (not produced)`;
      continue;
    }
    if (mine.length !== ref.data.length) {
      firstBad ??= `${n} (${mine.length} values, expected ${ref.data.length})`;
      continue;
    }
    if (ref.dtype === 'U8') {
      const a = mine as unknown as Uint8Array;
      let diff = 0;
      for (let i = 0; i < ref.data.length; i++) if (a[i] !== (ref.data as Uint8Array)[i]) diff++;
      rows.push(`${n.padEnd(pad)} ${diff === 0 ? 'exact' : `${diff} of ${ref.data.length} differ`}`);
      if (diff > 0) firstBad ??= n;
      continue;
    }
    const e = maxErrors(mine as Float32Array, ref.data as Float32Array);
    rows.push(`${n.padEnd(pad)} max abs ${e.maxAbs.toExponential(2)}  rel ${e.maxRel.toExponential(2)}  (max|ref| ${e.maxRef.toFixed(3)})`);
    if (!(e.maxRel <= relTol)) firstBad ??= `${n} (rel ${e.maxRel.toExponential(2)} > ${relTol})`;
  }
  return { rows, firstBad };
}
