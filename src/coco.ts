/**
 * COCO outputs of a segmentation result, in the formats downstream tools read:
 * - panoptic (also used for semantic results): a PNG whose RGB encodes each pixel's segment id
 *   (id = R + 256 G + 256^2 B, 0 = no segment) and an annotation with `segments_info`
 *   (id, category_id, iscrowd, bbox [x, y, w, h], area), as in the COCO panoptic format;
 * - instance: COCO "results" entries with compressed RLE masks (pycocotools' encoding), as
 *   produced by detectors for COCO evaluation.
 * Category ids are the checkpoint's label ids (config.json id2label); `categories` gives names.
 * No GPU work: the label map is read once and everything else is computed here.
 */
import { ImageError } from './errors.ts';
import type { RgbaImage } from './image.ts';

/** What toCoco needs of a result (SegmentationResult fits). */
export interface CocoSource {
  readonly task: 'semantic' | 'instance' | 'panoptic';
  readonly width: number;
  readonly height: number;
  readonly background: number;
  readonly segments: readonly { readonly id: number; readonly labelId: number; readonly score: number; readonly area: number }[];
  labelMap(): Promise<Int32Array>;
}

export interface CocoOptions {
  /** COCO image id (default 1). */
  readonly imageId?: number;
  /** The image's file name (panoptic: the PNG is named after it, extension .png). */
  readonly fileName?: string;
  /** id2label names for `categories`. */
  readonly labels?: Readonly<Record<number, string>>;
  /** Labels that are "stuff" (not countable), e.g. the panoptic label_ids_to_fuse: sets `isthing`. */
  readonly stuffIds?: readonly number[];
}

export interface CocoCategory {
  readonly id: number;
  readonly name: string;
  readonly isthing?: 0 | 1;
}

export interface CocoSegmentInfo {
  readonly id: number;
  readonly category_id: number;
  readonly iscrowd: 0;
  readonly bbox: [number, number, number, number];
  readonly area: number;
  /** Not in the COCO format; readers ignore it. Absent for semantic results. */
  readonly score?: number;
}

export interface CocoPanoptic {
  readonly kind: 'panoptic';
  readonly image: { readonly id: number; readonly file_name: string; readonly width: number; readonly height: number };
  readonly annotation: { readonly image_id: number; readonly file_name: string; readonly segments_info: CocoSegmentInfo[] };
  /** Segment ids as RGB (alpha 255). */
  readonly png: RgbaImage;
  readonly categories: CocoCategory[];
}

export interface CocoRle {
  /** [height, width] */
  readonly size: [number, number];
  readonly counts: string;
}

export interface CocoInstance {
  readonly image_id: number;
  readonly category_id: number;
  readonly segmentation: CocoRle;
  readonly score: number;
  readonly bbox: [number, number, number, number];
  readonly area: number;
}

export interface CocoInstances {
  readonly kind: 'instance';
  readonly image: { readonly id: number; readonly file_name: string; readonly width: number; readonly height: number };
  readonly annotations: CocoInstance[];
  readonly categories: CocoCategory[];
}

/**
 * pycocotools' compressed string of run lengths (rleToString): each count (from the third on,
 * as a difference to the count two before) in little-endian 5-bit groups, 0x20 = more groups
 * follow, 0x10 of the last group = sign, each group + 48 as a character.
 */
export function rleToString(counts: readonly number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i] as number;
    if (i > 2) x -= counts[i - 2] as number;
    for (let more = true; more;) {
      let c = x & 0x1f;
      x >>= 5;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/** Inverse of rleToString (pycocotools' rleFrString). */
export function rleFromString(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    for (let more = true; more;) {
      if (p >= s.length) throw new ImageError(`RLE string ends inside a count (at character ${p})`);
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2] as number;
    counts.push(x);
  }
  return counts;
}

/**
 * Run lengths of `map == id` for every id at once, in COCO's column-major order, each list
 * starting with a run of zeros (possibly empty) and alternating. One pass over the map.
 */
export function rleCountsByLabel(map: Int32Array, height: number, width: number, ids: readonly number[]): Map<number, number[]> {
  const runs = new Map<number, { counts: number[]; start: number }>(ids.map((id) => [id, { counts: [], start: 0 }]));
  let prev: number | undefined;
  let k = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++, k++) {
      const v = map[y * width + x] as number;
      if (v === prev) continue;
      const ended = prev === undefined ? undefined : runs.get(prev);
      if (ended) (ended.counts.push(k - ended.start), (ended.start = k));
      const started = runs.get(v);
      if (started) (started.counts.push(k - started.start), (started.start = k));
      prev = v;
    }
  }
  const out = new Map<number, number[]>();
  for (const [id, r] of runs) out.set(id, [...r.counts, k - r.start]);
  return out;
}

