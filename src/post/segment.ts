/**
 * Mask2FormerImageProcessor.post_process_{semantic,instance,panoptic}_segmentation on the GPU,
 * with HF's argument names, defaults and quirks: mask logits are first resized (bilinear) to a
 * fixed 384x384 whatever the input (batch padding not cropped), then to each target size.
 * Per-pixel work (resizing Q maps, the einsum, argmax, areas) runs on the GPU; the CPU only sees
 * the class logits and a few numbers per query (one small readback), and decides the segments.
 */
import { ShapeError, UnsupportedError } from '../errors.ts';
import type { GpuContext } from '../gpu/device.ts';
import { GraphBuilder, type Tensor } from '../graph/builder.ts';
import { CompiledGraph, type HostArray } from '../graph/runner.ts';
import * as ops from '../ops/index.ts';
import { MASK2FORMER_POST, type PostRules } from './rules.ts';
import { torchTopkUnsorted } from './topk.ts';

/** HF's fixed intermediate size of every post-processor. */
export const POST_SIZE = 384;

export type Task = 'semantic' | 'instance' | 'panoptic';

export interface PostProcessOptions {
  /** Instance / panoptic: minimum score to keep a query. Default 0.5. */
  readonly threshold?: number;
  /** Panoptic: probability threshold for a query's own area. Default 0.5. */
  readonly mask_threshold?: number;
  /** Panoptic: minimum (argmax area / own area) to keep a segment. Default 0.8. */
  readonly overlap_mask_area_threshold?: number;
  /** Panoptic: labels whose segments are fused into one per label. */
  readonly label_ids_to_fuse?: readonly number[];
  /** [height, width] per image; default 384x384 (HF's behaviour without target_sizes). */
  readonly target_sizes?: readonly (readonly [number, number])[];
  /** Instance: also keep one binary map per segment (read with `binaryMaps()`). */
  readonly return_binary_maps?: boolean;
}

export interface Segment {
  /** Id in the label map (instance: from 0, panoptic: from 1; semantic: the label id). */
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

/** Segment centre from a histogram row (area, 0, sum of columns, sum of rows). */
function centre(hist: Float32Array, bin: number): { cx: number; cy: number } {
  const a = hist[bin * 4] as number;
  return a > 0 ? { cx: (hist[bin * 4 + 2] as number) / a, cy: (hist[bin * 4 + 3] as number) / a } : { cx: Number.NaN, cy: Number.NaN };
}

/** One image's result. The label map stays on the GPU until read. */
export interface ImageSegmentation {
  readonly task: Task;
  readonly height: number;
  readonly width: number;
  readonly segments: readonly Segment[];
  /** Value of unassigned pixels: semantic none, instance -1, panoptic 0 (-1 if no query survived). */
  readonly background: number;
  /** i32 [height, width], valid until the next post-processing call of the same shape. */
  readonly gpu: { readonly buffer: GPUBuffer; readonly byteOffset: number; readonly byteLength: number };
  labelMap(): Promise<Int32Array>;
  /** Instance with return_binary_maps: [segments, height, width] of 0/1. */
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

interface Cached {
  readonly graphs: CompiledGraph[];
  /** The mask-logits buffer the graphs read: a hit must read the same buffer. */
  readonly source: GPUBuffer;
}

/** Runs the post-processors; keeps the planned graphs of the last shape per task. */
export class PostProcessor {
  private readonly cache = new Map<string, Cached>();
  private disposed = false;

  /** `rules`: the family's post-processing (Mask2Former's unless given; see rules.ts). */
  constructor(
    readonly ctx: GpuContext,
    readonly rules: PostRules = MASK2FORMER_POST,
  ) {
    if (rules.family !== 'mask2former') throw new UnsupportedError(`post-processing for ${rules.family} is not implemented yet`);
  }

  private masks(g: GraphBuilder, logits: LogitsOnGpu): Tensor {
    return g.external('masks_queries_logits', logits.maskLogits, logits.maskLogits.shape);
  }

