import { at, checkLength } from './util.ts';

export interface Conv2dOptions {
  cout: number;
  kh: number;
  kw: number;
  strideY: number;
  strideX: number;
  padY: number;
  padX: number;
}

/**
 * PyTorch Conv2d (groups 1, dilation 1, zero padding):
 * y[b, co, oy, ox] = bias[co] + sum_{ci, ky, kx} w[co, ci, ky, kx] * x[b, ci, oy*sy - py + ky, ox*sx - px + kx].
 * x: [B, Cin, H, W], w: [Cout, Cin, KH, KW], bias: [Cout] or null; Ho = floor((H + 2py - KH) / sy) + 1.
 */
export function conv2dRef(
  x: Float32Array,
  shape: readonly [number, number, number, number],
  w: Float32Array,
  bias: Float32Array | null,
  o: Conv2dOptions,
): { data: Float32Array; shape: [number, number, number, number] } {
  const [B, Cin, H, W] = shape;
  const { cout, kh, kw, strideY, strideX, padY, padX } = o;
  checkLength('conv2dRef', 'x', x, B * Cin * H * W);
  checkLength('conv2dRef', 'w', w, cout * Cin * kh * kw);
  if (bias) checkLength('conv2dRef', 'bias', bias, cout);
  const Ho = Math.floor((H + 2 * padY - kh) / strideY) + 1;
  const Wo = Math.floor((W + 2 * padX - kw) / strideX) + 1;
  if (Ho <= 0 || Wo <= 0) throw new Error(`conv2dRef: empty output ${Ho}x${Wo}`);
  const out = new Float32Array(B * cout * Ho * Wo);
  for (let b = 0; b < B; b++) {
    for (let co = 0; co < cout; co++) {
      for (let oy = 0; oy < Ho; oy++) {
        for (let ox = 0; ox < Wo; ox++) {
          let sum = bias ? at(bias, co) : 0;
          for (let ci = 0; ci < Cin; ci++) {
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * strideY - padY + ky;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * strideX - padX + kx;
                if (ix < 0 || ix >= W) continue;
                sum +=
                  at(w, ((co * Cin + ci) * kh + ky) * kw + kx) * at(x, ((b * Cin + ci) * H + iy) * W + ix);
              }
            }
          }
          out[((b * cout + co) * Ho + oy) * Wo + ox] = sum;
        }
      }
    }
  }
  return { data: out, shape: [B, cout, Ho, Wo] };
}

/**
 * torch nn.MaxPool2d (dilation 1, ceil_mode False, padding = -inf): y[p, oy, ox] = max over the
 * in-range window x[p, oy*s - pad + ky, ox*s - pad + kx]. x: [planes, H, W].
 */
export function maxPoolRef(x: Float32Array, planes: number, H: number, W: number, k: number, s: number, pad: number): { y: Float32Array; Ho: number; Wo: number } {
  const Ho = Math.floor((H + 2 * pad - k) / s) + 1;
  const Wo = Math.floor((W + 2 * pad - k) / s) + 1;
  const y = new Float32Array(planes * Ho * Wo);
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        let m = -Infinity;
        for (let ky = 0; ky < k; ky++) {
          const iy = oy * s - pad + ky;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < k; kx++) {
            const ix = ox * s - pad + kx;
            if (ix < 0 || ix >= W) continue;
            m = Math.max(m, x[(p * H + iy) * W + ix] as number);
          }
        }
        y[(p * Ho + oy) * Wo + ox] = m;
      }
    }
  }
  return { y, Ho, Wo };
}
