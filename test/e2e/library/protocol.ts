/** Messages between test/e2e/library/main.ts (the page) and worker.ts (Segmenter in a Web Worker). */
import type { LoadProgress, SegmentInfo, Task } from '../../../src/index.ts';

export interface WorkerRequest {
  readonly kind: 'run';
  /** Checkpoint folder URL (absolute). */
  readonly checkpoint: string;
  readonly image: ImageBitmap;
  /** From HTMLCanvasElement.transferControlToOffscreen(). */
  readonly canvas: OffscreenCanvas;
  readonly task: Task;
  readonly targetSize: [number, number];
}

/** Frees the Segmenter (and its device) the last run kept alive to show its result. */
export interface WorkerDispose {
  readonly kind: 'dispose';
}

export type WorkerReply =
  | { readonly kind: 'progress'; readonly progress: LoadProgress }
  | { readonly kind: 'loaded'; readonly adapter: string; readonly ms: number }
  | {
      readonly kind: 'result';
      readonly width: number;
      readonly height: number;
      readonly segments: readonly SegmentInfo[];
      readonly labelMap: Int32Array;
      readonly timings: Readonly<Record<string, number>>;
      /** Worker-side view: the canvas it drew on, at its size. */
      readonly canvas: { readonly width: number; readonly height: number };
      readonly scope: string;
    }
  | { readonly kind: 'disposed' }
  | { readonly kind: 'error'; readonly name: string; readonly message: string };

/** A load through Segmenter.load(url) in the page: what came back, or the typed error's fields. */
export interface PageLoad {
  readonly ok: boolean;
  readonly progress: number;
  readonly lastProgress: LoadProgress | undefined;
  readonly tensors: number;
  readonly error?: { readonly name: string; readonly message: string; readonly status: number | undefined; readonly file: string | undefined };
}

export interface WorkerRun {
  readonly result: Extract<WorkerReply, { kind: 'result' }>;
  readonly adapter: string;
  readonly progressEvents: number;
  /** Main-thread long tasks (PerformanceObserver 'longtask') that started during the worker's pass. */
  readonly longTasks: readonly { readonly start: number; readonly duration: number }[];
  /** requestAnimationFrame callbacks on the main thread during the pass, and the longest gap between two. */
  readonly frames: number;
  readonly maxFrameGapMs: number;
  /** Timer probes (setTimeout 0 every 50 ms) during the pass: the worst lateness. */
  readonly maxTimerLagMs: number;
  readonly passMs: number;
}

/** What test/e2e/library/main.ts puts on `window.__lib`. */
export interface LibraryPage {
  load(url: string, options: { cache?: string; token?: string }): Promise<PageLoad>;
  clearCache(name: string): Promise<boolean>;
  runWorker(checkpoint: string, imageUrl: string, task: Task, targetSize: [number, number]): Promise<WorkerRun>;
  disposeWorker(): Promise<void>;
  gpuFrames(checkpoint: string, images: readonly { width: number; height: number; rgba: number[] }[]): Promise<GpuFramesRun[]>;
}

/** One segment() of test/e2e/library/main.ts gpuFrames: the source kind, what came back. */
export interface GpuFramesRun {
  readonly kind: string;
  readonly task: Task;
  readonly width: number;
  readonly height: number;
  readonly labelMap: number[];
  readonly segments: { id: number; labelId: number; score: number; area: number }[];
  /** result.image equals the bytes the source was made from. */
  readonly imageEqual: boolean;
}