  private async cached(key: string, source: GPUBuffer, build: () => Promise<CompiledGraph[]>): Promise<CompiledGraph[]> {
    const hit = this.cache.get(key);
    if (hit && hit.source === source) return hit.graphs;
    for (const [k, v] of this.cache) {
      if (k.split('|')[0] === key.split('|')[0]) {
        v.graphs.forEach((gr) => gr.dispose());
        this.cache.delete(k);
      }
    }
    const graphs = await build();
    this.cache.set(key, { graphs, source });
    return graphs;
  }

  private dims(logits: LogitsOnGpu, o: PostProcessOptions): { B: number; Q: number; L: number; hm: number; wm: number; targets: (readonly [number, number])[] } {
    const [B, Q, L1] = logits.classLogits.shape as [number, number, number];
    const [Bm, Qm, hm, wm] = logits.maskLogits.shape as [number, number, number, number];
    if (Bm !== B || Qm !== Q || logits.maskLogits.shape.length !== 4) throw new ShapeError('post-process', 'masks_queries_logits', `[${B}, ${Q}, h, w]`, logits.maskLogits.shape);
    const targets = (o.target_sizes ?? Array.from({ length: B }, () => [POST_SIZE, POST_SIZE] as const)).map((t) => [t[0], t[1]] as const);
    if (targets.length !== B) throw new ShapeError('post-process', 'target_sizes', `${B} sizes (one per image)`, `${targets.length} sizes`);
    for (const [h, w] of targets) if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) throw new ShapeError('post-process', 'target_sizes', 'positive integer [height, width]', [h, w]);
    return { B, Q, L: L1 - 1, hm, wm, targets };
  }

  private result(task: Task, graph: CompiledGraph, name: string, h: number, w: number, segments: Segment[], background: number, binary?: () => Promise<Uint8Array>): ImageSegmentation {
    const gpu = graph.outputBuffer(name);
    return {
      task, height: h, width: w, segments, background, gpu,
      labelMap: async () => (await graph.readOne(name)) as Int32Array,
      ...(binary ? { binaryMaps: binary } : {}),
    };
  }

  /** HF post_process_semantic_segmentation: argmax over labels of sum_q softmax(class)[q, label] * sigmoid(mask_q). */
  async semantic(logits: LogitsOnGpu, o: PostProcessOptions = {}): Promise<ImageSegmentation[]> {
    const { B, Q, L, hm, wm, targets } = this.dims(logits, o);
    const key = `semantic|${B},${Q},${L},${hm},${wm},${JSON.stringify(targets)},${logits.maskLogits.byteOffset}`;
    const [graph] = (await this.cached(key, logits.maskLogits.buffer, async () => {
      const g = new GraphBuilder(this.ctx.limits.maxComputeWorkgroupsPerDimension);
      g.within('post_semantic', () => {
        const masks = this.masks(g, logits);
        const probs = g.input('class_probs', [B, L, Q]);
        const s384 = ops.unary(g, 'sigmoid', ops.resizeBilinear(g, masks, [POST_SIZE, POST_SIZE]));
        const seg = ops.matmul(g, probs, g.reshape(s384, [B, Q, POST_SIZE * POST_SIZE]));
        targets.forEach(([h, w], i) => {
          const si = g.view(seg, i * L * POST_SIZE * POST_SIZE, [L, POST_SIZE, POST_SIZE]);
          const map = ops.argmaxChannels(g, g.reshape(ops.resizeBilinear(g, si, [h, w]), [1, L, h * w]));
          g.output(`map.${i}`, map);
          g.output(`hist.${i}`, ops.planeStats(g, map, { kind: 'histogram', labels: map, base: 0, bins: L, cols: w }));
        });
      });
      return [await CompiledGraph.compile(this.ctx, g, this.ctx.pipelines, { label: 'post-semantic' })];
    })) as [CompiledGraph];
    const sm = softmaxRows(logits.classLogits.data, B * Q, L + 1);
    const probs = new Float32Array(B * L * Q);
    for (let b = 0; b < B; b++) for (let q = 0; q < Q; q++) for (let c = 0; c < L; c++) probs[(b * L + c) * Q + q] = sm[(b * Q + q) * (L + 1) + c] as number;
    await graph.run({ class_probs: probs });
    const hists = await graph.read(targets.map((_, i) => `hist.${i}`));
    return targets.map(([h, w], i) => {
      const hist = hists.get(`hist.${i}`) as Float32Array;
      const segments: Segment[] = [];
      for (let c = 0; c < L; c++) {
        const area = hist[c * 4] as number;
        if (area > 0) segments.push({ id: c, labelId: c, score: Number.NaN, wasFused: false, area, ...centre(hist, c) });
      }
      return this.result('semantic', graph, `map.${i}`, h, w, segments, -1);
    });
  }

