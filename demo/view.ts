/**
 * The image view: the WebGPU canvas (overlay composed on the GPU) under a 2D canvas (segment
 * names, the input preview while the model runs); resize, wheel zoom about the pointer, drag pan,
 * double-click / button fit, hover hit-testing with a tooltip, PNG exports.
 */
import { ViewTransform, cssColour, drawLabels } from '../src/index.ts';
import { dpr } from './dom.ts';
import { download, pngBlob, type DemoImage } from './images.ts';
import { renderLegend } from './legend.ts';
import type { DemoContext } from './state.ts';

export interface ViewActions {
  drawOverlayLabels(): void;
  /** Redraws overlay and labels with the current view (not while a job is presenting). */
  redraw(): void;
  /** The input image on the 2D canvas while the model runs (the WebGPU canvas shows results only). */
  preview(img: DemoImage): void;
}

/** What the page draws through: the SegmentationView here, or the model worker's (RemoteModel). */
interface Viewer {
  readonly view: ViewTransform;
  draw(): void;
  toImage(x: number, y: number): [number, number] | undefined;
}

export function setupView(ctx: DemoContext): ViewActions {
  const { el, state, c2d, actions } = ctx;
  const active = (): Viewer | undefined => state.view ?? state.remote;

  const drawOverlayLabels = (): void => {
    const r = state.result;
    const v = active();
    if (!r || !v) return;
    drawLabels(c2d, v.view, r.segments, state.hover);
  };
  const redraw = (): void => {
    if (state.showing) return;
    active()?.draw();
    drawOverlayLabels();
  };
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
    const remote = state.remote;
    if (el.labels.width === w && el.labels.height === h && (remote ? remote.canvasWidth === w && remote.canvasHeight === h : el.canvas.width === w && el.canvas.height === h)) return;
    // A canvas transferred to the model worker is resized there (with the next draw).
    if (remote) remote.resize(w, h);
    else (el.canvas.width = w), (el.canvas.height = h);
    el.labels.width = w;
    el.labels.height = h;
    const r = state.result;
    const v = active();
    if (r && v) v.view.fit(r.width, r.height, w, h);
    redraw();
  };
  new ResizeObserver(resize).observe(el.stage);
  resize();

  const fit = (): void => {
    const r = state.result;
    const v = active();
    if (r && v) v.view.fit(r.width, r.height, el.labels.width, el.labels.height);
    redraw();
  };
  el.fit.addEventListener('click', fit);
  const exportPng = (kind: 'overlay' | 'labels'): void => {
    const r = state.result;
    if (!r) return;
    const base = (state.image?.name ?? 'image').replace(/\.[a-z]+$/i, '').replace(/[^\w.-]+/g, '_');
    ctx.enqueue(async () => (kind === 'overlay' ? r.overlay(actions.overlayStyle()) : r.labelImage()))
      .then(pngBlob)
      .then((blob) => download(blob, `${base}-${r.task}-${kind === 'overlay' ? 'overlay' : 'labels'}.png`))
      .catch(ctx.showError);
  };
  el.exportOverlay.addEventListener('click', () => exportPng('overlay'));
  el.exportLabels.addEventListener('click', () => exportPng('labels'));

  // Wheel zoom about the pointer, drag pan, double-click fit, hover hit-testing.
  const local = (e: MouseEvent): [number, number] => {
    const rect = el.stage.getBoundingClientRect();
    return [(e.clientX - rect.left) * dpr(), (e.clientY - rect.top) * dpr()];
  };
  el.stage.addEventListener('wheel', (e) => {
    const v = active();
    if (!state.result || !v) return;
    e.preventDefault();
    const [x, y] = local(e);
    v.view.zoom(Math.exp(-e.deltaY * 0.0015), x, y);
    el.tooltip.hidden = true;
    redraw();
  }, { passive: false });
  let drag: { x: number; y: number; id: number } | undefined;
  let hoverSeq = 0;
  el.stage.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 || !active()) return;
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
    const view = active();
    if (!r || !view) return;
    const [x, y] = local(e);
    const at = view.toImage(x, y);
    const seq = ++hoverSeq;
    const s = at ? await r.segmentAt(at[0], at[1]) : undefined;
    if (seq !== hoverSeq || r !== state.result) return;
    if (s?.id !== state.hover) {
      state.hover = s?.id;
      drawOverlayLabels();
      renderLegend(ctx);
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
    const v = active();
    if (drag && drag.id === e.pointerId && v) {
      v.view.pan((e.clientX - drag.x) * dpr(), (e.clientY - drag.y) * dpr());
      drag.x = e.clientX;
      drag.y = e.clientY;
      redraw();
      return;
    }
    hover(e).catch(ctx.showError);
  });
  el.stage.addEventListener('pointerleave', () => {
    hoverSeq++;
    el.tooltip.hidden = true;
    if (state.hover !== undefined) {
      state.hover = undefined;
      drawOverlayLabels();
      renderLegend(ctx);
    }
  });

  return { drawOverlayLabels, redraw, preview };
}
