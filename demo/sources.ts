/**
 * Image sources: file picker, example thumbnails, generated shapes scenes, drag and drop (images,
 * image URLs, or checkpoint files and folders) and paste. The webcam is in webcam.ts.
 */
import { filesOf } from './checkpoint.ts';
import { isCheckpointFile, isImageFile, rgbaFromBlob, rgbaFromUrl, type DemoImage } from './images.ts';
import { generateShapes } from './shapes-generator.ts';
import type { DemoContext } from './state.ts';

export interface SourceActions {
  /** Makes `img` the current image and segments it (queued). */
  useImage(img: DemoImage, name: string): void;
  useImageBlob(blob: Blob, name: string): void;
}

export function setupSources(ctx: DemoContext): SourceActions {
  const { el, state, actions } = ctx;
  const useImage = (img: DemoImage, name: string): void => {
    if (state.webcam) ctx.enqueue(actions.stopWebcam).catch(ctx.showError);
    state.image = { pixels: img, name };
    if (!state.result) actions.preview(img);
    ctx.setStatus(`waiting to segment ${name}…`);
    void actions.segment(img, name).catch(ctx.showError);
  };
  const useImageBlob = (blob: Blob, name: string): void => {
    rgbaFromBlob(blob, name).then((img) => useImage(img, name), ctx.showError);
  };

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
    if (url) rgbaFromUrl(url).then((img) => useImage(img, url.split('/').pop() ?? url), ctx.showError);
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
      if (files.some((f) => /\.safetensors$|^config\.json$/i.test(f.name)) || (!image && files.some(isCheckpointFile))) await actions.loadCheckpoint(files.filter(isCheckpointFile));
      else if (image) useImageBlob(image, image.name);
      else {
        const url = dt.getData('text/uri-list') || dt.getData('text/plain');
        if (url) useImage(await rgbaFromUrl(url.trim()), url.trim());
      }
    })().catch(ctx.showError);
  });
  document.addEventListener('paste', (e) => {
    const f = [...(e.clipboardData?.files ?? [])].find(isImageFile);
    if (f) {
      e.preventDefault();
      useImageBlob(f, f.name || 'pasted image');
    }
  });
  return { useImage, useImageBlob };
}
