/**
 * Checkpoint loading for the demo: the embedded shapes model, hub repos and folder URLs (typed or
 * from the preset list; `cache` keeps hub weights in the Cache API), picked or dropped files and
 * folders. A new model replaces the old one only once it has loaded.
 */
import { NoWebGpuError, SegmentationView, Segmenter, type GpuContext, type LoadProgress, type Task } from '../src/index.ts';
import { fmtBytes, fmtMs } from './dom.ts';
import type { DemoContext } from './state.ts';

export const DEFAULT_CHECKPOINT = './shapes/';

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

/** Reads every file below a dropped directory entry. */
export async function filesOf(entry: FileSystemEntry): Promise<File[]> {
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

/** Sets up the checkpoint panel; returns the queued loader. */
export function setupCheckpoint(ctx: DemoContext): (source: string | File[]) => Promise<void> {
  const { el, state, c2d, actions } = ctx;
  const showProgress = (p: LoadProgress): void => {
    state.progress = p;
    el.progressBox.hidden = false;
    el.progress.max = Math.max(p.total, 1);
    el.progress.value = p.loaded;
    el.progressText.textContent = `${fmtBytes(p.loaded)} / ${fmtBytes(p.total)} (${((100 * p.loaded) / Math.max(p.total, 1)).toFixed(0)}%) ${p.file.split('/').pop() ?? ''}`;
  };
  const requireGpu = (): GpuContext => {
    if (!state.gpu) throw new NoWebGpuError('WebGPU is not initialised (see the message above)');
    return state.gpu;
  };
  const loadCheckpointNow = async (source: string | File[]): Promise<void> => {
    const remote = state.remote;
    const gpu = remote ? undefined : requireGpu();
    await actions.stopWebcam();
    const name = typeof source === 'string' ? source : `${source.length} file(s): ${source.map((f) => f.name).join(', ')}`;
    ctx.setStatus(`loading ${typeof source === 'string' ? source : 'files'}…`);
    el.progress.value = 0;
    const t0 = performance.now();
    const remoteUrl = typeof source === 'string' && /^https?:/.test(source) && !source.startsWith(location.origin);
    const target = typeof source === 'string' ? new URL(source, location.href).href : source;
    let labels: Readonly<Record<number, string>>;
    let tensors: number;
    let bytes: number;
    if (remote) {
      // The model worker loads it; a failed load keeps the old one there too.
      await remote.load(target, remoteUrl && el.cache.checked, showProgress);
      ({ labels, tensors, bytes } = remote);
      state.result = undefined;
      state.hover = undefined;
    } else {
      const seg = await Segmenter.load(target, {
        gpu,
        onProgress: showProgress,
        profile: gpu?.features.timestampQuery ?? false,
        ...(remoteUrl && el.cache.checked ? { cache: true } : {}),
      });
      // Swap only once the new model is in: a failed load keeps the old one.
      const old = state.segmenter;
      state.view?.dispose();
      old?.dispose();
      state.result = undefined;
      state.hover = undefined;
      state.segmenter = seg;
      state.view = new SegmentationView(requireGpu(), el.canvas);
      ({ labels } = seg);
      ({ count: tensors, bytes } = seg.model.weights);
    }
    state.lastModelPass = undefined;
    state.checkpoint = typeof source === 'string' ? source : name;
    el.modelName.textContent = typeof source === 'string' ? source.replace(HF, 'hub:') : (source.find((f) => f.name.endsWith('.safetensors'))?.name ?? 'files');
    el.modelName.title = `${Object.keys(labels).length} labels; ${tensors} tensors, ${fmtBytes(bytes)} on the GPU`;
    const fuseIds = defaultFuse(labels);
    // Hub checkpoints say what they were trained for in their name (…-coco-panoptic, …-ade-semantic).
    const trained = /(semantic|instance|panoptic)/.exec(state.checkpoint)?.[1] as Task | undefined;
    actions.setControls({ fuseIds, fuse: fuseIds.length > 0, ...(trained ? { task: trained } : {}) });
    c2d.clearRect(0, 0, el.labels.width, el.labels.height);
    actions.setResultUi();
    ctx.setStatus(`loaded ${Object.keys(labels).length} labels in ${fmtMs(performance.now() - t0)}`);
    actions.rerun(); // the current image, with the new model (queued after this job)
  };
  const loadCheckpoint = (source: string | File[]): Promise<void> => ctx.enqueue(() => loadCheckpointNow(source));

  el.preset.addEventListener('change', () => {
    el.ckptUrl.value = el.preset.value === DEFAULT_CHECKPOINT ? '' : checkpointUrl(el.preset.value);
    loadCheckpoint(el.preset.value === DEFAULT_CHECKPOINT ? DEFAULT_CHECKPOINT : checkpointUrl(el.preset.value)).catch(ctx.showError);
  });
  el.ckptForm.addEventListener('submit', (e) => {
    e.preventDefault();
    if (el.ckptUrl.value.trim()) loadCheckpoint(checkpointUrl(el.ckptUrl.value)).catch(ctx.showError);
  });
  for (const input of [el.ckptDir, el.ckptFiles]) {
    input.addEventListener('change', () => {
      const files = [...(input.files ?? [])];
      input.value = '';
      if (files.length > 0) loadCheckpoint(files).catch(ctx.showError);
    });
  }
  return loadCheckpoint;
}
