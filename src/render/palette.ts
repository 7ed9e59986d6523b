/** A deterministic colour per label id (golden-ratio hue steps), packed RGBA8 little-endian. */

export function labelColour(labelId: number): [number, number, number] {
  const h = (((labelId + 1) * 0.618033988749895) % 1) * 6;
  const s = 0.7;
  const v = 0.95;
  const i = Math.floor(h);
  const f = h - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  const rgb = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i % 6] as [number, number, number];
  return rgb.map((c) => Math.round(c * 255)) as [number, number, number];
}

export function packRgba([r, g, b]: readonly [number, number, number], a = 255): number {
  return (r | (g << 8) | (b << 16) | (a << 24)) >>> 0;
}

export const cssColour = (labelId: number): string => `rgb(${labelColour(labelId).join(', ')})`;
