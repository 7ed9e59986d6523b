/** Segmentation overlay composed on the GPU: image + label map + colour table -> RGBA8. */
import code from '../../shaders/render/overlay.wgsl?raw';
import { defineKernel } from '../gpu/kernel.ts';
import type { GraphBuilder, Tensor } from '../graph/builder.ts';
import { expectDtype, expectRank, perElement } from './common.ts';

export const overlayKernel = defineKernel({
  name: 'overlay',
  code,
  params: [
    ['h', 'u32'], ['w', 'u32'], ['ih', 'u32'], ['iw', 'u32'],
    ['base', 'i32'], ['count', 'u32'], ['opacity', 'f32'], ['borders', 'u32'],
    ['background', 'i32'], ['imgOff', 'u32'], ['mapOff', 'u32'], ['tOff', 'u32'],
    ['yOff', 'u32'],
  ],
  bindings: ['read', 'read', 'read', 'write'],
  overrides: ['WG'],
});

const WG = 256;

export interface OverlayOptions {
  /** id of colours[0]. */
  readonly base: number;
  /** Ids drawn as the plain image. */
  readonly background: number;
  readonly opacity: number;
  readonly borders: boolean;
}

/** image u32 [ih, iw], map i32 [h, w], colours u32 [count] -> u32 [h, w] RGBA8. */
export function overlay(g: GraphBuilder, image: Tensor, map: Tensor, colours: Tensor, o: OverlayOptions): Tensor {
  expectRank('overlay', image, 2, '[height, width] RGBA8');
  expectRank('overlay', map, 2, '[height, width] ids');
  expectDtype('overlay', map, 'i32');
  const [ih, iw] = image.shape as [number, number];
  const [h, w] = map.shape as [number, number];
  const y = g.empty('overlay', [h, w], 'u32');
  g.step({
    label: 'overlay', kernel: overlayKernel, constants: { WG },
    bindings: [image, map, colours, y],
    params: {
      h, w, ih, iw, base: o.base, count: colours.shape[0] as number, opacity: o.opacity, borders: o.borders ? 1 : 0,
      background: o.background, imgOff: image.offset, mapOff: map.offset, tOff: colours.offset, yOff: y.offset,
    },
    workgroups: perElement(h * w, WG),
  });
  return y;
}
