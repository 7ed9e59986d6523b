/** The panels beside the image: the legend (labels, counts, areas), per-stage timings, image info. */
import { legendEntries } from '../src/index.ts';
import { fmtMs } from './dom.ts';
import type { DemoContext } from './state.ts';

export function renderLegend(ctx: DemoContext): void {
  const { el, state } = ctx;
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
}

export function renderTimings(ctx: DemoContext): void {
  const { el, state } = ctx;
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
}

/** Legend, timings and the export buttons for the current result. */
export function setResultUi(ctx: DemoContext): void {
  const has = ctx.state.result !== undefined;
  ctx.el.exportOverlay.disabled = !has;
  ctx.el.exportLabels.disabled = !has;
  renderLegend(ctx);
  renderTimings(ctx);
}
