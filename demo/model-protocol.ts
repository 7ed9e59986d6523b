/** Messages between the demo page (remote-model.ts) and its model worker (model-worker.ts). */
import type { LoadProgress, SegmentInfo, SegmentOptions, Task } from '../src/index.ts';

export interface Style {
  readonly opacity: number;
  readonly borders: boolean;
}

/** Page -> worker. Every request has an id; the worker answers each with `done` or `error`, in order. */
export type ModelRequest =
  | { readonly id: number; readonly kind: 'init'; readonly canvas: OffscreenCanvas }
  | { readonly id: number; readonly kind: 'load'; readonly source: string | File[]; readonly cache: boolean }
  | {
      readonly id: number; readonly kind: 'segment';
      readonly image: { readonly width: number; readonly height: number; readonly data: Uint8ClampedArray };
      readonly options: SegmentOptions; readonly style: Style; readonly again: boolean; readonly show: boolean;
    }
  | { readonly id: number; readonly kind: 'restyle'; readonly style: Style }
  /** Canvas size (device pixels) and the image -> screen matrix to draw with. */
  | { readonly id: number; readonly kind: 'draw'; readonly width: number; readonly height: number; readonly matrix: readonly number[] }
  | { readonly id: number; readonly kind: 'export'; readonly what: 'overlay' | 'labels'; readonly style: Style };

export interface InitReply { readonly adapter: string; readonly description: string; readonly timestampQuery: boolean }
export interface LoadReply { readonly labels: Readonly<Record<number, string>>; readonly tensors: number; readonly bytes: number }
export interface SegmentReply {
  readonly task: Task;
  readonly width: number;
  readonly height: number;
  readonly background: number;
  readonly segments: readonly SegmentInfo[];
  readonly timings: Readonly<Record<string, number>>;
  readonly labelMap: Int32Array;
  /** The worker view's image -> screen matrix after showing (it fits a new size). */
  readonly matrix: readonly number[];
}
export interface ExportReply { readonly width: number; readonly height: number; readonly data: Uint8ClampedArray }

/** Worker -> page. */
export type ModelReply =
  | { readonly id: number; readonly kind: 'progress'; readonly progress: LoadProgress }
  | { readonly id: number; readonly kind: 'done'; readonly value: InitReply | LoadReply | SegmentReply | ExportReply | null }
  | { readonly id: number; readonly kind: 'error'; readonly name: string; readonly message: string };

/** Copies a 3x3 matrix (9 numbers, column-major) into a gl-matrix mat3. */
export function copyMatrix(dst: { [i: number]: number }, src: readonly number[]): void {
  for (let i = 0; i < 9; i++) dst[i] = src[i] ?? 0;
}
