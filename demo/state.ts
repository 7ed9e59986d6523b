/**
 * The demo page's state and the interfaces its modules share: one typed state object, the DOM
 * elements, and `DemoContext`, through which the modules (checkpoint, sources, webcam, controls,
 * view, legend) reach each other's actions without importing each other.
 */
import type { GpuContext, LoadProgress, SegmentOptions, SegmentationResult, SegmentationView, Segmenter, Task } from '../src/index.ts';
import type { DemoElements } from './dom.ts';
import type { DemoImage } from './images.ts';
import type { RemoteModel } from './remote-model.ts';

/** What the sliders and toggles say. */
export interface Controls {
  task: Task;
  threshold: number;
  maskThreshold: number;
  overlap: number;
  opacity: number;
  borders: boolean;
  fuse: boolean;
  fuseIds: number[];
}

/**
 * A result as the page uses it: a Segmenter's (main-thread mode), or the model worker's
 * (`?worker`: no GPU buffer on this side; the label map was sent along).
 */
export type DemoResult = Omit<SegmentationResult, 'gpuBuffer' | 'toCOCO' | 'isStale'>;

export interface DemoState {
  gpu: GpuContext | undefined;
  segmenter: Segmenter | undefined;
  view: SegmentationView | undefined;
  /** `?worker`: the model runs in a Web Worker (segmenter, view and gpu stay undefined here). */
  remote: RemoteModel | undefined;
  checkpoint: string;
  image: { readonly pixels: DemoImage; readonly name: string } | undefined;
  result: DemoResult | undefined;
  controls: Controls;
  /** Segment id under the mouse. */
  hover: number | undefined;
  progress: LoadProgress | undefined;
  webcam: Webcam | undefined;
  /** A job is composing / presenting (no redraw then: the overlay graph may be rebuilt). */
  showing: boolean;
  status: string;
  /** The image of the segmenter's last model pass (resegment() post-processes that output). */
  lastModelPass: DemoImage | undefined;
}

export function initialState(): DemoState {
  return {
    gpu: undefined, segmenter: undefined, view: undefined, remote: undefined, checkpoint: '', image: undefined, result: undefined,
    controls: { task: 'panoptic', threshold: 0.5, maskThreshold: 0.5, overlap: 0.8, opacity: 0.55, borders: true, fuse: true, fuseIds: [1, 2] },
    hover: undefined, progress: undefined, webcam: undefined, showing: false, status: '', lastModelPass: undefined,
  };
}

/** A running webcam: the stream and the segmenter.video() loop on it. */
export interface Webcam {
  readonly stream: MediaStream;
  handle: { stop(): void; readonly done: Promise<void>; readonly dropped: number } | undefined;
  frames: number;
  readonly t0: number;
  /** Wall ms of the last frame (segment + show). */
  frameMs: number;
  /** Set while waiting for an in-flight frame to finish. */
  onFrame: (() => void) | undefined;
}

export interface SegmentExtra {
  readonly targetSize?: readonly [number, number];
  /** Present the result (overlay, labels, legend, timings); default true. */
  readonly show?: boolean;
  /** Only the controls changed since this image's last model pass: post-process its output again. */
  readonly again?: boolean;
}

export interface DemoApp {
  readonly state: DemoState;
  /** Resolves once WebGPU is up and the default checkpoint is loaded; rejects (handled) otherwise. */
  readonly ready: Promise<void>;
  /** Runs GPU jobs one at a time, in order. */
  enqueue<T>(job: () => Promise<T>): Promise<T>;
  loadCheckpoint(source: string | File[]): Promise<void>;
  /** Queued segmentation of an image with the current controls. */
  segment(image: DemoImage, name: string, extra?: SegmentExtra): Promise<DemoResult>;
  /** The same, for use inside a job. */
  segmentNow(image: DemoImage, name: string, extra?: SegmentExtra): Promise<DemoResult>;
  setControls(c: Partial<Controls>): void;
  /** Redraws overlay and labels with the current view. */
  redraw(): void;
  /** The style the view composes a result with (use it for readbacks: another style rebuilds the overlay). */
  overlayStyle(): { opacity: number; borders: boolean };
  readonly canvas: HTMLCanvasElement;
}

/** What each module offers the others (filled in by createApp as the modules are set up). */
export interface DemoActions {
  // main: segmentation
  segment(image: DemoImage, name: string, extra?: SegmentExtra): Promise<DemoResult>;
  /** Segments the current image again; `again`: only the controls changed (no model pass). */
  rerun(again?: boolean): void;
  /** Composes the current result again with the current style (no model pass, no post-processing). */
  restyle(): void;
  // controls
  setControls(c: Partial<Controls>): void;
  segmentOptions(extra?: SegmentExtra): SegmentOptions;
  overlayStyle(): { opacity: number; borders: boolean };
  // view / legend
  drawOverlayLabels(): void;
  redraw(): void;
  preview(img: DemoImage): void;
  setResultUi(): void;
  // checkpoint, sources, webcam
  loadCheckpoint(source: string | File[]): Promise<void>;
  useImage(img: DemoImage, name: string): void;
  useImageBlob(blob: Blob, name: string): void;
  stopWebcam(): Promise<void>;
  restartWebcam(): void;
}

export interface DemoContext {
  readonly el: DemoElements;
  readonly c2d: CanvasRenderingContext2D;
  readonly state: DemoState;
  enqueue<T>(job: () => Promise<T>): Promise<T>;
  setStatus(s: string): void;
  showError(e: unknown): void;
  readonly actions: DemoActions;
}
