/**
 * Pure planning: which physical buffer ("slot") holds each temporary storage. A storage lives
 * from the first step that touches it to the last; graph outputs live to the end. Outputs of a
 * step get their slots before the step's dead inputs are released, so no step reads and writes
 * one buffer. Slots grow to the largest tenant; nothing here touches the GPU.
 */
import type { StorageDecl, Step } from './builder.ts';

export interface BufferPlan {
  /** storage id -> slot index, for 'temp' storages only. */
  readonly slotOf: ReadonlyMap<number, number>;
  /** Byte size of each slot (multiple of 16, at least 16). */
  readonly slotBytes: readonly number[];
  /** Sum of temp storage bytes if nothing were shared, for reporting reuse. */
  readonly unsharedBytes: number;
}

export const DTYPE_BYTES = 4;

export function planBuffers(storages: readonly StorageDecl[], steps: readonly Step[], keepAlive: ReadonlySet<number>): BufferPlan {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  steps.forEach((s, i) => {
    for (const t of s.bindings) {
      if (!first.has(t.storage)) first.set(t.storage, i);
      last.set(t.storage, i);
    }
  });
  const byStart = new Map<number, number[]>();
  const byEnd = new Map<number, number[]>();
  let unsharedBytes = 0;
  for (const s of storages) {
    if (s.kind !== 'temp') continue;
    const a = first.get(s.id);
    if (a === undefined) continue; // declared, never used
    const b = keepAlive.has(s.id) ? Infinity : (last.get(s.id) ?? a);
    byStart.set(a, [...(byStart.get(a) ?? []), s.id]);
    if (b !== Infinity) byEnd.set(b, [...(byEnd.get(b) ?? []), s.id]);
    unsharedBytes += bytesOf(s);
  }
  const slotBytes: number[] = [];
  const free: number[] = [];
  const slotOf = new Map<number, number>();
  for (let i = 0; i < steps.length; i++) {
    for (const id of byStart.get(i) ?? []) {
      const need = bytesOf(storages[id] as StorageDecl);
      // Best fit among free slots; else grow the largest free slot; else a new slot.
      let pick = -1;
      for (const f of free) {
        const size = slotBytes[f] as number;
        if (size >= need && (pick < 0 || size < (slotBytes[pick] as number))) pick = f;
      }
      if (pick < 0 && free.length > 0) {
        pick = free.reduce((a, f) => ((slotBytes[f] as number) > (slotBytes[a] as number) ? f : a), free[0] as number);
        slotBytes[pick] = need;
      }
      if (pick < 0) {
        pick = slotBytes.length;
        slotBytes.push(need);
      } else {
        free.splice(free.indexOf(pick), 1);
      }
      slotOf.set(id, pick);
    }
    for (const id of byEnd.get(i) ?? []) {
      const slot = slotOf.get(id);
      if (slot !== undefined) free.push(slot);
    }
  }
  return { slotOf, slotBytes, unsharedBytes };
}

/** Bytes of a storage's buffer: whole 16-byte units, so kernels may read it as vec4s. */
export function bytesOf(s: StorageDecl): number {
  return Math.max(16, Math.ceil((s.elements * DTYPE_BYTES) / 16) * 16);
}
