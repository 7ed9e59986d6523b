/**
 * The maskgpu demo page: pick a checkpoint (embedded shapes model, a folder / hub URL, picked or
 * dropped files), segment an image (file, drop, paste, webcam, generated shapes scene), look at the
 * overlay (WebGPU canvas + 2D labels, hover hit-testing, wheel zoom, drag pan), export PNGs.
 * The page's state lives in one typed object; GPU work runs one job at a time through `enqueue`.
 * With `?test` in the URL, `./test-hooks.ts` is loaded first and exposes `window.__maskgpu`.
 */
import {
  DeviceLostError, MaskgpuError, NoAdapterError, NoWebGpuError, SegmentationView, Segmenter, ViewTransform,
  cssColour, drawLabels, legendEntries, requestGpu,
  type GpuContext, type LoadProgress, type SegmentOptions, type SegmentationResult, type Task,
} from '../src/index.ts';
import { download, isCheckpointFile, isImageFile, pngBlob, rgbaFromBlob, rgbaFromUrl, type DemoImage } from './images.ts';
import { generateShapes } from './shapes-generator.ts';

export const DEFAULT_CHECKPOINT = './shapes/';

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

export interface DemoState {
  gpu: GpuContext | undefined;
  segmenter: Segmenter | undefined;
  view: SegmentationView | undefined;
  checkpoint: string;
  image: { readonly pixels: DemoImage; readonly name: string } | undefined;
  result: SegmentationResult | undefined;
  controls: Controls;
  /** Segment id under the mouse. */
  hover: number | undefined;
  progress: LoadProgress | undefined;
  webcam: Webcam | undefined;
  /** A job is composing / presenting (no redraw then: the overlay graph may be rebuilt). */
  showing: boolean;
  status: string;
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
  segment(image: DemoImage, name: string, extra?: SegmentExtra): Promise<SegmentationResult>;
  /** The same, for use inside a job. */
  segmentNow(image: DemoImage, name: string, extra?: SegmentExtra): Promise<SegmentationResult>;
  setControls(c: Partial<Controls>): void;
  /** Redraws overlay and labels with the current view. */
  redraw(): void;
  /** The style the view composes a result with (use it for readbacks: another style rebuilds the overlay). */
  overlayStyle(): { opacity: number; borders: boolean };
  readonly canvas: HTMLCanvasElement;
}

const HF = 'https://huggingface.co/';

/** `owner/name` or a hub page URL -> the hub's file folder URL; anything else as given. */
export function checkpointUrl(input: string): string {
  const s = input.trim();
  if (/^[\w.-]+\/[\w.-]+$/.test(s) && !s.startsWith('.')) return `${HF}${s}/resolve/main/`;
  const hub = /^https:\/\/huggingface\.co\/([\w.-]+\/[\w.-]+)\/?(?:tree\/([\w.-]+)\/?)?$/.exec(s);
  if (hub) return `${HF}${hub[1]}/resolve/${hub[2] ?? 'main'}/`;
  return s.endsWith('/') ? s : `${s}/`;
}

/** Labels to fuse by default: the shapes model's stuff (sky, ground), COCO panoptic's 53 stuff classes. */
export function defaultFuse(labels: Readonly<Record<number, string>>): number[] {
  const entries = Object.entries(labels).map(([k, v]) => [Number(k), v] as const);
  const names = new Set(entries.map(([, v]) => v));
  if (entries.length === 3 && names.has('sky') && names.has('ground') && names.has('object')) return entries.filter(([, v]) => v !== 'object').map(([k]) => k);
  if (entries.length === 133) return entries.filter(([k]) => k >= 80).map(([k]) => k);
  return [];
}

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo: #${id} is missing from index.html`);
  return el as T;
}

