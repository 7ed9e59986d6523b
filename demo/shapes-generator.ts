/**
 * Synthetic "shapes" scenes like the ones the embedded model was trained on (the "synthetic image
 * distribution" of weights/shapes/README.md): a gradient sky, a textured ground below a wavy
 * horizon, 1-6 flat-coloured shapes (circle, rotated square, rotated equilateral triangle,
 * rotated 5-point star), a slight blur and per-pixel noise. Deterministic for a seed.
 */
import type { RgbaImage } from '../src/index.ts';

export type ShapeKind = 'circle' | 'square' | 'triangle' | 'star';

export interface GeneratedObject {
  readonly kind: ShapeKind;
  readonly cx: number;
  readonly cy: number;
  /** Circumradius in pixels. */
  readonly radius: number;
  /** Visible pixels after occlusion by later shapes. */
  readonly area: number;
}

export interface GeneratedScene {
  readonly seed: number;
  readonly image: RgbaImage & { readonly data: Uint8ClampedArray };
  /** Ground-truth areas in pixels. */
  readonly sky: number;
  readonly ground: number;
  readonly objects: readonly GeneratedObject[];
}

/** mulberry32: small, fast, good enough for pictures. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rgb = [number, number, number];

function hsv(h: number, s: number, v: number): Rgb {
  const hh = (((h % 360) + 360) % 360) / 60;
  const i = Math.floor(hh);
  const f = hh - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  const rgb = ([[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i % 6] ?? [v, v, v]) as Rgb;
  return rgb.map((c) => c * 255) as Rgb;
}

const dist = (a: Rgb, b: Rgb): number => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

/** Point-in-shape test in the shape's own frame (centred, unrotated), circumradius r. */
function inside(kind: ShapeKind, x: number, y: number, r: number): boolean {
  switch (kind) {
    case 'circle':
      return x * x + y * y <= r * r;
    case 'square': {
      const h = r / Math.SQRT2;
      return Math.abs(x) <= h && Math.abs(y) <= h;
    }
    case 'triangle': {
      // Equilateral, apex up: three half-planes at distance r/2 from the centre.
      for (let k = 0; k < 3; k++) {
        const a = (k * 2 * Math.PI) / 3 + Math.PI / 2;
        if (x * Math.cos(a) - y * Math.sin(a) < -r / 2) return false;
      }
      return true;
    }
    case 'star': {
      // 10-vertex polygon, inner radius 0.45 r; even-odd ray cast.
      let inPoly = false;
      for (let k = 0, j = 9; k < 10; j = k++) {
        const ak = -Math.PI / 2 + (k * Math.PI) / 5;
        const aj = -Math.PI / 2 + (j * Math.PI) / 5;
        const rk = k % 2 === 0 ? r : r * 0.45;
        const rj = j % 2 === 0 ? r : r * 0.45;
        const xk = rk * Math.cos(ak);
        const yk = rk * Math.sin(ak);
        const xj = rj * Math.cos(aj);
        const yj = rj * Math.sin(aj);
        if (yk > y !== yj > y && x < ((xj - xk) * (y - yk)) / (yj - yk) + xk) inPoly = !inPoly;
      }
      return inPoly;
    }
  }
}

const KINDS: readonly ShapeKind[] = ['circle', 'square', 'triangle', 'star'];