  /** HF post_process_instance_segmentation (torch's unsorted top-k order, later masks overwrite earlier ones). */
  async instance(logits: LogitsOnGpu, o: PostProcessOptions = {}): Promise<ImageSegmentation[]> {
    const { B, Q, L, hm, wm, targets } = this.dims(logits, o);
    const threshold = o.threshold ?? 0.5;
    const key = `instance|${B},${Q},${L},${hm},${wm},${JSON.stringify(targets)},${logits.maskLogits.byteOffset}`;
    const [stats, paint] = (await this.cached(key, logits.maskLogits.buffer, async () => {
      const g = new GraphBuilder(this.ctx.limits.maxComputeWorkgroupsPerDimension);
      g.within('post_instance', () => {
        const l384 = ops.resizeBilinear(g, this.masks(g, logits), [POST_SIZE, POST_SIZE]);
        g.output('stats384', ops.planeStats(g, l384, { kind: 'positive-sigmoid' }));
        targets.forEach(([h, w], i) => {
          const near = ops.resizeNearest(g, g.view(l384, i * Q * POST_SIZE * POST_SIZE, [Q, POST_SIZE, POST_SIZE]), [h, w]);
          g.output(`near.${i}`, near);
          g.output(`count.${i}`, ops.planeStats(g, g.reshape(near, [1, Q, h * w]), { kind: 'positive-count' }));
        });
      });
      const first = await CompiledGraph.compile(this.ctx, g, this.ctx.pipelines, { label: 'post-instance' });
      const p = new GraphBuilder(this.ctx.limits.maxComputeWorkgroupsPerDimension);
      p.within('post_instance', () => {
        targets.forEach(([h, w], i) => {
          const near = p.external(`near.${i}`, first.outputBuffer(`near.${i}`), [Q, h * w]);
          const seg = ops.paintInstances(p, near, p.input(`segments.${i}`, [Q, 2], 'i32'), -1);
          p.output(`map.${i}`, seg);
          p.output(`hist.${i}`, ops.planeStats(p, seg, { kind: 'histogram', labels: p.reshape(seg, [1, h * w]), base: 0, bins: Q, cols: w }));
        });
      });
      const second = await CompiledGraph.compile(this.ctx, p, this.ctx.pipelines, { label: 'post-instance-paint' });
      return [first, second];
    })) as [CompiledGraph, CompiledGraph];
    await stats.run({});
    const read = await stats.read(['stats384', ...targets.map((_, i) => `count.${i}`)]);
    const s384 = read.get('stats384') as Float32Array;
    const scores = softmaxRows(logits.classLogits.data, B * Q, L + 1);
    const feeds: Record<string, HostArray> = {};
    const chosen: { segments: Segment[]; queries: number[] }[] = [];
    for (let b = 0; b < B; b++) {
      const flat = new Float32Array(Q * L);
      for (let q = 0; q < Q; q++) for (let c = 0; c < L; c++) flat[q * L + c] = scores[(b * Q + q) * (L + 1) + c] as number;
      const top = torchTopkUnsorted(flat, Q);
      const counts = read.get(`count.${b}`) as Float32Array;
      const table = new Int32Array(Q * 2).fill(-1);
      const segs: { id: number; labelId: number; score: number }[] = [];
      const queries: number[] = [];
      top.indices.forEach((flatIdx, j) => {
        const q = Math.floor(flatIdx / L);
        const area = s384[(b * Q + q) * 4] as number;
        const maskScore = (s384[(b * Q + q) * 4 + 1] as number) / (area + 1e-6);
        const score = Math.fround((top.values[j] as number) * Math.fround(maskScore));
        if ((counts[q * 4] as number) > 0 && score >= threshold) {
          table[segs.length * 2] = q;
          table[segs.length * 2 + 1] = segs.length;
          segs.push({ id: segs.length, labelId: flatIdx % L, score: round6(score) });
          queries.push(q);
        }
      });
      feeds[`segments.${b}`] = table;
      chosen.push({ segments: segs.map((s) => ({ ...s, wasFused: false, area: 0, cx: Number.NaN, cy: Number.NaN })), queries });
    }
    await paint.run(feeds);
    const hists = await paint.read(targets.map((_, i) => `hist.${i}`));
    return targets.map(([h, w], i) => {
      const hist = hists.get(`hist.${i}`) as Float32Array;
      const c = chosen[i] as { segments: Segment[]; queries: number[] };
      const segments = c.segments.map((s) => ({ ...s, area: hist[s.id * 4] as number, ...centre(hist, s.id) }));
      const binary = o.return_binary_maps
        ? async (): Promise<Uint8Array> => {
            const near = (await stats.readOne(`near.${i}`)) as Float32Array;
            const out = new Uint8Array(c.queries.length * h * w);
            c.queries.forEach((q, k) => {
              for (let p = 0; p < h * w; p++) out[k * h * w + p] = (near[q * h * w + p] as number) > 0 ? 1 : 0;
            });
            return out;
          }
        : undefined;
      return this.result('instance', paint, `map.${i}`, h, w, segments, -1, binary);
    });
  }

