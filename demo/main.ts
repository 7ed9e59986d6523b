/**
 * The maskgpu demo page: pick a checkpoint (embedded shapes model, a folder / hub URL, picked or
 * dropped files), segment an image (file, drop, paste, webcam, generated shapes scene), look at the
 * overlay (WebGPU canvas + 2D labels, hover hit-testing, wheel zoom, drag pan), export PNGs.
 * The page's state lives in one typed object (state.ts); GPU work runs one job at a time through
 * `enqueue`. This file wires the concerns together and segments; they live beside it:
 * checkpoint.ts (loading), sources.ts and webcam.ts (image sources), controls.ts, view.ts (canvas,
 * zoom, hover, exports), legend.ts (legend, timings).
 * With `?test` in the URL, `./test-hooks.ts` is loaded first and exposes `window.__maskgpu`.
 */
import {
  MaskgpuError, NoAdapterError, NoWebGpuError, requestGpu,
  type DeviceLostError, type GpuContext, type SegmentationResult,
} from '../src/index.ts';
import { DEFAULT_CHECKPOINT, setupCheckpoint } from './checkpoint.ts';
import { setupControls } from './controls.ts';
import { fmtMs, queryElements } from './dom.ts';
import { rgbaFromUrl, type DemoImage } from './images.ts';
import { setResultUi } from './legend.ts';
import { setupSources } from './sources.ts';
import { RemoteModel } from './remote-model.ts';
import { initialState, type DemoActions, type DemoApp, type DemoContext, type DemoResult, type SegmentExtra } from './state.ts';
import { setupView } from './view.ts';
import { setupWebcam } from './webcam.ts';

export { DEFAULT_CHECKPOINT, checkpointUrl, defaultFuse } from './checkpoint.ts';
export type { Controls, DemoApp, DemoResult, DemoState, SegmentExtra, Webcam } from './state.ts';

export interface AppOptions {
  /** Run the model in a Web Worker (model-worker.ts) on a transferred canvas; the page keeps the UI. */
  readonly worker?: boolean;
}

