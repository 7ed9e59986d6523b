/** Resized RGBA8 image -> normalised, zero-padded CHW planes (one image of a batch). */
import code from '../../shaders/preprocess/image-to-tensor.wgsl?raw';
import { ShapeError } from '../errors.ts';
import { defineKernel } from '../gpu/kernel.ts';
import type { GraphBuilder, Tensor } from '../graph/builder.ts';
import { expectDtype, expectShape, perElement } from './common.ts';

export const imageToTensorKernel = defineKernel({
  name: 'image-to-tensor',
  code,
  params: [['h', 'u32'], ['w', 'u32'], ['Hp', 'u32'], ['Wp', 'u32'], ['srcOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'read', 'write'],
  overrides: ['WG'],
});

const WG = 256;

/** src u32 [h, w] (RGBA8), lut f32 [3, 256] -> writes dst [3, Hp, Wp] (a view, e.g. one image of a batch). */
export function imageToTensor(g: GraphBuilder, src: Tensor, lut: Tensor, dst: Tensor): void {
  expectDtype('image-to-tensor', src, 'u32');
  expectShape('image-to-tensor', lut, [3, 256]);
  const [h, w] = src.shape as [number, number];
  const [c, Hp, Wp] = dst.shape as [number, number, number];
  if (dst.shape.length !== 3 || c !== 3 || Hp < h || Wp < w) throw new ShapeError('image-to-tensor', dst.name, `[3, >= ${h}, >= ${w}]`, dst.shape);
  g.step({
    label: 'image-to-tensor',
    kernel: imageToTensorKernel,
    constants: { WG },
    bindings: [src, lut, dst],
    params: { h, w, Hp, Wp, srcOff: src.offset, yOff: dst.offset },
    workgroups: perElement(3 * Hp * Wp, WG),
  });
}
