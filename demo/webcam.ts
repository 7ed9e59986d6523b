/**
 * The webcam as an image source: frames go through segmenter.video() (one in flight, the rest
 * dropped) with the current controls; a controls change restarts the loop on the same stream.
 */
import { MaskgpuError } from '../src/index.ts';
import type { DemoContext, Webcam } from './state.ts';

export interface WebcamActions {
  /** Stops the camera; resolves when the GPU is free again. */
  stopWebcam(): Promise<void>;
  /** New controls: a new loop on the same stream (segmenter.video() takes its options once). */
  restartWebcam(): void;
}

export function setupWebcam(ctx: DemoContext): WebcamActions {
  const { el, state, actions } = ctx;
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
    ctx.setStatus(`webcam stopped after ${w.frames} frame(s)`);
  };
  const startLoop = (w: Webcam): void => {
    const seg = state.segmenter;
    if (!seg) throw new MaskgpuError('no checkpoint loaded');
    state.lastModelPass = undefined; // webcam frames replace the segmenter's last model output
    const handle = seg.video(el.video, async (r) => {
      const t = performance.now();
      if (state.webcam === w && w.handle === handle && state.view) {
        state.showing = true;
        try {
          state.result = r;
          await state.view.show(seg, r, actions.overlayStyle());
          await r.labelMap(); // for hover, read while this loop holds the GPU
        } finally {
          state.showing = false;
        }
        actions.drawOverlayLabels();
        actions.setResultUi();
        w.frames++;
        w.frameMs = (r.timings.total ?? 0) + (performance.now() - t);
        ctx.setStatus(`webcam: ${w.frames} frame(s), ${((1000 * w.frames) / (performance.now() - w.t0)).toFixed(1)} fps, ${handle.dropped} dropped`);
      }
      w.onFrame?.();
    }, actions.segmentOptions());
    w.handle = handle;
  };
  const startWebcam = async (): Promise<void> => {
    if (state.remote) throw new MaskgpuError('the webcam runs with the model on the main thread: open the page without ?worker');
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
    ctx.setStatus('webcam: waiting for the first frame…');
    startLoop(w);
  };
  const restartWebcam = (): void => {
    const w = state.webcam;
    if (!w) return;
    ctx.enqueue(async () => {
      if (state.webcam !== w) return;
      w.handle?.stop();
      await settle(w);
      if (state.webcam === w) startLoop(w);
    }).catch(ctx.showError);
  };

  el.webcam.addEventListener('click', () => {
    const job = state.webcam ? stopWebcam : startWebcam;
    ctx.enqueue(job).catch((e: unknown) => {
      ctx.showError(e);
      void stopWebcam();
    });
  });
  return { stopWebcam, restartWebcam };
}