export function createApp(options: AppOptions = {}): DemoApp {
  const el = queryElements();
  const c2d = el.labels.getContext('2d');
  if (!c2d) throw new Error('demo: no 2D canvas context');
  const state = initialState();

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
  // The link reloads the page in the other mode (the canvas can only be transferred once).
  const otherMode = new URLSearchParams(location.search);
  if (options.worker) otherMode.delete('worker');
  else otherMode.set('worker', '');
  el.workerMode.href = `?${otherMode.toString().replace(/=(?=&|$)/g, '')}`;
  el.workerMode.textContent = options.worker ? 'model on the main thread' : 'model in a worker';

  // ---- job queue ------------------------------------------------------------------------------
  let chain: Promise<unknown> = Promise.resolve();
  const enqueue = <T>(job: () => Promise<T>): Promise<T> => {
    const next = chain.then(job, job);
    chain = next.catch(() => undefined);
    return next;
  };

  // ---- the concerns, wired through ctx.actions (filled in below; called only from events and jobs)
  const actions = {} as DemoActions;
  const ctx: DemoContext = { el, c2d, state, enqueue, setStatus, showError, actions };
  const controls = setupControls(ctx);
  const canvasView = setupView(ctx);
  const loadCheckpoint = setupCheckpoint(ctx);
  const webcam = setupWebcam(ctx);
  const sources = setupSources(ctx);

  // ---- segmentation ---------------------------------------------------------------------------
  /** Main-thread results carry their GPU buffer (SegmentationView composes from it); worker results do not. */
  const onGpuHere = (r: DemoResult): r is SegmentationResult => 'gpuBuffer' in r;
  const segmentNow = async (image: DemoImage, name: string, extra: SegmentExtra = {}): Promise<DemoResult> => {
    const remote = state.remote;
    const seg = state.segmenter;
    const view = state.view;
    if (!remote && (!seg || !view)) throw new MaskgpuError('no checkpoint loaded');
    setStatus(`segmenting ${name} (${image.width}×${image.height}, ${state.controls.task})${remote ? ' in the model worker' : ''}…`);
    // Same image, same model, other controls: post-process the last model output again.
    const again = extra.again === true && state.lastModelPass === image;
    const show = extra.show !== false;
    const options = controls.segmentOptions(extra);
    let r: DemoResult;
    let full: SegmentationResult | undefined;
    if (remote) r = await remote.segment(image, options, controls.overlayStyle(), again, show);
    else if (seg) r = full = again ? await seg.resegment(options) : await seg.segment(image, options);
    else throw new MaskgpuError('no checkpoint loaded');
    state.lastModelPass = image;
    if (show) {
      state.showing = true;
      try {
        state.image = { pixels: image, name };
        state.result = r;
        state.hover = undefined;
        el.tooltip.hidden = true;
        if (full && seg && view) {
          await view.show(seg, full, controls.overlayStyle());
          await full.labelMap(); // read once now (hover hit-testing), before the next run reuses the buffer
        }
      } finally {
        state.showing = false;
      }
      canvasView.drawOverlayLabels();
      setResultUi(ctx);
    }
    setStatus(`${r.segments.length} segment(s), ${fmtMs(r.timings.total ?? 0)}`);
    return r;
  };
  const segment = (image: DemoImage, name: string, extra?: SegmentExtra): Promise<DemoResult> => enqueue(() => segmentNow(image, name, extra));

  let rerunQueued = false;
  /** Segments the current image again with the current controls (changes made while waiting coalesce); `again`: only the controls changed (no model pass). */
  const rerun = (again = false): void => {
    if (state.webcam) {
      webcam.restartWebcam();
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
    if (!r || state.webcam) return;
    const remote = state.remote;
    const seg = state.segmenter;
    if (!remote && !seg) return;
    enqueue(async () => {
      if (state.result !== r) return;
      state.showing = true;
      try {
        if (remote) await remote.restyle(controls.overlayStyle());
        else if (seg && state.view && onGpuHere(r)) await state.view.show(seg, r, controls.overlayStyle());
      } finally {
        state.showing = false;
      }
      canvasView.drawOverlayLabels();
    }).catch(showError);
  };

  Object.assign(actions, {
    segment, rerun, restyle,
    setControls: controls.setControls, segmentOptions: controls.segmentOptions, overlayStyle: controls.overlayStyle,
    drawOverlayLabels: canvasView.drawOverlayLabels, redraw: canvasView.redraw, preview: canvasView.preview, setResultUi: () => setResultUi(ctx),
    loadCheckpoint, useImage: sources.useImage, useImageBlob: sources.useImageBlob,
    stopWebcam: webcam.stopWebcam, restartWebcam: webcam.restartWebcam,
  } satisfies DemoActions);

  // ---- start ----------------------------------------------------------------------------------
  controls.writeControls();
  const ready = (async () => {
    if (options.worker) {
      let remote: RemoteModel;
      try {
        remote = await RemoteModel.start(el.canvas);
      } catch (e) {
        showFatal('WebGPU is not available in a worker here', e);
        throw e;
      }
      state.remote = remote;
      el.webcam.disabled = true;
      el.webcam.title = 'the webcam runs with the model on the main thread: open the page without ?worker';
      el.adapter.textContent = `${remote.info.adapter} (model in a Web Worker)`;
      el.adapter.title = remote.info.description;
      await loadCheckpoint(DEFAULT_CHECKPOINT);
      return;
    }
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
  return { state, ready, enqueue, loadCheckpoint, segment, segmentNow, setControls: controls.setControls, redraw: canvasView.redraw, overlayStyle: controls.overlayStyle, canvas: el.canvas };
}

async function main(): Promise<void> {
  const test = new URLSearchParams(location.search).has('test');
  // The test hooks wrap GPUDevice.prototype.createBuffer, so they load before any device exists.
  const worker = new URLSearchParams(location.search).has('worker');
  const hooks = test ? await import('./test-hooks.ts') : undefined;
  const tracker = hooks?.trackBuffers();
  const app = createApp({ worker });
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
