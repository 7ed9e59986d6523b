/** The demo page's DOM elements (looked up once, by id) and number formatting. */

export function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo: #${id} is missing from index.html`);
  return el as T;
}

export function queryElements() {
  return {
    adapter: $('adapter'), modelName: $('model-name'), status: $('status'), workerMode: $<HTMLAnchorElement>('worker-mode'),
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
}

export type DemoElements = ReturnType<typeof queryElements>;

export const fmtMs = (ms: number): string => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
export const fmtBytes = (b: number): string => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`);

/** Device pixels per CSS pixel. */
export const dpr = (): number => globalThis.devicePixelRatio || 1;
