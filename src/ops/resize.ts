/**
 * Resizing: torch-style bilinear (align_corners = False) on NCHW planes, and Pillow's 8-bit
 * BILINEAR resample (antialiased when shrinking) on packed RGBA8, bit exact with Pillow.
 */
import bilinearCode from '../../shaders/resize/bilinear.wgsl?raw';
import pilCode from '../../shaders/resize/pil-resample.wgsl?raw';
import { ShapeError } from '../errors.ts';
import { defineKernel } from '../gpu/kernel.ts';
import { numel, type GraphBuilder, type Tensor } from '../graph/builder.ts';
import { expectDtype, expectPositive, expectRank, outputFor, perElement } from './common.ts';

export const bilinearKernel = defineKernel({
  name: 'resize-bilinear',
  code: bilinearCode,
  params: [['planes', 'u32'], ['Hi', 'u32'], ['Wi', 'u32'], ['Ho', 'u32'], ['Wo', 'u32'], ['scaleY', 'f32'], ['scaleX', 'f32'], ['xOff', 'u32'], ['yOff', 'u32']],
  bindings: ['read', 'write'],
  overrides: ['WG', 'NEAREST'],
});

export const pilResampleKernel = defineKernel({
  name: 'pil-resample',
  code: pilCode,
  params: [['inH', 'u32'], ['inW', 'u32'], ['outH', 'u32'], ['outW', 'u32'], ['ksize', 'u32'], ['srcOff', 'u32'], ['dstOff', 'u32'], ['boundsOff', 'u32'], ['coeffOff', 'u32']],
  bindings: ['read', 'read', 'read', 'write'],
  overrides: ['WG', 'VERTICAL'],
});

const WG = 64;

/** x [..., Hi, Wi] -> [..., Ho, Wo], like F.interpolate(mode='bilinear', align_corners=False). */
export function resizeBilinear(g: GraphBuilder, x: Tensor, size: readonly [number, number], out?: Tensor): Tensor {
  return resize(g, x, size, false, out);
}

/** x [..., Hi, Wi] -> [..., Ho, Wo], like F.interpolate(mode='nearest'). */
export function resizeNearest(g: GraphBuilder, x: Tensor, size: readonly [number, number], out?: Tensor): Tensor {
  return resize(g, x, size, true, out);
}

function resize(g: GraphBuilder, x: Tensor, size: readonly [number, number], nearest: boolean, out: Tensor | undefined): Tensor {
  if (x.shape.length < 2) throw new ShapeError('resize-bilinear', x.name, '[..., H, W]', x.shape);
  const [Ho, Wo] = size;
  expectPositive('resize-bilinear', 'height', Ho);
  expectPositive('resize-bilinear', 'width', Wo);
  const Hi = x.shape[x.shape.length - 2] as number;
  const Wi = x.shape[x.shape.length - 1] as number;
  const lead = x.shape.slice(0, -2);
  const planes = numel(lead);
  const y = outputFor(g, 'resize-bilinear', [...lead, Ho, Wo], out);
  g.step({
    label: nearest ? 'resize-nearest' : 'resize-bilinear',
    kernel: bilinearKernel,
    constants: { WG, NEAREST: nearest },
    bindings: [x, y],
    // torch passes the scale as in/out computed in float (no scale_factor given).
    params: { planes, Hi, Wi, Ho, Wo, scaleY: Math.fround(Hi / Ho), scaleX: Math.fround(Wi / Wo), xOff: x.offset, yOff: y.offset },
    workgroups: perElement(planes * Ho * Wo, WG),
  });
  return y;
}

/** Pillow's fixed-point resample coefficients for one axis (Resample.c, 8 bpc). */
export interface PilCoefficients {
  readonly ksize: number;
  /** [out, 2]: first input index, number of taps. */
  readonly bounds: Int32Array;
  /** [out, ksize], 22 fraction bits. */
  readonly coeffs: Int32Array;
}

const PRECISION_BITS = 32 - 8 - 2;

/** Triangle-filter coefficients exactly as Pillow computes them (float64, then fixed point). */
export function pilCoefficients(inSize: number, outSize: number): PilCoefficients {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1.0 * filterscale; // bilinear filter support is 1
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const coeffs = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1.0 / filterscale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const v = t < 1 ? 1 - t : 0;
      w[x] = v;
      ww += v;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax && ww !== 0 ? (w[x] as number) / ww : 0;
      coeffs[xx * ksize + x] = Math.trunc(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, coeffs };
}

/**
 * Pillow `Image.resize((W, H), BILINEAR)` of an RGBA8 image packed one pixel per u32:
 * src [h, w] u32 -> [H, W] u32. Horizontal pass first, into an 8-bit intermediate, as Pillow.
 */
export function pilResize(g: GraphBuilder, src: Tensor, size: readonly [number, number], out?: Tensor): Tensor {
  expectRank('pil-resize', src, 2, '[h, w] packed RGBA8');
  expectDtype('pil-resize', src, 'u32');
  const [inH, inW] = src.shape as [number, number];
  const [outH, outW] = size;
  expectPositive('pil-resize', 'height', outH);
  expectPositive('pil-resize', 'width', outW);
  const pass = (x: Tensor, vertical: boolean, target: Tensor | undefined): Tensor => {
    const [h, w] = x.shape as [number, number];
    const oh = vertical ? outH : h;
    const ow = vertical ? w : outW;
    const c = pilCoefficients(vertical ? h : w, vertical ? oh : ow);
    const bounds = g.constant(`pil-bounds-${vertical ? 'v' : 'h'}-${vertical ? h : w}-${vertical ? oh : ow}`, [c.bounds.length], c.bounds);
    const coeffs = g.constant(`pil-coeffs-${vertical ? 'v' : 'h'}-${vertical ? h : w}-${vertical ? oh : ow}`, [c.coeffs.length], c.coeffs);
    const y = target ? g.reshape(target, [oh, ow]) : g.empty(vertical ? 'pil-vertical' : 'pil-horizontal', [oh, ow], 'u32');
    g.step({
      label: vertical ? 'pil-resample-v' : 'pil-resample-h',
      kernel: pilResampleKernel,
      constants: { WG, VERTICAL: vertical },
      bindings: [x, bounds, coeffs, y],
      params: { inH: h, inW: w, outH: oh, outW: ow, ksize: c.ksize, srcOff: x.offset, dstOff: y.offset, boundsOff: bounds.offset, coeffOff: coeffs.offset },
      workgroups: perElement(oh * ow, WG),
    });
    return y;
  };
  const needH = outW !== inW;
  const needV = outH !== inH;
  if (!needH && !needV) return src;
  const mid = needH ? pass(src, false, needV ? undefined : out) : src;
  return needV ? pass(mid, true, out) : mid;
}