  /** HF post_process_panoptic_segmentation (score-weighted probabilities, area-ratio filter, optional label fusion). */
  async panoptic(logits: LogitsOnGpu, o: PostProcessOptions = {}): Promise<ImageSegmentation[]> {
    const { B, Q, L, hm, wm, targets } = this.dims(logits, o);
    const threshold = o.threshold ?? 0.5;
    const maskThreshold = o.mask_threshold ?? 0.5;
    const overlap = o.overlap_mask_area_threshold ?? 0.8;
    const fuse = new Set(o.label_ids_to_fuse ?? []);
    const key = `panoptic|${B},${Q},${L},${hm},${wm},${JSON.stringify(targets)},${maskThreshold},${logits.maskLogits.byteOffset}`;
    const [areas, paint] = (await this.cached(key, logits.maskLogits.buffer, async () => {
      const g = new GraphBuilder(this.ctx.limits.maxComputeWorkgroupsPerDimension);
      g.within('post_panoptic', () => {
        const p384 = ops.unary(g, 'sigmoid', ops.resizeBilinear(g, this.masks(g, logits), [POST_SIZE, POST_SIZE]));
        targets.forEach(([h, w], i) => {
          const probs = g.reshape(ops.resizeBilinear(g, g.view(p384, i * Q * POST_SIZE * POST_SIZE, [Q, POST_SIZE, POST_SIZE]), [h, w]), [1, Q, h * w]);
          const weights = g.input(`weights.${i}`, [1, Q]);
          const am = ops.argmaxChannels(g, probs, weights);
          g.output(`argmax.${i}`, am);
          g.output(`areas.${i}`, ops.planeStats(g, probs, { kind: 'panoptic-areas', labels: am, weights, threshold: maskThreshold }));
        });
      });
      const first = await CompiledGraph.compile(this.ctx, g, this.ctx.pipelines, { label: 'post-panoptic' });
      const p = new GraphBuilder(this.ctx.limits.maxComputeWorkgroupsPerDimension);
      p.within('post_panoptic', () => {
        targets.forEach(([h, w], i) => {
          const am = p.external(`argmax.${i}`, first.outputBuffer(`argmax.${i}`), [1, h * w], 'i32');
          const seg = ops.remap(p, am, p.input(`ids.${i}`, [Q + 1], 'i32'));
          p.output(`map.${i}`, seg);
          p.output(`hist.${i}`, ops.planeStats(p, seg, { kind: 'histogram', labels: seg, base: 1, bins: Q, cols: w }));
        });
      });
      const second = await CompiledGraph.compile(this.ctx, p, this.ctx.pipelines, { label: 'post-panoptic-paint' });
      return [first, second];
    })) as [CompiledGraph, CompiledGraph];
    const sm = softmaxRows(logits.classLogits.data, B * Q, L + 1);
    const best = Array.from({ length: B * Q }, (_, r) => {
      let arg = 0;
      for (let c = 1; c <= L; c++) if ((sm[r * (L + 1) + c] as number) > (sm[r * (L + 1) + arg] as number)) arg = c;
      return { label: arg, score: sm[r * (L + 1) + arg] as number };
    });
    const feeds: Record<string, HostArray> = {};
    for (let b = 0; b < B; b++) {
      const w = new Float32Array(Q).fill(-1);
      for (let q = 0; q < Q; q++) {
        const { label, score } = best[b * Q + q] as { label: number; score: number };
        if (label !== L && score > threshold) w[q] = score;
      }
      feeds[`weights.${b}`] = w;
    }
    await areas.run(feeds);
    const stats = await areas.read(targets.map((_, i) => `areas.${i}`));
    const chosen: Segment[][] = [];
    for (let b = 0; b < B; b++) {
      const st = stats.get(`areas.${b}`) as Float32Array;
      const ids = new Int32Array(Q + 1);
      const segments: Segment[] = [];
      const stuff = new Map<number, number>();
      let current = 0;
      let anyKept = false;
      for (let q = 0; q < Q; q++) {
        const w = (feeds[`weights.${b}`] as Float32Array)[q] as number;
        if (w < 0) continue;
        anyKept = true;
        const { label } = best[b * Q + q] as { label: number };
        const maskArea = st[q * 4] as number;
        const ownArea = st[q * 4 + 1] as number;
        if (!(maskArea > 0 && ownArea > 0 && maskArea / ownArea > overlap)) continue;
        const fused = fuse.has(label);
        let id: number;
        if (stuff.has(label)) id = stuff.get(label) as number;
        else id = ++current;
        ids[q] = id;
        // HF lists every kept query, so a fused label appears once per query, with the same id.
        segments.push({ id, labelId: label, score: round6(w), wasFused: fused, area: 0, cx: Number.NaN, cy: Number.NaN });
        if (fused) stuff.set(label, id);
      }
      ids[Q] = anyKept ? 0 : -1;
      feeds[`ids.${b}`] = ids;
      chosen.push(segments);
    }
    await paint.run(feeds);
    const hists = await paint.read(targets.map((_, i) => `hist.${i}`));
    return targets.map(([h, w], i) => {
      const hist = hists.get(`hist.${i}`) as Float32Array;
      const segments = (chosen[i] as Segment[]).map((s) => ({ ...s, area: hist[(s.id - 1) * 4] as number, ...centre(hist, s.id - 1) }));
      const background = (feeds[`ids.${i}`] as Int32Array)[Q] as number;
      return this.result('panoptic', paint, `map.${i}`, h, w, segments, background);
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const { graphs } of this.cache.values()) graphs.forEach((g) => g.dispose());
    this.cache.clear();
  }
}