/** One scene; the same seed gives the same pixels. */
export function generateShapes(seed: number): GeneratedScene {
  const rand = rng(seed);
  const uni = (a: number, b: number): number => a + (b - a) * rand();
  const int = (a: number, b: number): number => Math.floor(uni(a, b + 1));
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const W = int(96, 160);
  const H = int(96, 160);
  const px = new Float32Array(W * H * 3);
  // 0 sky, 1 ground, 2+k object k
  const owner = new Int32Array(W * H);

  // Sky: vertical gradient in one hue, mostly blue / cyan / violet, sometimes orange / peach.
  const skyHue = rand() < 0.2 ? uni(15, 40) : uni(180, 280);
  const skyTop = hsv(skyHue, uni(0.5, 0.85), uni(0.55, 0.8));
  const skyBottom = hsv(skyHue + uni(-15, 15), uni(0.15, 0.4), uni(0.85, 1));
  const skyNoise = uni(0.5, 2);

  // Horizon: 40-70% of the height, sum of two sines.
  const base = H * uni(0.4, 0.7);
  const a1 = uni(2, 0.06 * H);
  const a2 = uni(1, 0.03 * H);
  const f1 = uni(0.5, 2);
  const f2 = uni(2, 5);
  const p1 = uni(0, 2 * Math.PI);
  const p2 = uni(0, 2 * Math.PI);
  const horizon = (x: number): number => base + a1 * Math.sin((2 * Math.PI * f1 * x) / W + p1) + a2 * Math.sin((2 * Math.PI * f2 * x) / W + p2);

  // Ground: green, brown or any hue; coarse blotches (bilinear value noise), stripes, grain.
  const g = rand();
  const groundBase = g < 1 / 3 ? hsv(uni(80, 140), uni(0.45, 0.8), uni(0.35, 0.65)) : g < 2 / 3 ? hsv(uni(20, 40), uni(0.45, 0.75), uni(0.3, 0.55)) : hsv(uni(0, 360), uni(0.3, 0.8), uni(0.3, 0.7));
  const cell = int(10, 22);
  const gw = Math.ceil(W / cell) + 2;
  const gh = Math.ceil(H / cell) + 2;
  const blot = Float32Array.from({ length: gw * gh }, () => uni(-30, 30));
  const stripeFreq = uni(0.3, 1.2);
  const stripeAmp = uni(4, 14);
  const grain = uni(7, 14);
  const blotAt = (x: number, y: number): number => {
    const gx = x / cell;
    const gy = y / cell;
    const i = Math.floor(gx);
    const j = Math.floor(gy);
    const fx = gx - i;
    const fy = gy - j;
    const v = (a: number, b: number): number => blot[b * gw + a] ?? 0;
    return (v(i, j) * (1 - fx) + v(i + 1, j) * fx) * (1 - fy) + (v(i, j + 1) * (1 - fx) + v(i + 1, j + 1) * fx) * fy;
  };

  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      if (y + 0.5 < horizon(x + 0.5)) {
        const t = y / Math.max(1, H * 0.7);
        for (let c = 0; c < 3; c++) px[p * 3 + c] = (skyTop[c] as number) * (1 - Math.min(1, t)) + (skyBottom[c] as number) * Math.min(1, t) + skyNoise * gauss();
        owner[p] = 0;
      } else {
        const shade = blotAt(x, y) + stripeAmp * Math.sin(y * stripeFreq * 2);
        for (let c = 0; c < 3; c++) px[p * 3 + c] = (groundBase[c] as number) + shade + grain * gauss();
        owner[p] = 1;
      }
    }
  }

  // Objects: later shapes occlude earlier ones, every shape keeps >= 65% of its area.
  const skyMean: Rgb = [0, 1, 2].map((c) => ((skyTop[c] as number) + (skyBottom[c] as number)) / 2) as Rgb;
  const n = int(1, 6);
  const placed: { kind: ShapeKind; cx: number; cy: number; radius: number; full: number; colour: Rgb; angle: number; light: number }[] = [];
  const minSide = Math.min(W, H);
  for (let k = 0; k < n; k++) {
    for (let attempt = 0; attempt < 40; attempt++) {
      const kind = KINDS[int(0, 3)] as ShapeKind;
      const radius = uni(0.07, 0.2) * minSide;
      const cx = uni(radius * 0.6, W - radius * 0.6);
      const cy = uni(radius * 0.6, H - radius * 0.6);
      const angle = uni(0, 2 * Math.PI);
      let colour: Rgb = hsv(uni(0, 360), uni(0.5, 1), uni(0.5, 1));
      for (let tries = 0; tries < 20 && (dist(colour, skyMean) < 110 || dist(colour, groundBase) < 110); tries++) colour = hsv(uni(0, 360), uni(0.5, 1), uni(0.4, 1));
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const mask: number[] = [];
      const x0 = Math.max(0, Math.floor(cx - radius - 1));
      const x1 = Math.min(W - 1, Math.ceil(cx + radius + 1));
      const y0 = Math.max(0, Math.floor(cy - radius - 1));
      const y1 = Math.min(H - 1, Math.ceil(cy + radius + 1));
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const dx = x + 0.5 - cx;
          const dy = y + 0.5 - cy;
          if (inside(kind, dx * cos + dy * sin, -dx * sin + dy * cos, radius)) mask.push(y * W + x);
        }
      }
      if (mask.length < 12) continue;
      // Would an earlier shape drop below 65% of its full area?
      const lost = new Map<number, number>();
      for (const p of mask) {
        const o = owner[p] as number;
        if (o >= 2) lost.set(o, (lost.get(o) ?? 0) + 1);
      }
      let ok = true;
      for (const [o, l] of lost) {
        const prev = placed[o - 2];
        let visible = 0;
        for (let p = 0; p < owner.length; p++) if (owner[p] === o) visible++;
        if (prev && visible - l < 0.65 * prev.full) ok = false;
      }
      if (!ok) continue;
      const light = uni(0, 2 * Math.PI);
      const entry = { kind, cx, cy, radius, full: mask.length, colour, angle, light };
      placed.push(entry);
      const id = placed.length + 1;
      for (const p of mask) {
        owner[p] = id;
        const x = p % W;
        const y = Math.floor(p / W);
        // Soft shading: a linear light across the shape, +-15%.
        const s = 1 + 0.15 * (((x - cx) * Math.cos(light) + (y - cy) * Math.sin(light)) / radius);
        for (let c = 0; c < 3; c++) px[p * 3 + c] = (colour[c] as number) * s;
      }
      break;
    }
  }

  // Gaussian blur, sigma 0-0.7 px (separable, radius 2), then per-pixel noise sigma 1-5.
  const sigma = uni(0, 0.7);
  if (sigma > 0.05) {
    const kern = [-2, -1, 0, 1, 2].map((d) => Math.exp((-d * d) / (2 * sigma * sigma)));
    const ksum = kern.reduce((a, b) => a + b, 0);
    const pass = (src: Float32Array, horizontal: boolean): Float32Array => {
      const out = new Float32Array(src.length);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          for (let c = 0; c < 3; c++) {
            let acc = 0;
            for (let d = -2; d <= 2; d++) {
              const xx = horizontal ? Math.min(W - 1, Math.max(0, x + d)) : x;
              const yy = horizontal ? y : Math.min(H - 1, Math.max(0, y + d));
              acc += (kern[d + 2] as number) * (src[(yy * W + xx) * 3 + c] as number);
            }
            out[(y * W + x) * 3 + c] = acc / ksum;
          }
        }
      }
      return out;
    };
    px.set(pass(pass(px, true), false));
  }
  const noise = uni(1, 5);
  const data = new Uint8ClampedArray(W * H * 4);
  for (let p = 0; p < W * H; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = Math.round((px[p * 3 + c] as number) + noise * gauss());
    data[p * 4 + 3] = 255;
  }

  const counts = new Int32Array(placed.length + 2);
  for (const o of owner) counts[o] = (counts[o] ?? 0) + 1;
  return {
    seed,
    image: { width: W, height: H, data },
    sky: counts[0] as number,
    ground: counts[1] as number,
    objects: placed.map((o, k) => ({ kind: o.kind, cx: o.cx, cy: o.cy, radius: o.radius, area: counts[k + 2] as number })),
  };
}
