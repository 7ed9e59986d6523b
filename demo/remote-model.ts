/**
 * The page's side of the model worker (`?worker`): the same jobs as a Segmenter plus a
 * SegmentationView, run in model-worker.ts on the canvas this page transferred to it. The page
 * keeps a copy of the view transform (zoom / pan / hover run here, the worker draws with the
 * matrix it is sent) and of each label map (hover hit-testing without a round trip).
 */
import { ViewTransform, type LoadProgress, type SegmentInfo, type SegmentOptions, type Task } from '../src/index.ts';
import type { DemoImage } from './images.ts';
import { copyMatrix, type ExportReply, type InitReply, type LoadReply, type ModelReply, type ModelRequest, type SegmentReply, type Style } from './model-protocol.ts';
import type { DemoResult } from './state.ts';

/** A request without its id (call() numbers it). */
type Outgoing = ModelRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class RemoteModel {
  /** image -> screen, mirrored from the worker's view. */
  readonly view = new ViewTransform();
  labels: Readonly<Record<number, string>> = {};
  tensors = 0;
  bytes = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void; progress?: (p: LoadProgress) => void }>();
  private current: { width: number; height: number } | undefined;
  private size = { width: 1, height: 1 };

  private constructor(
    private readonly worker: Worker,
    readonly info: InitReply,
  ) {}

  /** Starts the worker and hands it the canvas (which this page cannot draw on afterwards). */
  static async start(canvas: HTMLCanvasElement): Promise<RemoteModel> {
    const worker = new Worker(new URL('./model-worker.ts', import.meta.url), { type: 'module', name: 'maskgpu-model' });
    const size = { width: canvas.width, height: canvas.height };
    const offscreen = canvas.transferControlToOffscreen();
    const boot = new RemoteModel(worker, { adapter: '', description: '', timestampQuery: false });
    worker.addEventListener('message', (e: MessageEvent<ModelReply>) => boot.receive(e.data));
    const info = (await boot.call({ kind: 'init', canvas: offscreen }, [offscreen])) as InitReply;
    Object.assign(boot, { info });
    boot.size = size;
    return boot;
  }

  private receive(m: ModelReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.kind === 'progress') return p.progress?.(m.progress);
    this.pending.delete(m.id);
    if (m.kind === 'done') p.ok(m.value);
    else {
      const e = new Error(m.message);
      e.name = m.name;
      p.fail(e);
    }
  }

  private call(req: Outgoing, transfer: Transferable[] = [], progress?: (p: LoadProgress) => void): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((ok, fail) => {
      this.pending.set(id, { ok, fail, ...(progress ? { progress } : {}) });
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  async load(source: string | File[], cache: boolean, onProgress: (p: LoadProgress) => void): Promise<void> {
    const r = (await this.call({ kind: 'load', source, cache }, [], onProgress)) as LoadReply;
    this.labels = r.labels;
    this.tensors = r.tensors;
    this.bytes = r.bytes;
    this.current = undefined;
  }

  /** Segments in the worker (and shows there when `show`); the result's label map is kept here. */
  async segment(image: DemoImage, options: SegmentOptions, style: Style, again: boolean, show: boolean): Promise<DemoResult> {
    const copy = new Uint8ClampedArray(image.data); // the page keeps its image; the copy is transferred
    const r = (await this.call({ kind: 'segment', image: { width: image.width, height: image.height, data: copy }, options, style, again, show }, [copy.buffer])) as SegmentReply;
    if (show) {
      copyMatrix(this.view.matrix, r.matrix);
      this.view.pan(0, 0);
      Object.assign(this.view, { imageWidth: r.width, imageHeight: r.height, canvasWidth: this.size.width, canvasHeight: this.size.height });
      this.current = { width: r.width, height: r.height };
    }
    return this.result(r, image);
  }

  restyle(style: Style): Promise<void> {
    return this.call({ kind: 'restyle', style }).then(() => undefined);
  }

  /** New canvas size in device pixels (the page cannot resize a transferred canvas itself). */
  resize(width: number, height: number): void {
    this.size = { width, height };
  }

  get canvasWidth(): number {
    return this.size.width;
  }

  get canvasHeight(): number {
    return this.size.height;
  }

  /** Redraws in the worker with this page's view transform. Errors are reported by `onError`. */
  draw(onError: (e: unknown) => void = () => {}): void {
    this.call({ kind: 'draw', width: this.size.width, height: this.size.height, matrix: Array.from(this.view.matrix) }).catch(onError);
  }

  toImage(x: number, y: number): [number, number] | undefined {
    if (!this.current) return undefined;
    const [ix, iy] = this.view.screenToImage(x, y);
    return ix >= 0 && iy >= 0 && ix < this.current.width && iy < this.current.height ? [ix, iy] : undefined;
  }

  dispose(): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.fail(new Error('model worker stopped'));
    this.pending.clear();
  }

  private result(r: SegmentReply, image: DemoImage): DemoResult {
    const labelMap = r.labelMap;
    const exportImage = async (what: 'overlay' | 'labels', style: Style): Promise<ExportReply> => (await this.call({ kind: 'export', what, style })) as ExportReply;
    return {
      task: r.task as Task, width: r.width, height: r.height, segments: r.segments, background: r.background, timings: r.timings, image,
      labelMap: () => Promise.resolve(labelMap),
      labelImage: () => exportImage('labels', { opacity: 1, borders: false }),
      overlay: (style = {}) => exportImage('overlay', { opacity: style.opacity ?? 0.55, borders: style.borders ?? true }),
      segmentAt: (x, y) => {
        if (x < 0 || y < 0 || x >= r.width || y >= r.height) return Promise.resolve(undefined);
        const id = labelMap[Math.floor(y) * r.width + Math.floor(x)];
        return Promise.resolve(id === r.background ? undefined : r.segments.find((s: SegmentInfo) => s.id === id));
      },
    };
  }
}