const fmtMs = (ms: number): string => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
const fmtBytes = (b: number): string => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`);

/** Reads every file below a dropped directory entry. */
async function filesOf(entry: FileSystemEntry): Promise<File[]> {
  if (entry.isFile) return [await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail))];
  if (!entry.isDirectory) return [];
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const out: File[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) break;
    for (const e of batch) out.push(...(await filesOf(e)));
  }
  return out;
}

export function createApp(): DemoApp {
  const el = {
    adapter: $('adapter'), modelName: $('model-name'), status: $('status'),
    fatal: $('fatal'), fatalTitle: $('fatal-title'), fatalMessage: $('fatal-message'),
    error: $('error'), errorText: $('error-text'), errorClose: $<HTMLButtonElement>('error-close'),
    preset: $<HTMLSelectElement>('ckpt-preset'), ckptForm: $<HTMLFormElement>('ckpt-form'), ckptUrl: $<HTMLInputElement>('ckpt-url'),
    ckptDir: $<HTMLInputElement>('ckpt-dir'), ckptFiles: $<HTMLInputElement>('ckpt-files'), cache: $<HTMLInputElement>('ckpt-cache'),
    progressBox: $('progress-box'), progress: $<HTMLProgressElement>('progress'), progressText: $('progress-text'),
    imageFile: $<HTMLInputElement>('image-file'), generate: $<HTMLButtonElement>('generate'), webcam: $<HTMLButtonElement>('webcam'), examples: $('examples'),
    task: $<HTMLSelectElement>('task'), threshold: $<HTMLInputElement>('threshold'), maskThreshold: $<HTMLInputElement>('mask-threshold'),
    overlap: $<HTMLInputElement>('overlap'), opacity: $<HTMLInputElement>('opacity'), borders: $<HTMLInputElement>('borders'),
    fuse: $<HTMLInputElement>('fuse'), fuseIds: $<HTMLInputElement>('fuse-ids'), run: $<HTMLButtonElement>('run'), fit: $<HTMLButtonElement>('fit'),
    exportOverlay: $<HTMLButtonElement>('export-overlay'), exportLabels: $<HTMLButtonElement>('export-labels'),
    stage: $('stage'), canvas: $<HTMLCanvasElement>('gpu-canvas'), labels: $<HTMLCanvasElement>('label-canvas'), tooltip: $('tooltip'), video: $<HTMLVideoElement>('video'),
    legend: $('legend'), timings: $('timings'), imageInfo: $('image-info'),
  };
  const c2d = el.labels.getContext('2d');
  if (!c2d) throw new Error('demo: no 2D canvas context');

  const state: DemoState = {
    gpu: undefined, segmenter: undefined, view: undefined, checkpoint: '', image: undefined, result: undefined,
    controls: { task: 'panoptic', threshold: 0.5, maskThreshold: 0.5, overlap: 0.8, opacity: 0.55, borders: true, fuse: true, fuseIds: [1, 2] },
    hover: undefined, progress: undefined, webcam: undefined, showing: false, status: '',
  };

  // ---- messages -------------------------------------------------------------------------------
  const setStatus = (s: string): void => {
    state.status = s;
    el.status.textContent = s;
  };
  const describe = (e: unknown): string => (e instanceof MaskgpuError ? `${e.name}: ${e.message}` : e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  const showError = (e: unknown): void => {
    if (!(e instanceof MaskgpuError)) console.error(e);
    el.errorText.textContent = describe(e);
    el.error.hidden = false;
    setStatus('error');
  };
  const showFatal = (title: string, e: unknown): void => {
    el.fatalTitle.textContent = title;
    el.fatalMessage.textContent = describe(e);
    el.fatal.hidden = false;
    document.body.classList.add('no-webgpu');
    el.adapter.textContent = 'none';
    el.modelName.textContent = 'none';
    setStatus('WebGPU unavailable');
  };
  el.errorClose.addEventListener('click', () => (el.error.hidden = true));

  // ---- job queue ------------------------------------------------------------------------------
  let chain: Promise<unknown> = Promise.resolve();
  const enqueue = <T>(job: () => Promise<T>): Promise<T> => {
    const next = chain.then(job, job);
    chain = next.catch(() => undefined);
    return next;
  };

  // ---- controls <-> state ---------------------------------------------------------------------
  const parseIds = (s: string): number[] => s.split(/[\s,]+/).filter((x) => x.length > 0).map(Number).filter((n) => Number.isInteger(n) && n >= 0);
  const writeControls = (): void => {
    const c = state.controls;
    el.task.value = c.task;
    const slide = (input: HTMLInputElement, v: number): void => {
      input.value = String(v);
      const out = document.getElementById(`${input.id}-value`);
      if (out) out.textContent = v.toFixed(2);
    };
    slide(el.threshold, c.threshold);
    slide(el.maskThreshold, c.maskThreshold);
    slide(el.overlap, c.overlap);
    slide(el.opacity, c.opacity);
    el.borders.checked = c.borders;
    el.fuse.checked = c.fuse;
    el.fuseIds.value = c.fuseIds.join(',');
    const panoptic = c.task === 'panoptic';
    el.maskThreshold.disabled = !panoptic;
    el.overlap.disabled = !panoptic;
    el.fuse.disabled = !panoptic;
    el.fuseIds.disabled = !panoptic || !c.fuse;
    el.threshold.disabled = c.task === 'semantic';
  };
  const readControls = (): void => {
    state.controls = {
      task: el.task.value as Task,
      threshold: Number(el.threshold.value), maskThreshold: Number(el.maskThreshold.value), overlap: Number(el.overlap.value),
      opacity: Number(el.opacity.value), borders: el.borders.checked, fuse: el.fuse.checked, fuseIds: parseIds(el.fuseIds.value),
    };
    writeControls();
  };
  const setControls = (c: Partial<Controls>): void => {
    state.controls = { ...state.controls, ...c };
    writeControls();
  };
  const segmentOptions = (extra: SegmentExtra = {}): SegmentOptions => {
    const c = state.controls;
    return {
      task: c.task, threshold: c.threshold, mask_threshold: c.maskThreshold, overlap_mask_area_threshold: c.overlap,
      ...(c.fuse && c.fuseIds.length > 0 ? { label_ids_to_fuse: c.fuseIds } : {}),
      ...(extra.targetSize ? { targetSize: extra.targetSize } : {}),
    };
  };

  /** How results are composed (the readback hooks and exports use the same style as the view). */
  const overlayStyle = (): { opacity: number; borders: boolean } => ({ opacity: state.controls.opacity, borders: state.controls.borders });

  // ---- drawing --------------------------------------------------------------------------------
  const dpr = (): number => globalThis.devicePixelRatio || 1;
  const drawOverlayLabels = (): void => {
    const r = state.result;
    if (!r || !state.view) return;
    drawLabels(c2d, state.view.view, r.segments, state.hover);
  };
  const redraw = (): void => {
    if (state.showing) return;
    state.view?.draw();
    drawOverlayLabels();
  };
  /** The input image on the 2D canvas while the model runs (the WebGPU canvas shows results only). */
  const preview = (img: DemoImage): void => {
    const t = new ViewTransform().fit(img.width, img.height, el.labels.width, el.labels.height);
    const canvas = new OffscreenCanvas(img.width, img.height);
    canvas.getContext('2d')?.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
    const [x0, y0] = t.imageToScreen(0, 0);
    const [x1, y1] = t.imageToScreen(img.width, img.height);
    c2d.clearRect(0, 0, el.labels.width, el.labels.height);
    c2d.imageSmoothingEnabled = false;
    c2d.globalAlpha = 0.6;
    c2d.drawImage(canvas, x0, y0, x1 - x0, y1 - y0);
    c2d.globalAlpha = 1;
  };
  const resize = (): void => {
    const w = Math.max(1, Math.round(el.stage.clientWidth * dpr()));
    const h = Math.max(1, Math.round(el.stage.clientHeight * dpr()));
    if (el.canvas.width === w && el.canvas.height === h && el.labels.width === w) return;
    el.canvas.width = el.labels.width = w;
    el.canvas.height = el.labels.height = h;
    const r = state.result;
    if (r && state.view) state.view.view.fit(r.width, r.height, w, h);
    redraw();
  };
  new ResizeObserver(resize).observe(el.stage);
  resize();

  const renderLegend = (): void => {
    const r = state.result;
    el.legend.replaceChildren();
    if (!r) return;
    const total = r.width * r.height;
    const hovered = r.segments.find((s) => s.id === state.hover);
    for (const row of legendEntries(r.segments)) {
      const li = document.createElement('li');
      li.dataset.label = row.label;
      if (hovered && hovered.labelId === row.labelId) li.classList.add('highlight');
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = row.colour;
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = row.label;
      const meta = document.createElement('span');
      meta.className = 'meta';
      meta.textContent = `${r.task === 'semantic' ? '' : `${row.count}× `}${((100 * row.area) / total).toFixed(1)}%`;
      li.append(sw, name, meta);
      el.legend.append(li);
    }
    if (r.segments.length === 0) el.legend.innerHTML = '<li class="empty">no segments</li>';
  };
  const renderTimings = (): void => {
    const r = state.result;
    const body = document.createElement('tbody');
    if (r) {
      const order = ['preprocess', 'backbone', 'pixel_decoder', 'transformer_decoder'];
      const entries = Object.entries(r.timings).sort(([a], [b]) => {
        const ia = order.indexOf(a);
        const ib = order.indexOf(b);
        const ra = ia >= 0 ? ia : a === 'total' ? 99 : 50;
        const rb = ib >= 0 ? ib : b === 'total' ? 99 : 50;
        return ra - rb || a.localeCompare(b);
      });
      for (const [k, v] of entries) {
        const tr = document.createElement('tr');
        if (k === 'total') tr.className = 'total';
        tr.innerHTML = '<td></td><td></td>';
        (tr.children[0] as HTMLElement).textContent = k.replaceAll('_', ' ');
        (tr.children[1] as HTMLElement).textContent = fmtMs(v);
        tr.dataset.stage = k;
        body.append(tr);
      }
      el.imageInfo.textContent = `${state.image?.name ?? 'image'}: ${r.image.width}×${r.image.height}, label map ${r.width}×${r.height}, ${r.task}`;
    }
    el.timings.replaceChildren(body);
  };
  const setResultUi = (): void => {
    const has = state.result !== undefined;
    el.exportOverlay.disabled = !has;
    el.exportLabels.disabled = !has;
    renderLegend();
    renderTimings();
  };

  // ---- checkpoint -----------------------------------------------------------------------------
  const showProgress = (p: LoadProgress): void => {
    state.progress = p;
    el.progressBox.hidden = false;
    el.progress.max = Math.max(p.total, 1);
    el.progress.value = p.loaded;
    el.progressText.textContent = `${fmtBytes(p.loaded)} / ${fmtBytes(p.total)} (${((100 * p.loaded) / Math.max(p.total, 1)).toFixed(0)}%) ${p.file.split('/').pop() ?? ''}`;
  };
  /**
   * Resolves once a frame that segmenter.video() may still have in flight is done: its handle's
   * stop() ends the loop but cannot say whether a segment() is running, and the next GPU job must
   * not overlap it. Waits for the next result, or about two frame times (longer before the first).
   */
  const settle = (w: Webcam): Promise<void> =>
    new Promise<void>((ok) => {
      const wait = w.frames === 0 ? (el.video.readyState >= 2 ? 60_000 : 200) : 2 * w.frameMs + 500;
      const timer = setTimeout(() => ((w.onFrame = undefined), ok()), wait);
      w.onFrame = () => {
        clearTimeout(timer);
        w.onFrame = undefined;
        ok();
      };
    });
  /** Stops the camera; resolves when the GPU is free again. */
  const stopWebcam = async (): Promise<void> => {
    const w = state.webcam;
    if (!w) return;
    state.webcam = undefined;
    el.webcam.classList.remove('active');
    el.webcam.textContent = 'webcam';
    w.handle?.stop();
    await settle(w);
    for (const t of w.stream.getTracks()) t.stop();
    el.video.srcObject = null;
    setStatus(`webcam stopped after ${w.frames} frame(s)`);
  };
  const requireGpu = (): GpuContext => {
    if (!state.gpu) throw new NoWebGpuError('WebGPU is not initialised (see the message above)');
    return state.gpu;
  };
  const loadCheckpointNow = async (source: string | File[]): Promise<void> => {
    const gpu = requireGpu();
    await stopWebcam();
    const name = typeof source === 'string' ? source : `${source.length} file(s): ${source.map((f) => f.name).join(', ')}`;
    setStatus(`loading ${typeof source === 'string' ? source : 'files'}…`);
    el.progress.value = 0;
    const t0 = performance.now();
    const remote = typeof source === 'string' && /^https?:/.test(source) && !source.startsWith(location.origin);
    const seg = await Segmenter.load(typeof source === 'string' ? new URL(source, location.href).href : source, {
      gpu,
      onProgress: showProgress,
      profile: gpu.features.timestampQuery,
      ...(remote && el.cache.checked ? { cache: true } : {}),
    });
    // Swap only once the new model is in: a failed load keeps the old one.
    const old = state.segmenter;
    state.view?.dispose();
    old?.dispose();
    state.result = undefined;
    state.hover = undefined;
    state.segmenter = seg;
    lastModelPass = undefined;
    state.view = new SegmentationView(gpu, el.canvas);
    state.checkpoint = typeof source === 'string' ? source : name;
    const weights = seg.model.weights;
    el.modelName.textContent = typeof source === 'string' ? source.replace(HF, 'hub:') : (source.find((f) => f.name.endsWith('.safetensors'))?.name ?? 'files');
    el.modelName.title = `${seg.model.spec.displayName}; ${Object.keys(seg.labels).length} labels; ${weights.count} tensors, ${fmtBytes(weights.bytes)} on the GPU`;
    const fuseIds = defaultFuse(seg.labels);
    // Hub checkpoints say what they were trained for in their name (…-coco-panoptic, …-ade-semantic).
    const trained = /(semantic|instance|panoptic)/.exec(state.checkpoint)?.[1] as Task | undefined;
    setControls({ fuseIds, fuse: fuseIds.length > 0, ...(trained ? { task: trained } : {}) });
    c2d.clearRect(0, 0, el.labels.width, el.labels.height);
    setResultUi();
    setStatus(`loaded ${seg.model.spec.displayName} (${Object.keys(seg.labels).length} labels) in ${fmtMs(performance.now() - t0)}`);
    rerun(); // the current image, with the new model (queued after this job)
  };
  const loadCheckpoint = (source: string | File[]): Promise<void> => enqueue(() => loadCheckpointNow(source));

  // ---- segmentation ---------------------------------------------------------------------------
  /** The image of the segmenter's last model pass (resegment() post-processes that output). */
  let lastModelPass: DemoImage | undefined;
  const segmentNow = async (image: DemoImage, name: string, extra: SegmentExtra = {}): Promise<SegmentationResult> => {
    const seg = state.segmenter;
    const view = state.view;
    if (!seg || !view) throw new MaskgpuError('no checkpoint loaded');
    setStatus(`segmenting ${name} (${image.width}×${image.height}, ${state.controls.task})…`);
    // Same image, same model, other controls: post-process the last model output again.
    const again = extra.again === true && lastModelPass === image;
    const r = again ? await seg.resegment(segmentOptions(extra)) : await seg.segment(image, segmentOptions(extra));
    lastModelPass = image;
    if (extra.show !== false) {
      state.showing = true;
      try {
        state.image = { pixels: image, name };
        state.result = r;
        state.hover = undefined;
        el.tooltip.hidden = true;
        await view.show(seg, r, overlayStyle());
        await r.labelMap(); // read once now (hover hit-testing), before the next run reuses the buffer
      } finally {
        state.showing = false;
      }
      drawOverlayLabels();
      setResultUi();
    }
    setStatus(`${r.segments.length} segment(s), ${fmtMs(r.timings.total ?? 0)}`);
    return r;
  };
  const segment = (image: DemoImage, name: string, extra?: SegmentExtra): Promise<SegmentationResult> => enqueue(() => segmentNow(image, name, extra));

  let rerunQueued = false;
  /** Re-segments the current image with the current controls; changes made while waiting coalesce. */
  /** Segments the current image again; `again`: only the controls changed (no model pass). */
  const rerun = (again = false): void => {
    if (state.webcam) {
      restartWebcam();
      return;
    }
    if (!state.image || rerunQueued) return;
    rerunQueued = true;
    enqueue(async () => {
      rerunQueued = false;
      const img = state.image;
      if (img) await segmentNow(img.pixels, img.name, { again });
    }).catch(showError);
  };
  const restyle = (): void => {
    const r = state.result;
    const seg = state.segmenter;
    if (!r || !seg || state.webcam) return;
    enqueue(async () => {
      if (state.result !== r || !state.view) return;
      state.showing = true;
      try {
        await state.view.show(seg, r, overlayStyle());
      } finally {
        state.showing = false;
      }
      drawOverlayLabels();
    }).catch(showError);
  };
  const useImage = (img: DemoImage, name: string): void => {
    if (state.webcam) enqueue(stopWebcam).catch(showError);
    state.image = { pixels: img, name };
    if (!state.result) preview(img);
    setStatus(`waiting to segment ${name}…`);
    void segment(img, name).catch(showError);
  };
  const useImageBlob = (blob: Blob, name: string): void => {
    rgbaFromBlob(blob, name).then((img) => useImage(img, name), showError);
  };

  // ---- webcam ---------------------------------------------------------------------------------
  /** Frames go through segmenter.video(): one in flight, the rest dropped, with the current controls. */
  const startLoop = (w: Webcam): void => {
    const seg = state.segmenter;
    if (!seg) throw new MaskgpuError('no checkpoint loaded');
    lastModelPass = undefined; // webcam frames replace the segmenter's last model output
    const handle = seg.video(el.video, async (r) => {
      const t = performance.now();
      if (state.webcam === w && w.handle === handle && state.view) {
        state.showing = true;
        try {
          state.result = r;
          await state.view.show(seg, r, overlayStyle());
          await r.labelMap(); // for hover, read while this loop holds the GPU
        } finally {
          state.showing = false;
        }
        drawOverlayLabels();
        setResultUi();
        w.frames++;
        w.frameMs = (r.timings.total ?? 0) + (performance.now() - t);
        setStatus(`webcam: ${w.frames} frame(s), ${((1000 * w.frames) / (performance.now() - w.t0)).toFixed(1)} fps, ${handle.dropped} dropped`);
      }
      w.onFrame?.();
    }, segmentOptions());
    w.handle = handle;
  };
  const startWebcam = async (): Promise<void> => {
    if (!state.segmenter || !state.view) throw new MaskgpuError('no checkpoint loaded');
    if (!navigator.mediaDevices?.getUserMedia) throw new MaskgpuError('this browser has no camera access (navigator.mediaDevices.getUserMedia)');
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    el.video.srcObject = stream;
    await el.video.play();
    const w: Webcam = { stream, handle: undefined, frames: 0, t0: performance.now(), frameMs: 0, onFrame: undefined };
    state.webcam = w;
    state.image = undefined;
    el.webcam.classList.add('active');
    el.webcam.textContent = 'stop webcam';
    setStatus('webcam: waiting for the first frame…');
    startLoop(w);
  };
  /** New controls: a new loop on the same stream (segmenter.video() takes its options once). */
  const restartWebcam = (): void => {
    const w = state.webcam;
    if (!w) return;
    enqueue(async () => {
      if (state.webcam !== w) return;
      w.handle?.stop();
      await settle(w);
      if (state.webcam === w) startLoop(w);
    }).catch(showError);
  };

  // ---- events ---------------------------------------------------------------------------------
  el.preset.addEventListener('change', () => {
    el.ckptUrl.value = el.preset.value === DEFAULT_CHECKPOINT ? '' : checkpointUrl(el.preset.value);
    loadCheckpoint(el.preset.value === DEFAULT_CHECKPOINT ? DEFAULT_CHECKPOINT : checkpointUrl(el.preset.value)).catch(showError);
  });
  el.ckptForm.addEventListener('submit', (e) => {
    e.preventDefault();
    if (el.ckptUrl.value.trim()) loadCheckpoint(checkpointUrl(el.ckptUrl.value)).catch(showError);
  });
  for (const input of [el.ckptDir, el.ckptFiles]) {
    input.addEventListener('change', () => {
      const files = [...(input.files ?? [])];
      input.value = '';
      if (files.length > 0) loadCheckpoint(files).catch(showError);
    });
  }
  el.imageFile.addEventListener('change', () => {
    const f = el.imageFile.files?.[0];
    el.imageFile.value = '';
    if (f) useImageBlob(f, f.name);
  });
  let generated = 0;
  el.generate.addEventListener('click', () => {
    const seed = (Date.now() ^ (generated++ * 7919)) >>> 0;
    const scene = generateShapes(seed);
    useImage(scene.image, `shapes seed ${seed} (${scene.objects.length} objects)`);
  });
  el.examples.addEventListener('click', (e) => {
    const url = (e.target as HTMLElement).dataset.example;
    if (url) rgbaFromUrl(url).then((img) => useImage(img, url.split('/').pop() ?? url), showError);
  });
  el.webcam.addEventListener('click', () => {
    const job = state.webcam ? stopWebcam : startWebcam;
    enqueue(job).catch((e: unknown) => {
      showError(e);
      void stopWebcam();
    });
  });
  el.task.addEventListener('change', () => (readControls(), rerun(true)));
  for (const input of [el.threshold, el.maskThreshold, el.overlap]) {
    input.addEventListener('input', readControls);
    input.addEventListener('change', () => (readControls(), rerun(true)));
  }
  el.fuse.addEventListener('change', () => (readControls(), rerun(true)));
  el.fuseIds.addEventListener('change', () => (readControls(), rerun(true)));
  el.opacity.addEventListener('input', () => (readControls(), restyle()));
  el.borders.addEventListener('change', () => (readControls(), restyle()));
  el.run.addEventListener('click', () => rerun());
  const fit = (): void => {
    const r = state.result;
    if (r && state.view) state.view.view.fit(r.width, r.height, el.canvas.width, el.canvas.height);
    redraw();
  };
  el.fit.addEventListener('click', fit);
  const exportPng = (kind: 'overlay' | 'labels'): void => {
    const r = state.result;
    if (!r) return;
    const base = (state.image?.name ?? 'image').replace(/\.[a-z]+$/i, '').replace(/[^\w.-]+/g, '_');
    enqueue(async () => (kind === 'overlay' ? r.overlay(overlayStyle()) : r.labelImage()))
      .then(pngBlob)
      .then((blob) => download(blob, `${base}-${r.task}-${kind === 'overlay' ? 'overlay' : 'labels'}.png`))
      .catch(showError);
  };
  el.exportOverlay.addEventListener('click', () => exportPng('overlay'));
  el.exportLabels.addEventListener('click', () => exportPng('labels'));

  // View: wheel zoom about the pointer, drag pan, double-click fit, hover hit-testing.
  const local = (e: MouseEvent): [number, number] => {
    const rect = el.stage.getBoundingClientRect();
    return [(e.clientX - rect.left) * dpr(), (e.clientY - rect.top) * dpr()];
  };
  el.stage.addEventListener('wheel', (e) => {
    if (!state.result || !state.view) return;
    e.preventDefault();
    const [x, y] = local(e);
    state.view.view.zoom(Math.exp(-e.deltaY * 0.0015), x, y);
    el.tooltip.hidden = true;
    redraw();
  }, { passive: false });
  let drag: { x: number; y: number; id: number } | undefined;
  let hoverSeq = 0;
  el.stage.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 || !state.view) return;
    drag = { x: e.clientX, y: e.clientY, id: e.pointerId };
    hoverSeq++;
    el.tooltip.hidden = true;
    el.stage.setPointerCapture(e.pointerId);
    el.stage.classList.add('dragging-view');
  });
  const endDrag = (e: PointerEvent): void => {
    if (!drag || drag.id !== e.pointerId) return;
    drag = undefined;
    el.stage.releasePointerCapture(e.pointerId);
    el.stage.classList.remove('dragging-view');
  };
  el.stage.addEventListener('pointerup', endDrag);
  el.stage.addEventListener('pointercancel', endDrag);
  el.stage.addEventListener('dblclick', fit);
  const hover = async (e: PointerEvent): Promise<void> => {
    const r = state.result;
    const view = state.view;
    if (!r || !view) return;
    const [x, y] = local(e);
    const at = view.toImage(x, y);
    const seq = ++hoverSeq;
    const s = at ? await r.segmentAt(at[0], at[1]) : undefined;
    if (seq !== hoverSeq || r !== state.result) return;
    if (s?.id !== state.hover) {
      state.hover = s?.id;
      drawOverlayLabels();
      renderLegend();
    }
    if (!s) {
      el.tooltip.hidden = true;
      return;
    }
    const score = Number.isNaN(s.score) ? '' : ` · score ${s.score.toFixed(3)}`;
    el.tooltip.innerHTML = `<span class="swatch"></span><strong></strong><span></span>`;
    (el.tooltip.children[0] as HTMLElement).style.background = cssColour(s.labelId);
    (el.tooltip.children[1] as HTMLElement).textContent = s.label;
    (el.tooltip.children[2] as HTMLElement).textContent = `${score} · ${s.area} px${s.wasFused ? ' · fused' : ''} · id ${s.id}`;
    el.tooltip.dataset.segment = String(s.id);
    el.tooltip.hidden = false;
    const rect = el.stage.getBoundingClientRect();
    el.tooltip.style.left = `${Math.min(e.clientX - rect.left + 14, rect.width - el.tooltip.offsetWidth - 4)}px`;
    el.tooltip.style.top = `${Math.max(4, e.clientY - rect.top - 30)}px`;
  };
  el.stage.addEventListener('pointermove', (e) => {
    if (drag && drag.id === e.pointerId && state.view) {
      state.view.view.pan((e.clientX - drag.x) * dpr(), (e.clientY - drag.y) * dpr());
      drag.x = e.clientX;
      drag.y = e.clientY;
      redraw();
      return;
    }
    hover(e).catch(showError);
  });
  el.stage.addEventListener('pointerleave', () => {
    hoverSeq++;
    el.tooltip.hidden = true;
    if (state.hover !== undefined) {
      state.hover = undefined;
      drawOverlayLabels();
      renderLegend();
    }
  });

  // Drop (images or checkpoint files / folders) and paste (images).
  let dragDepth = 0;
  document.addEventListener('dragenter', (e) => {
    e.preventDefault();
    dragDepth++;
    document.body.classList.add('drag-over');
  });
  document.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) document.body.classList.remove('drag-over');
  });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    dragDepth = 0;
    document.body.classList.remove('drag-over');
    const dt = e.dataTransfer;
    if (!dt) return;
    const entries = [...dt.items].map((i) => i.webkitGetAsEntry()).filter((x): x is FileSystemEntry => x !== null);
    const plain = [...dt.files];
    (async () => {
      const files = entries.some((x) => x.isDirectory) ? (await Promise.all(entries.map(filesOf))).flat() : plain;
      const image = files.find(isImageFile);
      if (files.some((f) => /\.safetensors$|^config\.json$/i.test(f.name)) || (!image && files.some(isCheckpointFile))) await loadCheckpoint(files.filter(isCheckpointFile));
      else if (image) useImageBlob(image, image.name);
      else {
        const url = dt.getData('text/uri-list') || dt.getData('text/plain');
        if (url) useImage(await rgbaFromUrl(url.trim()), url.trim());
      }
    })().catch(showError);
  });
  document.addEventListener('paste', (e) => {
    const f = [...(e.clipboardData?.files ?? [])].find(isImageFile);
    if (f) {
      e.preventDefault();
      useImageBlob(f, f.name || 'pasted image');
    }
  });

  // ---- start ----------------------------------------------------------------------------------
  writeControls();
  const ready = (async () => {
    let gpu: GpuContext;
    try {
      gpu = await requestGpu({
        onLost: (err: DeviceLostError) => showFatal('The GPU device was lost', err),
      });
    } catch (e) {
      showFatal(e instanceof NoAdapterError ? 'WebGPU has no adapter here' : 'WebGPU is not available', e);
      throw e;
    }
    state.gpu = gpu;
    el.adapter.textContent = gpu.adapterName;
    el.adapter.title = `${gpu.adapterInfo.description} (features: ${Object.entries(gpu.features).filter(([, v]) => v).map(([k]) => k).join(', ') || 'none'})`;
    await loadCheckpoint(DEFAULT_CHECKPOINT);
  })();
  ready.catch((e: unknown) => {
    if (!(e instanceof NoWebGpuError || e instanceof NoAdapterError)) showError(e);
  });
  return { state, ready, enqueue, loadCheckpoint, segment, segmentNow, setControls, redraw, overlayStyle, canvas: el.canvas };
}

async function main(): Promise<void> {
  const test = new URLSearchParams(location.search).has('test');
  // The test hooks wrap GPUDevice.prototype.createBuffer, so they load before any device exists.
  const hooks = test ? await import('./test-hooks.ts') : undefined;
  const tracker = hooks?.trackBuffers();
  const app = createApp();
  hooks?.expose(app, tracker);
  try {
    await app.ready;
  } catch {
    return; // shown on the page
  }
  if (!test) {
    const img = await rgbaFromUrl(`${DEFAULT_CHECKPOINT}example-0.png`);
    await app.segment(img, 'example-0.png');
  }
}

main().catch((e: unknown) => {
  const box = document.getElementById('error');
  const text = document.getElementById('error-text');
  if (box && text) {
    text.textContent = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    box.hidden = false;
  }
  if (!(e instanceof MaskgpuError)) console.error(e);
});
