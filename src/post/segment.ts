/**
 * The image processors' post_process_{semantic,instance,panoptic}_segmentation on the GPU, with
 * HF's argument names, defaults and quirks, for the three families (src/post/rules.ts):
 * Mask2Former first resizes the mask logits (bilinear) to a fixed 384x384 whatever the input
 * (batch padding not cropped), MaskFormer and OneFormer work from the mask resolution; OneFormer's
 * instance task runs the panoptic routine on the mask logits.
 *
 * Memory grows with the target's H x W, never with queries x H x W: the per-pixel decisions at
 * the target size (bilinear taps of the low-resolution planes, weighting, argmax, per-query
 * areas) are made on the fly in one pass (ops.resizeArgmax); instance masks are painted at the
 * binarisation size and the label map is resized with nearest (ops.nearestLabels), which is what
 * painting nearest-resized masks gives. The CPU only sees the class logits and a few numbers per
 * query (one small readback), and decides the segments.
 */
import { GpuError, ShapeError, StaleResultError, UnsupportedError } from '../errors.ts';
import type { GpuContext } from '../gpu/device.ts';
import { GraphBuilder, type Tensor } from '../graph/builder.ts';
import { CompiledGraph, type HostArray } from '../graph/runner.ts';
import * as ops from '../ops/index.ts';
import { MASK2FORMER_POST, type PostRules } from './rules.ts';
import { torchTopkUnsorted } from './topk.ts';

/** Mask2Former's fixed intermediate size (MASK2FORMER_POST.intermediateSize). */
export const POST_SIZE = 384;

export type Task = 'semantic' | 'instance' | 'panoptic';

export interface PostProcessOptions {
  /** Instance / panoptic: minimum score to keep a query. Default 0.5. */
  readonly threshold?: number;
  /** Panoptic (and OneFormer instance): threshold on the weighted mask values for a query's own area. Default 0.5. */
  readonly mask_threshold?: number;
  /** Panoptic (and OneFormer instance): minimum (argmax area / own area) to keep a segment. Default 0.8. */
  readonly overlap_mask_area_threshold?: number;
  /** Panoptic: labels whose segments are fused into one per label. */
  readonly label_ids_to_fuse?: readonly number[];
  /** [height, width] per image; default: the intermediate size (Mask2Former 384x384) or the mask resolution, as HF without target_sizes. */
  readonly target_sizes?: readonly (readonly [number, number])[];
  /** Instance (Mask2Former, MaskFormer): also keep one binary map per segment (read with `binaryMaps()`). */
  readonly return_binary_maps?: boolean;
  /** OneFormer instance: 'panoptic' keeps only `thing_ids` labels. Default 'instance'. */
  readonly task_type?: string;
  /** OneFormer instance: keep only top-k entries whose class probability > threshold. Default true. */
  readonly is_demo?: boolean;
  /** OneFormer instance: the class_info file's thing classes (preprocessor_config.json metadata.thing_ids). */
  readonly thing_ids?: readonly number[];
  /** OneFormer instance: the class_info_file name; with 'ade20k' in it, !is_demo and an instance task_type, labels become indices into thing_ids (HF). */
  readonly class_info_file?: string;
}

export interface Segment {
  /** Id in the label map (MaskFormer/Mask2Former instance: from 0, panoptic and OneFormer instance: from 1; semantic: the label id). */
  readonly id: number;
  readonly labelId: number;
  /** Score rounded to 6 decimals as HF reports it (semantic: NaN, HF gives none). */
  readonly score: number;
  readonly wasFused: boolean;
  /** Pixels of the final label map carrying this id. */
  readonly area: number;
  /** Centre of those pixels (column, row); NaN when the area is 0. */
  readonly cx: number;
  readonly cy: number;
}

