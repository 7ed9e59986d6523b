/**
 * The controls panel: task, thresholds, fused labels, overlay style. `state.controls` is the
 * truth; the inputs mirror it. A task / threshold change post-processes the last model output
 * again (no model pass); an opacity / borders change only recomposes the overlay.
 */
import type { SegmentOptions, Task } from '../src/index.ts';
import type { Controls, DemoContext, SegmentExtra } from './state.ts';

export interface ControlActions {
  setControls(c: Partial<Controls>): void;
  segmentOptions(extra?: SegmentExtra): SegmentOptions;
  /** How results are composed (the readback hooks and exports use the same style as the view). */
  overlayStyle(): { opacity: number; borders: boolean };
  /** Writes state.controls into the inputs. */
  writeControls(): void;
}

const parseIds = (s: string): number[] => s.split(/[\s,]+/).filter((x) => x.length > 0).map(Number).filter((n) => Number.isInteger(n) && n >= 0);

export function setupControls(ctx: DemoContext): ControlActions {
  const { el, state, actions } = ctx;
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
  const overlayStyle = (): { opacity: number; borders: boolean } => ({ opacity: state.controls.opacity, borders: state.controls.borders });

  el.task.addEventListener('change', () => (readControls(), actions.rerun(true)));
  for (const input of [el.threshold, el.maskThreshold, el.overlap]) {
    input.addEventListener('input', readControls);
    input.addEventListener('change', () => (readControls(), actions.rerun(true)));
  }
  el.fuse.addEventListener('change', () => (readControls(), actions.rerun(true)));
  el.fuseIds.addEventListener('change', () => (readControls(), actions.rerun(true)));
  el.opacity.addEventListener('input', () => (readControls(), actions.restyle()));
  el.borders.addEventListener('change', () => (readControls(), actions.restyle()));
  el.run.addEventListener('click', () => actions.rerun());

  return { setControls, segmentOptions, overlayStyle, writeControls };
}
