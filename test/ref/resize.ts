import { at, checkLength } from './util.ts';

/**
 * torch F.interpolate(mode='bilinear', align_corners=False, antialias=False) on `planes` planes
 * of Hi x Wi (x: [planes, Hi, Wi] -> [planes, Ho, Wo]). Source coordinate per axis:
 * src = (dst + 0.5) * in/out - 0.5 clamped at 0; i0 = floor(src), i1 = min(i0 + 1, in - 1).
 */
export function resizeBilinearRef(
  x: Float32Array,
  planes: number,
  Hi: number,
  Wi: number,
  Ho: number,
  Wo: number,
): Float32Array {
  checkLength('resizeBilinearRef', 'x', x, planes * Hi * Wi);
  const axis = (inSize: number, outSize: number, dst: number): [number, number, number] => {
    const src = Math.max((dst + 0.5) * (inSize / outSize) - 0.5, 0);
    const i0 = Math.floor(src);
    const i1 = Math.min(i0 + 1, inSize - 1);
    return [i0, i1, src - i0];
  };
  const out = new Float32Array(planes * Ho * Wo);
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < Ho; oy++) {
      const [y0, y1, fy] = axis(Hi, Ho, oy);
      for (let ox = 0; ox < Wo; ox++) {
        const [x0, x1, fx] = axis(Wi, Wo, ox);
        const base = p * Hi * Wi;
        const top = (1 - fx) * at(x, base + y0 * Wi + x0) + fx * at(x, base + y0 * Wi + x1);
        const bottom = (1 - fx) * at(x, base + y1 * Wi + x0) + fx * at(x, base + y1 * Wi + x1);
        out[(p * Ho + oy) * Wo + ox] = (1 - fy) * top + fy * bottom;
      }
    }
  }
  return out;
}

/**
 * torch F.interpolate(mode='nearest'): src = min(floor(dst * scale), in - 1) with the scale and the
 * product in float32, as torch's CPU kernel computes them (scale = (float)in / out).
 */
export function nearestSourceIndex(inSize: number, outSize: number, dst: number): number {
  const scale = Math.fround(inSize / outSize);
  return Math.min(Math.floor(Math.fround(Math.fround(dst) * scale)), inSize - 1);
}

/** torch nearest resize of [planes, Hi, Wi] to [planes, Ho, Wo]. */
export function resizeNearestRef(
  x: Float32Array,
  planes: number,
  Hi: number,
  Wi: number,
  Ho: number,
  Wo: number,
): Float32Array {
  checkLength('resizeNearestRef', 'x', x, planes * Hi * Wi);
  const out = new Float32Array(planes * Ho * Wo);
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < Ho; oy++) {
      const iy = nearestSourceIndex(Hi, Ho, oy);
      for (let ox = 0; ox < Wo; ox++) {
        const ix = nearestSourceIndex(Wi, Wo, ox);
        out[(p * Ho + oy) * Wo + ox] = at(x, (p * Hi + iy) * Wi + ix);
      }
    }
  }
  return out;
}

/** Pillow's PRECISION_BITS for 8-bit resampling: 32 - 8 - 2. */
const PRECISION_BITS = 22;

/** Pillow's bilinear (triangle) filter, support 1. */
function triangle(x: number): number {
  const ax = Math.abs(x);
  return ax < 1 ? 1 - ax : 0;
}

export interface PilCoefficients {
  /** coefficients per output (the row stride of `coeffs`). */
  ksize: number;
  /** [out, 2]: first input index, number of inputs used. */
  bounds: Int32Array;
  /** [out, ksize]: fixed point weights (1 << 22 = 1.0), zero past the count. */
  coeffs: Int32Array;
}

/**
 * Pillow Resample.c `precompute_coeffs` (BILINEAR, box = whole image) followed by
 * `normalize_coeffs_8bpc`, for one axis. Antialiased: when shrinking, the triangle widens by in/out.
 */
export function pilResizeCoefficients(inSize: number, outSize: number): PilCoefficients {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1.0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const coeffs = new Int32Array(outSize * ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    const count = xmax - xmin;
    const w = new Float64Array(count);
    let sum = 0;
    for (let x = 0; x < count; x++) {
      w[x] = triangle((x + xmin - center + 0.5) * ss);
      sum += at(w, x);
    }
    for (let x = 0; x < count; x++) {
      const k = sum !== 0 ? at(w, x) / sum : at(w, x);
      const fixed = k < 0 ? Math.trunc(-0.5 + k * (1 << PRECISION_BITS)) : Math.trunc(0.5 + k * (1 << PRECISION_BITS));
      coeffs[xx * ksize + x] = fixed;
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = count;
  }
  return { ksize, bounds, coeffs };
}

/** Pillow clip8: round-half-up offset already added by the caller; arithmetic shift then clamp. */
function clip8(acc: number): number {
  const v = Math.floor(acc / (1 << PRECISION_BITS)); // == acc >> 22 for the int32 accumulator
  return v <= 0 ? 0 : v >= 255 ? 255 : v;
}

/**
 * One resampling pass of an [h, w, 4] u8 image along x (horizontal) or y (vertical), as
 * ImagingResample{Horizontal,Vertical}_8bpc: acc = (1 << 21) + sum pixel * k, then clip8.
 */
function pilPass(src: Uint8Array, h: number, w: number, outSize: number, horizontal: boolean): Uint8Array {
  const inSize = horizontal ? w : h;
  const { ksize, bounds, coeffs } = pilResizeCoefficients(inSize, outSize);
  const oh = horizontal ? h : outSize;
  const ow = horizontal ? outSize : w;
  const out = new Uint8Array(oh * ow * 4);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const o = horizontal ? x : y;
      const first = at(bounds, o * 2);
      const count = at(bounds, o * 2 + 1);
      for (let c = 0; c < 4; c++) {
        let acc = 1 << (PRECISION_BITS - 1);
        for (let i = 0; i < count; i++) {
          const sy = horizontal ? y : first + i;
          const sx = horizontal ? first + i : x;
          acc += at(src, (sy * w + sx) * 4 + c) * at(coeffs, o * ksize + i);
        }
        out[(y * ow + x) * 4 + c] = clip8(acc);
      }
    }
  }
  return out;
}

/**
 * Pillow `Image.resize((outW, outH), BILINEAR)` of an 8-bit image: horizontal pass first into a u8
 * intermediate (skipped if the width is unchanged), then vertical (skipped if the height is
 * unchanged). rgba: [h, w, 4] -> [outH, outW, 4]. All four channels are resampled independently,
 * which is exactly Pillow's RGB path for the colour channels (Pillow premultiplies alpha for RGBA
 * images; that is not reproduced here).
 */
export function pilResizeRef(rgba: Uint8Array, h: number, w: number, outH: number, outW: number): Uint8Array {
  checkLength('pilResizeRef', 'rgba', rgba, h * w * 4);
  let img = rgba;
  let curW = w;
  if (outW !== w) {
    img = pilPass(img, h, w, outW, true);
    curW = outW;
  }
  if (outH !== h) img = pilPass(img, h, curW, outH, false);
  return img === rgba ? rgba.slice() : img;
}