/** One image's result. The label map stays on the GPU until read. */
export interface ImageSegmentation {
  readonly task: Task;
  readonly height: number;
  readonly width: number;
  readonly segments: readonly Segment[];
  /** Value of unassigned pixels: semantic none, instance -1 (OneFormer 0), panoptic 0; -1 if no query survived the class threshold. */
  readonly background: number;
  /** i32 [height, width]; valid while `isStale()` is false (until the next call of the same task on this PostProcessor). */
  readonly gpu: { readonly buffer: GPUBuffer; readonly byteOffset: number; readonly byteLength: number };
  /** The label map (i32 [height, width]); throws StaleResultError once a later call reused its buffer. */
  labelMap(): Promise<Int32Array>;
  /** True once a later post-processing call of the same task (or dispose()) reused or freed the label map's buffer. */
  isStale(): boolean;
  /** Instance with return_binary_maps: [segments, height, width] of 0/1 (copied at the call: never stale). */
  binaryMaps?(): Promise<Uint8Array>;
}

/** The model outputs post-processing reads: class logits on the host, mask logits on the GPU. */
export interface LogitsOnGpu {
  readonly classLogits: { readonly shape: readonly number[]; readonly data: Float32Array };
  readonly maskLogits: { readonly shape: readonly number[]; readonly buffer: GPUBuffer; readonly byteOffset: number };
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/** softmax over the last dim (float64, rounded to float32 like torch's float32 result). */
function softmaxRows(logits: Float32Array, rows: number, n: number): Float32Array {
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < n; j++) m = Math.max(m, logits[r * n + j] as number);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp((logits[r * n + j] as number) - m);
    for (let j = 0; j < n; j++) out[r * n + j] = Math.exp((logits[r * n + j] as number) - m) / s;
  }
  return out;
}

/** Area and centre of entry k from ops' label stats (u32 [entries, 6]), summed over `ks`. */
function areaOf(stats: Uint32Array, ks: readonly number[]): { area: number; cx: number; cy: number } {
  let area = 0;
  let sx = 0;
  let sy = 0;
  for (const k of ks) {
    area += stats[k * 6] as number;
    sx += (stats[k * 6 + 3] as number) * 2 ** 32 + (stats[k * 6 + 2] as number);
    sy += (stats[k * 6 + 5] as number) * 2 ** 32 + (stats[k * 6 + 4] as number);
  }
  return area > 0 ? { area, cx: sx / area, cy: sy / area } : { area, cx: Number.NaN, cy: Number.NaN };
}

/** One entry of HF's compute_segments: a mask (query) with its label and weight (score). */
interface Entry {
  readonly label: number;
  readonly score: number;
}

/**
 * HF compute_segments' decisions from per-entry (argmax area, own area) counts: ids in entry
 * order from 1, fused labels share one id; `ids[count]` is the value of pixels no entry claims
 * (0, or -1 when there was no entry at all, as HF's empty result).
 */
function computeSegments(entries: readonly Entry[], stats: Uint32Array, count: number, overlap: number, fuse: ReadonlySet<number>): { ids: Int32Array; segments: Segment[] } {
  const ids = new Int32Array(count + 1);
  const segments: Omit<Segment, 'area' | 'cx' | 'cy'>[] = [];
  const stuff = new Map<number, number>();
  let current = 0;
  entries.forEach(({ label, score }, k) => {
    const maskArea = stats[k * 6] as number;
    const ownArea = stats[k * 6 + 1] as number;
    if (!(maskArea > 0 && ownArea > 0)) return;
    // torch: int64 / int64 -> float32 division, then .item() > threshold in float64.
    if (!(Math.fround(Math.fround(maskArea) / Math.fround(ownArea)) > overlap)) return;
    const fused = fuse.has(label);
    const id = stuff.get(label) ?? ++current;
    ids[k] = id;
    // HF lists every kept entry, so a fused label appears once per entry, with the same id.
    segments.push({ id, labelId: label, score: round6(score), wasFused: fused });
    if (fused) stuff.set(label, id);
  });
  ids[count] = entries.length > 0 ? 0 : -1;
  const members = (id: number): number[] => [...ids.subarray(0, count)].flatMap((v, k) => (v === id ? [k] : []));
  return { ids, segments: segments.map((s) => ({ ...s, ...areaOf(stats, members(s.id)) })) };
}

interface Cached {
  readonly graphs: CompiledGraph[];
  /** The mask-logits buffer the graphs read: a hit must read the same buffer. */
  readonly source: GPUBuffer;
  /** Bumped by every call that runs these graphs: results of older calls are stale. */
  generation: number;
  disposed: boolean;
}

