import { at, checkLength } from './util.ts';

const mod = (a: number, n: number): number => ((a % n) + n) % n;

/**
 * Swin window partition of x [B, H, W, C]: zero-pad bottom/right to multiples of ws (Hp x Wp),
 * torch.roll by (-shift, -shift) on (H, W), i.e. rolled[y][x] = padded[(y + shift) % Hp][(x + shift) % Wp],
 * then cut windows row-major. Output [B * nW, ws*ws, C], nW = (Hp/ws) * (Wp/ws), window w = wy * (Wp/ws) + wx.
 */
export function windowPartitionRef(
  x: Float32Array,
  B: number,
  H: number,
  W: number,
  C: number,
  ws: number,
  shift: number,
): Float32Array {
  checkLength('windowPartitionRef', 'x', x, B * H * W * C);
  const Hp = Math.ceil(H / ws) * ws;
  const Wp = Math.ceil(W / ws) * ws;
  const nWh = Hp / ws;
  const nWw = Wp / ws;
  const N = ws * ws;
  const out = new Float32Array(B * nWh * nWw * N * C);
  for (let b = 0; b < B; b++) {
    for (let wy = 0; wy < nWh; wy++) {
      for (let wx = 0; wx < nWw; wx++) {
        const win = (b * nWh + wy) * nWw + wx;
        for (let iy = 0; iy < ws; iy++) {
          for (let ix = 0; ix < ws; ix++) {
            const sy = mod(wy * ws + iy + shift, Hp);
            const sx = mod(wx * ws + ix + shift, Wp);
            if (sy >= H || sx >= W) continue; // zero padding
            for (let c = 0; c < C; c++) {
              out[(win * N + iy * ws + ix) * C + c] = at(x, ((b * H + sy) * W + sx) * C + c);
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * Inverse of windowPartitionRef plus residual: merge windows into the padded Hp x Wp map, roll by
 * (+shift, +shift), crop to H x W, add residual [B, H, W, C]. Output [B, H, W, C].
 */
export function windowReverseRef(
  win: Float32Array,
  B: number,
  H: number,
  W: number,
  C: number,
  ws: number,
  shift: number,
  residual: Float32Array,
): Float32Array {
  const Hp = Math.ceil(H / ws) * ws;
  const Wp = Math.ceil(W / ws) * ws;
  const nWh = Hp / ws;
  const nWw = Wp / ws;
  const N = ws * ws;
  checkLength('windowReverseRef', 'win', win, B * nWh * nWw * N * C);
  checkLength('windowReverseRef', 'residual', residual, B * H * W * C);
  const out = new Float32Array(B * H * W * C);
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        // rolled back: out[y] = merged[(y - shift) mod Hp]
        const my = mod(y - shift, Hp);
        const mx = mod(x - shift, Wp);
        const w = (b * nWh + Math.floor(my / ws)) * nWw + Math.floor(mx / ws);
        const t = (my % ws) * ws + (mx % ws);
        for (let c = 0; c < C; c++) {
          const i = ((b * H + y) * W + x) * C + c;
          out[i] = at(residual, i) + at(win, (w * N + t) * C + c);
        }
      }
    }
  }
  return out;
}

/**
 * Relative position bias [heads, N, N] (N = ws*ws) gathered from table [(2ws-1)^2, heads] with the
 * standard Swin index (yi - yj + ws - 1) * (2ws - 1) + (xi - xj + ws - 1), token i = yi * ws + xi.
 */
export function relPosBiasRef(table: Float32Array, ws: number, heads: number): Float32Array {
  const side = 2 * ws - 1;
  checkLength('relPosBiasRef', 'table', table, side * side * heads);
  const N = ws * ws;
  const out = new Float32Array(heads * N * N);
  for (let i = 0; i < N; i++) {
    const yi = Math.floor(i / ws);
    const xi = i % ws;
    for (let j = 0; j < N; j++) {
      const yj = Math.floor(j / ws);
      const xj = j % ws;
      const index = (yi - yj + ws - 1) * side + (xi - xj + ws - 1);
      for (let h = 0; h < heads; h++) out[(h * N + i) * N + j] = at(table, index * heads + h);
    }
  }
  return out;
}

/**
 * Shifted-window attention mask [nW, N, N] of HF SwinAttention: region ids on the padded Hp x Wp
 * map from the slices (0, -ws), (-ws, -shift), (-shift, None) per axis (id = 3 * rowRegion + colRegion),
 * partitioned into windows (no roll: the mask lives in rolled coordinates); -100 where the two
 * tokens' ids differ, else 0. All zeros when shift = 0 (HF passes no mask).
 */
export function shiftMaskRef(Hp: number, Wp: number, ws: number, shift: number): Float32Array {
  if (Hp % ws !== 0 || Wp % ws !== 0) throw new Error(`shiftMaskRef: ${Hp}x${Wp} not a multiple of ws=${ws}`);
  const nWh = Hp / ws;
  const nWw = Wp / ws;
  const N = ws * ws;
  const out = new Float32Array(nWh * nWw * N * N);
  if (shift === 0) return out;
  const region = (p: number, size: number): number => (p < size - ws ? 0 : p < size - shift ? 1 : 2);
  const ids = new Array<number>(N);
  for (let wy = 0; wy < nWh; wy++) {
    for (let wx = 0; wx < nWw; wx++) {
      const w = wy * nWw + wx;
      for (let t = 0; t < N; t++) {
        const y = wy * ws + Math.floor(t / ws);
        const x = wx * ws + (t % ws);
        ids[t] = region(y, Hp) * 3 + region(x, Wp);
      }
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) out[(w * N + i) * N + j] = ids[i] === ids[j] ? 0 : -100;
      }
    }
  }
  return out;
}

/**
 * Swin patch merging gather: x [B, H, W, C] zero-padded to even H, W, then per 2x2 block the channel
 * concat [x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]] (second block = odd row, even
 * column). Output [B, ceil(H/2) * ceil(W/2), 4C] (before LayerNorm and the reduction Linear).
 */
export function patchMergeRef(x: Float32Array, B: number, H: number, W: number, C: number): Float32Array {
  checkLength('patchMergeRef', 'x', x, B * H * W * C);
  const Ho = Math.ceil(H / 2);
  const Wo = Math.ceil(W / 2);
  const order: readonly (readonly [number, number])[] = [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ]; // [dy, dx]
  const out = new Float32Array(B * Ho * Wo * 4 * C);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) {
        const token = (b * Ho + i) * Wo + j;
        order.forEach(([dy, dx], part) => {
          const y = 2 * i + dy;
          const xx = 2 * j + dx;
          if (y >= H || xx >= W) return; // zero padding
          for (let c = 0; c < C; c++) {
            out[(token * 4 + part) * C + c] = at(x, ((b * H + y) * W + xx) * C + c);
          }
        });
      }
    }
  }
  return out;
}