/** Pixel count and [x, y, w, h] of each id's pixels. */
function boxes(map: Int32Array, width: number): Map<number, { area: number; x0: number; y0: number; x1: number; y1: number }> {
  const out = new Map<number, { area: number; x0: number; y0: number; x1: number; y1: number }>();
  for (let p = 0; p < map.length; p++) {
    const id = map[p] as number;
    const x = p % width;
    const y = (p - x) / width;
    const b = out.get(id);
    if (!b) out.set(id, { area: 1, x0: x, y0: y, x1: x, y1: y });
    else {
      b.area++;
      if (x < b.x0) b.x0 = x;
      if (x > b.x1) b.x1 = x;
      if (y < b.y0) b.y0 = y;
      if (y > b.y1) b.y1 = y;
    }
  }
  return out;
}

function categories(labels: Readonly<Record<number, string>> | undefined, used: Iterable<number>, stuff: readonly number[] | undefined): CocoCategory[] {
  const ids = new Set<number>([...Object.keys(labels ?? {}).map(Number), ...used]);
  return [...ids].sort((a, b) => a - b).map((id) => ({ id, name: labels?.[id] ?? `LABEL_${id}`, ...(stuff ? { isthing: stuff.includes(id) ? 0 : 1 } : {}) }));
}

const pngName = (fileName: string): string => fileName.replace(/\.[^./\\]*$/, '') + '.png';

/**
 * The result in COCO form: panoptic / semantic results as a panoptic PNG + segments_info,
 * instance results as RLE-encoded results entries.
 */
export async function toCoco(result: CocoSource, options: CocoOptions = {}): Promise<CocoPanoptic | CocoInstances> {
  const imageId = options.imageId ?? 1;
  const fileName = options.fileName ?? `${imageId}.png`;
  const { width, height } = result;
  const map = await result.labelMap();
  if (map.length !== width * height) throw new ImageError(`toCoco: label map has ${map.length} values for a ${width}x${height} result`);
  const box = boxes(map, width);
  const bbox = (id: number): [number, number, number, number] => {
    const b = box.get(id);
    return b ? [b.x0, b.y0, b.x1 - b.x0 + 1, b.y1 - b.y0 + 1] : [0, 0, 0, 0];
  };
  const segs = result.segments.filter((s) => s.id !== result.background && (box.get(s.id)?.area ?? 0) > 0);
  const image = { id: imageId, file_name: fileName, width, height };
  const cats = categories(options.labels, segs.map((s) => s.labelId), options.stuffIds);
  if (result.task === 'instance') {
    const counts = rleCountsByLabel(map, height, width, segs.map((s) => s.id));
    const annotations = segs.map((s) => ({
      image_id: imageId, category_id: s.labelId,
      segmentation: { size: [height, width] as [number, number], counts: rleToString(counts.get(s.id) as number[]) },
      score: s.score, bbox: bbox(s.id), area: box.get(s.id)?.area ?? 0,
    }));
    return { kind: 'instance', image, annotations, categories: cats };
  }
  // Panoptic ids are HF's (1..N); semantic segments are classes: label id + 1 (0 is "no segment").
  const cocoId = (s: { id: number; labelId: number }): number => (result.task === 'semantic' ? s.labelId + 1 : s.id);
  const ids = new Map<number, number>();
  for (const s of segs) {
    const c = cocoId(s);
    if (!Number.isInteger(c) || c <= 0 || c >= 2 ** 24) throw new ImageError(`toCoco: segment id ${c} does not fit a panoptic PNG (1 .. 2^24-1)`);
    ids.set(s.id, c);
  }
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < map.length; p++) {
    const c = ids.get(map[p] as number) ?? 0;
    data[p * 4] = c & 255;
    data[p * 4 + 1] = (c >> 8) & 255;
    data[p * 4 + 2] = (c >> 16) & 255;
    data[p * 4 + 3] = 255;
  }
  const segments_info = segs.map((s) => ({
    id: ids.get(s.id) as number, category_id: s.labelId, iscrowd: 0 as const, bbox: bbox(s.id), area: box.get(s.id)?.area ?? 0,
    ...(Number.isNaN(s.score) ? {} : { score: s.score }),
  }));
  return { kind: 'panoptic', image, annotation: { image_id: imageId, file_name: pngName(fileName), segments_info }, png: { width, height, data }, categories: cats };
}