interface Dims {
  readonly B: number;
  readonly Q: number;
  readonly L: number;
  readonly hm: number;
  readonly wm: number;
  /** The planes post-processing starts from: the intermediate size, or the mask resolution. */
  readonly hs: number;
  readonly ws: number;
  readonly targets: (readonly [number, number])[];
}

/** Runs the post-processors of one family; keeps the planned graphs of the last shape per task. */
export class PostProcessor {
  private readonly cache = new Map<string, Cached>();
  private disposed = false;

  /** `rules`: the family's post-processing (Mask2Former's unless given; see rules.ts). */
  constructor(
    readonly ctx: GpuContext,
    readonly rules: PostRules = MASK2FORMER_POST,
  ) {
    const known = rules.intermediateSize === null || (Number.isInteger(rules.intermediateSize) && rules.intermediateSize > 0);
    if (!known || !['binarise-resized', 'binarise-at-mask', 'compute-segments-on-logits'].includes(rules.instance)) {
      throw new UnsupportedError(`post-processing rules of ${rules.family}: intermediateSize ${String(rules.intermediateSize)}, instance '${rules.instance}' not supported`);
    }
  }

  /** GPU bytes held by the planned post-processing graphs (buffers, readback staging included). */
  get memory(): { readonly bytes: number; readonly buffers: number } {
    let bytes = 0;
    let buffers = 0;
    for (const { graphs } of this.cache.values()) {
      for (const g of graphs) {
        bytes += g.stats.bytes;
        buffers += g.stats.buffers;
      }
    }
    return { bytes, buffers };
  }

  /** Mask logits as post-processing starts from them: [B, Q, hs, ws] (resized to the intermediate size if the family has one). */
  private planes(g: GraphBuilder, logits: LogitsOnGpu): Tensor {
    const masks = g.external('masks_queries_logits', logits.maskLogits, logits.maskLogits.shape);
    const s = this.rules.intermediateSize;
    return s === null ? masks : ops.resizeBilinear(g, masks, [s, s]);
  }

  private async cached(key: string, source: GPUBuffer, build: () => Promise<CompiledGraph[]>): Promise<Cached> {
    if (this.disposed) throw new GpuError('PostProcessor', 'used after dispose()');
    const hit = this.cache.get(key);
    if (hit && hit.source === source) {
      hit.generation++;
      return hit;
    }
    const task = key.split('|')[0];
    for (const [k, v] of this.cache) {
      if (k.split('|')[0] === task) {
        v.disposed = true;
        v.graphs.forEach((gr) => gr.dispose());
        this.cache.delete(k);
      }
    }
    const entry: Cached = { graphs: await build(), source, generation: 0, disposed: false };
    this.cache.set(key, entry);
    return entry;
  }

  private dims(logits: LogitsOnGpu, o: PostProcessOptions): Dims {
    const [B, Q, L1] = logits.classLogits.shape as [number, number, number];
    if (logits.classLogits.shape.length !== 3 || logits.classLogits.data.length !== B * Q * L1 || L1 < 2) {
      throw new ShapeError('post-process', 'class_queries_logits', '[B, Q, labels + 1] with its data', logits.classLogits.shape);
    }
    const [Bm, Qm, hm, wm] = logits.maskLogits.shape as [number, number, number, number];
    if (Bm !== B || Qm !== Q || logits.maskLogits.shape.length !== 4) throw new ShapeError('post-process', 'masks_queries_logits', `[${B}, ${Q}, h, w]`, logits.maskLogits.shape);
    const s = this.rules.intermediateSize;
    const [hs, ws] = s === null ? [hm, wm] : [s, s];
    const targets = (o.target_sizes ?? Array.from({ length: B }, () => [hs, ws] as const)).map((t) => [t[0], t[1]] as const);
    if (targets.length !== B) throw new ShapeError('post-process', 'target_sizes', `${B} sizes (one per image)`, `${targets.length} sizes`);
    for (const [h, w] of targets) {
      if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0 || h > ops.MAX_TARGET_SIDE || w > ops.MAX_TARGET_SIDE) {
        throw new ShapeError('post-process', 'target_sizes', `integer [height, width] in 1..${ops.MAX_TARGET_SIDE}`, [h, w]);
      }
    }
    return { B, Q, L: L1 - 1, hm, wm, hs, ws, targets };
  }

  private result(task: Task, entry: Cached, graph: CompiledGraph, name: string, h: number, w: number, segments: Segment[], background: number, binary?: () => Promise<Uint8Array>): ImageSegmentation {
    const gpu = graph.outputBuffer(name);
    const generation = entry.generation;
    const isStale = (): boolean => entry.disposed || entry.generation !== generation;
    const guard = (): void => {
      if (isStale()) throw new StaleResultError(`${task} result (${w}x${h}): a later ${task} post-processing call (or dispose()) reused its label map; read labelMap() before the next call`);
    };
    return {
      task, height: h, width: w, segments, background, gpu, isStale,
      labelMap: async () => {
        guard();
        const map = (await graph.readOne(name)) as Int32Array;
        guard(); // a call that started while reading may have overwritten the map
        return map;
      },
      ...(binary ? { binaryMaps: binary } : {}),
    };
  }

  /** HF post_process_semantic_segmentation: argmax over labels of sum_q softmax(class)[q, label] * sigmoid(mask_q). */
  async semantic(logits: LogitsOnGpu, o: PostProcessOptions = {}): Promise<ImageSegmentation[]> {
    const { B, Q, L, hm, wm, hs, ws, targets } = this.dims(logits, o);
    const key = `semantic|${B},${Q},${L},${hm},${wm},${JSON.stringify(targets)},${logits.maskLogits.byteOffset}`;
    const entry = await this.cached(key, logits.maskLogits.buffer, async () => {
      const g = GraphBuilder.forDevice(this.ctx);
      g.within('post_semantic', () => {
        const probs = g.input('class_probs', [B, L, Q]);
        const sig = ops.unary(g, 'sigmoid', this.planes(g, logits));
        const seg = ops.matmul(g, probs, g.reshape(sig, [B, Q, hs * ws]));
        const labels = g.constant('labels', [L], Int32Array.from({ length: L }, (_, c) => c));
        const ones = g.constant('ones', [L], new Float32Array(L).fill(1));
        targets.forEach(([h, w], i) => {
          const r = ops.resizeArgmax(g, g.view(seg, i * L * hs * ws, [L, hs, ws]), labels, ones, [h, w]);
          g.output(`map.${i}`, r.map);
          g.output(`stats.${i}`, r.stats);
        });
      });
      return [await CompiledGraph.compile(this.ctx, g, this.ctx.pipelines, { label: 'post-semantic' })];
    });
    const graph = entry.graphs[0] as CompiledGraph;
    const sm = softmaxRows(logits.classLogits.data, B * Q, L + 1);
    const probs = new Float32Array(B * L * Q);
    for (let b = 0; b < B; b++) for (let q = 0; q < Q; q++) for (let c = 0; c < L; c++) probs[(b * L + c) * Q + q] = sm[(b * Q + q) * (L + 1) + c] as number;
    await graph.run({ class_probs: probs });
    const stats = await graph.read(targets.map((_, i) => `stats.${i}`));
    return targets.map(([h, w], i) => {
      const st = stats.get(`stats.${i}`) as Uint32Array;
      const segments: Segment[] = [];
      for (let c = 0; c < L; c++) if ((st[c * 6] as number) > 0) segments.push({ id: c, labelId: c, score: Number.NaN, wasFused: false, ...areaOf(st, [c]) });
      return this.result('semantic', entry, graph, `map.${i}`, h, w, segments, -1);
    });
  }

  /**
   * HF post_process_instance_segmentation. Mask2Former / MaskFormer: top-k over (query, label)
   * in torch's unsorted order, mask = logits > 0 at the binarisation size, score = class prob x
   * mean sigmoid inside the mask, nearest to the target, later masks overwrite earlier ones.
   * OneFormer: see oneformerInstance().
   */
  async instance(logits: LogitsOnGpu, o: PostProcessOptions = {}): Promise<ImageSegmentation[]> {
    if (this.rules.instance === 'compute-segments-on-logits') return this.oneformerInstance(logits, o);
    const { B, Q, L, hm, wm, hs, ws, targets } = this.dims(logits, o);
    const threshold = o.threshold ?? 0.5;
    const key = `instance|${B},${Q},${L},${hm},${wm},${JSON.stringify(targets)},${logits.maskLogits.byteOffset}`;
    const entry = await this.cached(key, logits.maskLogits.buffer, async () => {
      const g = GraphBuilder.forDevice(this.ctx);
      g.within('post_instance', () => {
        const src = this.planes(g, logits);
        g.output('source', src);
        g.output('stats', ops.planeStats(g, src, { kind: 'positive-sigmoid' }));
        targets.forEach(([h, w], i) => {
          const hits = g.constant(`hits.${i}`, [hs + ws], ops.nearestHits([hs, ws], [h, w]));
          g.output(`count.${i}`, ops.planeStats(g, g.view(src, i * Q * hs * ws, [1, Q, hs, ws]), { kind: 'sampled-positive', hits }));
        });
      });
      const first = await CompiledGraph.compile(this.ctx, g, this.ctx.pipelines, { label: 'post-instance' });
      const p = GraphBuilder.forDevice(this.ctx);
      p.within('post_instance', () => {
        const src = p.external('source', first.outputBuffer('source'), [B, Q, hs * ws]);
        targets.forEach(([h, w], i) => {
          const painted = ops.paintInstances(p, p.view(src, i * Q * hs * ws, [Q, hs * ws]), p.input(`segments.${i}`, [Q, 2], 'i32'), -1);
          const r = ops.nearestLabels(p, p.reshape(painted, [hs, ws]), [h, w], { base: 0, count: Q });
          p.output(`map.${i}`, r.map);
          p.output(`stats.${i}`, r.stats);
        });
      });
      return [first, await CompiledGraph.compile(this.ctx, p, this.ctx.pipelines, { label: 'post-instance-paint' })];
    });
    const [stats, paint] = entry.graphs as [CompiledGraph, CompiledGraph];
    await stats.run({});
    const read = await stats.read(['stats', ...targets.map((_, i) => `count.${i}`)]);
    const sMask = read.get('stats') as Float32Array;
    const scores = softmaxRows(logits.classLogits.data, B * Q, L + 1);
    const feeds: Record<string, HostArray> = {};
    const chosen: { segments: Omit<Segment, 'area' | 'cx' | 'cy'>[]; queries: number[] }[] = [];
    const eps = Math.fround(1e-6);
    for (let b = 0; b < B; b++) {
      const flat = new Float32Array(Q * L);
      for (let q = 0; q < Q; q++) for (let c = 0; c < L; c++) flat[q * L + c] = scores[(b * Q + q) * (L + 1) + c] as number;
      const top = torchTopkUnsorted(flat, Q);
      const counts = read.get(`count.${b}`) as Float32Array;
      const table = new Int32Array(Q * 2).fill(-1);
      const segments: Omit<Segment, 'area' | 'cx' | 'cy'>[] = [];
      const queries: number[] = [];
      top.indices.forEach((flatIdx, j) => {
        const q = Math.floor(flatIdx / L);
        const area = sMask[(b * Q + q) * 2] as number;
        // float32 as torch: sum(sigmoid * mask) / (sum(mask) + 1e-6), times the class prob.
        const maskScore = Math.fround((sMask[(b * Q + q) * 2 + 1] as number) / Math.fround(area + eps));
        const score = Math.fround((top.values[j] as number) * maskScore);
        if ((counts[q * 2] as number) > 0 && score >= threshold) {
          table[segments.length * 2] = q;
          table[segments.length * 2 + 1] = segments.length;
          segments.push({ id: segments.length, labelId: flatIdx % L, score: round6(score), wasFused: false });
          queries.push(q);
        }
      });
      feeds[`segments.${b}`] = table;
      chosen.push({ segments, queries });
    }
    // Binary maps are copied now (at the binarisation size, small): later calls cannot change them.
    const source = o.return_binary_maps ? ((await stats.readOne('source')) as Float32Array) : undefined;
    await paint.run(feeds);
    const hists = await paint.read(targets.map((_, i) => `stats.${i}`));
    return targets.map(([h, w], i) => {
      const st = hists.get(`stats.${i}`) as Uint32Array;
      const c = chosen[i] as (typeof chosen)[number];
      const segments = c.segments.map((s) => ({ ...s, ...areaOf(st, [s.id]) }));
      let binary: (() => Promise<Uint8Array>) | undefined;
      if (source) {
        const planes = c.queries.map((q) => source.slice((i * Q + q) * hs * ws, (i * Q + q + 1) * hs * ws));
        binary = async () => {
          const rows = ops.nearestIndex(hs, h);
          const cols = ops.nearestIndex(ws, w);
          const out = new Uint8Array(planes.length * h * w);
          planes.forEach((plane, k) => {
            for (let y = 0; y < h; y++) {
              const src = (rows[y] as number) * ws;
              for (let x = 0; x < w; x++) out[(k * h + y) * w + x] = (plane[src + (cols[x] as number)] as number) > 0 ? 1 : 0;
            }
          });
          return out;
        };
      }
      return this.result('instance', entry, paint, `map.${i}`, h, w, segments, -1, binary);
    });
  }

  /**
   * The graphs of HF's compute_segments at the target size: per image, entries (plane index into
   * the [B, Q, hs, ws] planes, weight) fed at run time; pass 1 = argmax of weighted bilinear
   * values with per-entry areas, pass 2 = the final ids. `probs`: sigmoid of the planes (panoptic),
   * else the logits themselves (OneFormer instance).
   */
  private async segmentsGraphs(task: Task, logits: LogitsOnGpu, d: Dims, probs: boolean, maskThreshold: number): Promise<Cached> {
    const { B, Q, L, hm, wm, hs, ws, targets } = d;
    const key = `${task}|${B},${Q},${L},${hm},${wm},${JSON.stringify(targets)},${maskThreshold},${probs},${logits.maskLogits.byteOffset}`;
    return this.cached(key, logits.maskLogits.buffer, async () => {
      const g = GraphBuilder.forDevice(this.ctx);
      g.within(`post_${task}`, () => {
        const src = this.planes(g, logits);
        const planes = probs ? ops.unary(g, 'sigmoid', src) : src;
        targets.forEach(([h, w], i) => {
          const r = ops.resizeArgmax(g, g.view(planes, i * Q * hs * ws, [Q, hs, ws]), g.input(`planes.${i}`, [Q], 'i32'), g.input(`weights.${i}`, [Q]), [h, w], { ownThreshold: maskThreshold });
          g.output(`argmax.${i}`, r.map);
          g.output(`stats.${i}`, r.stats);
        });
      });
      const first = await CompiledGraph.compile(this.ctx, g, this.ctx.pipelines, { label: `post-${task}` });
      const p = GraphBuilder.forDevice(this.ctx);
      p.within(`post_${task}`, () => {
        targets.forEach(([h, w], i) => {
          const am = p.external(`argmax.${i}`, first.outputBuffer(`argmax.${i}`), [h, w], 'i32');
          p.output(`map.${i}`, ops.remap(p, am, p.input(`ids.${i}`, [Q + 1], 'i32')));
        });
      });
      return [first, await CompiledGraph.compile(this.ctx, p, this.ctx.pipelines, { label: `post-${task}-ids` })];
    });
  }

  /** Runs the compute_segments graphs for per-image entry lists (plane, weight, label) and decides the segments. */
  private async runSegments(task: Task, entry: Cached, d: Dims, perImage: readonly { planes: Int32Array; weights: Float32Array; entries: Entry[] }[], overlap: number, fuse: ReadonlySet<number>): Promise<ImageSegmentation[]> {
    const [areas, paint] = entry.graphs as [CompiledGraph, CompiledGraph];
    const feeds: Record<string, HostArray> = {};
    perImage.forEach((im, i) => {
      feeds[`planes.${i}`] = im.planes;
      feeds[`weights.${i}`] = im.weights;
    });
    await areas.run(feeds);
    const stats = await areas.read(d.targets.map((_, i) => `stats.${i}`));
    const decided = perImage.map((im, i) => computeSegments(im.entries, stats.get(`stats.${i}`) as Uint32Array, d.Q, overlap, fuse));
    decided.forEach((r, i) => (feeds[`ids.${i}`] = r.ids));
    await paint.run(feeds);
    return d.targets.map(([h, w], i) => {
      const r = decided[i] as (typeof decided)[number];
      return this.result(task, entry, paint, `map.${i}`, h, w, r.segments, r.ids[d.Q] as number);
    });
  }

  /** HF post_process_panoptic_segmentation (score-weighted probabilities, area-ratio filter, optional label fusion). */
  async panoptic(logits: LogitsOnGpu, o: PostProcessOptions = {}): Promise<ImageSegmentation[]> {
    const d = this.dims(logits, o);
    const { B, Q, L } = d;
    const threshold = o.threshold ?? 0.5;
    const entry = await this.segmentsGraphs('panoptic', logits, d, true, o.mask_threshold ?? 0.5);
    const sm = softmaxRows(logits.classLogits.data, B * Q, L + 1);
    const perImage = Array.from({ length: B }, (_, b) => {
      const planes = new Int32Array(Q).fill(-1);
      const weights = new Float32Array(Q);
      const entries: Entry[] = [];
      for (let q = 0; q < Q; q++) {
        const r = (b * Q + q) * (L + 1);
        let label = 0;
        for (let c = 1; c <= L; c++) if ((sm[r + c] as number) > (sm[r + label] as number)) label = c;
        const score = sm[r + label] as number;
        if (label === L || !(score > threshold)) continue;
        // Entry k = the k-th kept query, in query order (HF's mask_probs[to_keep]).
        planes[entries.length] = q;
        weights[entries.length] = score;
        entries.push({ label, score });
      }
      return { planes, weights, entries };
    });
    return this.runSegments('panoptic', entry, d, perImage, o.overlap_mask_area_threshold ?? 0.8, new Set(o.label_ids_to_fuse ?? []));
  }

  /**
   * OneFormerImageProcessor.post_process_instance_segmentation: top-k over (query, label) in
   * torch's unsorted order; with is_demo (default) only class probs > threshold; with task_type
   * 'panoptic' only thing_ids labels; then compute_segments on the mask LOGITS weighted by the
   * class prob (mask_threshold on the weighted logits), no fusion. Ids from 1, 0 = none, -1 map
   * when no entry is left.
   */
  private async oneformerInstance(logits: LogitsOnGpu, o: PostProcessOptions): Promise<ImageSegmentation[]> {
    const d = this.dims(logits, o);
    const { B, Q, L } = d;
    const threshold = o.threshold ?? 0.5;
    const isDemo = o.is_demo ?? true;
    const taskType = o.task_type ?? 'instance';
    const thingIds = o.thing_ids;
    const adeRemap = (o.class_info_file ?? '').includes('ade20k') && !isDemo && taskType.includes('instance');
    if ((taskType === 'panoptic' || adeRemap) && thingIds === undefined) {
      throw new ShapeError('post-process', 'thing_ids', `the class_info thing ids (task_type '${taskType}'${adeRemap ? ', ade20k label remap' : ''})`, 'none given');
    }
    const entry = await this.segmentsGraphs('instance', logits, d, false, o.mask_threshold ?? 0.5);
    const scores = softmaxRows(logits.classLogits.data, B * Q, L + 1);
    const perImage = Array.from({ length: B }, (_, b) => {
      const flat = new Float32Array(Q * L);
      for (let q = 0; q < Q; q++) for (let c = 0; c < L; c++) flat[q * L + c] = scores[(b * Q + q) * (L + 1) + c] as number;
      const top = torchTopkUnsorted(flat, Q);
      const planes = new Int32Array(Q).fill(-1);
      const weights = new Float32Array(Q);
      const entries: Entry[] = [];
      top.indices.forEach((flatIdx, j) => {
        const score = top.values[j] as number;
        let label = flatIdx % L;
        if (isDemo && !(score > threshold)) return;
        if (taskType === 'panoptic' && !(thingIds as readonly number[]).includes(label)) return;
        if (adeRemap) {
          const at = (thingIds as readonly number[]).indexOf(label);
          if (at < 0) throw new ShapeError('post-process', 'thing_ids', `to contain label ${label} (ade20k label remap)`, [...(thingIds as readonly number[])]);
          label = at;
        }
        planes[entries.length] = Math.floor(flatIdx / L);
        weights[entries.length] = score;
        entries.push({ label, score });
      });
      return { planes, weights, entries };
    });
    return this.runSegments('instance', entry, d, perImage, o.overlap_mask_area_threshold ?? 0.8, new Set());
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.cache.values()) {
      v.disposed = true;
      v.graphs.forEach((g) => g.dispose());
    }
    this.cache.clear();
  }
}
