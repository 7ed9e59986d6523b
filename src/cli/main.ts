/**
 * The maskgpu command line (Node, Dawn; SwiftShader on machines without a GPU).
 *   maskgpu infer --model DIR --image FILE --out OUT.safetensors [--task T] [--pixel-values FILE] [--intermediates]
 * Any error: exit code 1 with a one-line reason on stderr.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MaskgpuError } from '../errors.ts';
import { requestNodeGpu } from '../gpu/node.ts';
import { attentionMaskAsHf } from '../models/common/masked-attention-decoder.ts';
import { SegmentationModel, type ForwardResult } from '../models/session.ts';
import { streamSafetensors, toFloat32, writeSafetensors, type WritableTensor } from '../weights/safetensors.ts';
import { checkpointFromDir, readImage, writePng } from './node-io.ts';
import { Segmenter } from '../segmenter.ts';
import type { Task } from '../post/segment.ts';

const USAGE = `usage:
  maskgpu segment [--model DIR|URL] --image FILE [--task panoptic|instance|semantic] [--out overlay.png]
                  [--json segments.json] [--label-map labels.png] [--threshold 0.5] [--mask-threshold 0.5]
                  [--overlap 0.8] [--fuse 1,2] [--opacity 0.55]
  maskgpu infer --model DIR --image FILE --out OUT.safetensors [--task semantic|instance|panoptic]
                [--pixel-values FILE.safetensors] [--intermediates]

  segment runs the model and HF's post-processing, prints the segments and writes what is asked
          (--model defaults to the embedded shapes model in weights/shapes).

  infer   runs the checkpoint's model (Mask2Former or OneFormer, from config.json's model_type) on one image
          (preprocessed on the GPU as the checkpoint's preprocessor_config.json says, or pixel_values taken
          from a safetensors file) and writes class_queries_logits, masks_queries_logits (F32) to OUT;
          --intermediates adds every intermediate under the names of HF's outputs. OneFormer needs --task
          (its prompt "the task is <task>", tokenised with the checkpoint's CLIP tokenizer; with
          --intermediates task_inputs is written too, as I64 like HF's processor output).`;

class UsageError extends MaskgpuError {
  override name = 'UsageError';
}

function fmtMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`;
}

async function readPixelValues(path: string): Promise<{ data: Float32Array; shape: [number, 3, number, number] }> {
  const bytes = readFileSync(path);
  let found: { data: Float32Array; shape: [number, 3, number, number] } | undefined;
  await streamSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), (info, b) => {
    if (info.name !== 'pixel_values') return;
    if (info.shape.length !== 4 || info.shape[1] !== 3) throw new UsageError(`${path}: pixel_values must be [B, 3, H, W], got [${info.shape.join(', ')}]`);
    found = { data: toFloat32(info, b, path), shape: info.shape as [number, 3, number, number] };
  }, { file: path });
  if (!found) throw new UsageError(`${path}: has no tensor named pixel_values`);
  return found;
}

function toWritable(result: ForwardResult): Record<string, WritableTensor> {
  const out: Record<string, WritableTensor> = {};
  for (const [name, t] of result.outputs) {
    if (name.startsWith('debug.attention_mask_raw.')) {
      const [B, Q, n] = t.shape as [number, number, number];
      out[name.replace('_raw', '')] = { dtype: 'U8', shape: t.shape, data: attentionMaskAsHf(t.data as Uint32Array, B * Q, n) };
    } else if (name === 'task_inputs') {
      // Token ids (exact in float32), written as HF's processor returns them: int64.
      out[name] = { dtype: 'I64', shape: t.shape, data: BigInt64Array.from(t.data as Float32Array, (x) => BigInt(x)) };
    } else {
      out[name] = { dtype: 'F32', shape: t.shape, data: t.data as Float32Array };
    }
  }
  return out;
}

async function infer(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      image: { type: 'string' },
      out: { type: 'string' },
      'pixel-values': { type: 'string' },
      intermediates: { type: 'boolean', default: false },
      task: { type: 'string' },
    },
    strict: true,
  });
  if (!values.model) throw new UsageError('--model DIR is required');
  const task = values.task as Task | undefined;
  if (task !== undefined && !['semantic', 'instance', 'panoptic'].includes(task)) throw new UsageError(`--task must be semantic, instance or panoptic, got '${values.task}'`);
  if (!values.out) throw new UsageError('--out OUT.safetensors is required');
  if (!values.image && !values['pixel-values']) throw new UsageError('--image FILE or --pixel-values FILE is required');
  const ctx = await requestNodeGpu();
  try {
    console.log(`adapter: ${ctx.adapterName}`);
    const t0 = performance.now();
    const model = await SegmentationModel.load(ctx, await checkpointFromDir(values.model), { profile: true });
    console.log(`loaded ${values.model} (${model.spec.displayName}): ${model.weights.count} tensors, ${(model.weights.bytes / 2 ** 20).toFixed(1)} MiB on the GPU, ${fmtMs(performance.now() - t0)}`);
    if (model.spec.feeds && task === undefined) throw new UsageError(`${model.spec.displayName} takes a task prompt: --task semantic|instance|panoptic is required`);
    const fwd = { intermediates: values.intermediates, ...(task ? { task } : {}) };
    let result: ForwardResult;
    if (values['pixel-values']) {
      const pv = await readPixelValues(values['pixel-values']);
      console.log(`pixel_values [${pv.shape.join(', ')}] from ${values['pixel-values']}`);
      result = await model.forward({ pixelValues: pv.data, shape: pv.shape }, fwd);
    } else {
      const image = readImage(values.image as string);
      result = await model.forward({ images: [image] }, fwd);
      const g = result.geometry;
      if (g) console.log(`image ${image.width}x${image.height} -> resized ${g.resized[0]?.[1]}x${g.resized[0]?.[0]} -> pixel_values [1, 3, ${g.padded[0]}, ${g.padded[1]}]`);
    }
    if (values.intermediates) {
      // The decoder's attention masks (written as HF's U8 debug.attention_mask.{k} by toWritable).
      for (let k = 0; ; k++) {
        const name = `debug.attention_mask_raw.${k}`;
        let shape: readonly number[];
        try {
          shape = result.graph.tensor(name).shape;
        } catch {
          break;
        }
        result.outputs.set(name, { shape, data: await result.graph.readOne(name) });
      }
    }
    const stages = Object.entries(result.timings).map(([k, v]) => `${k} ${fmtMs(v)}`).join(', ');
    console.log(`timings (first pass: includes pipeline creation in total): ${stages}`);
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, writeSafetensors(toWritable(result), { producer: 'maskgpu' }));
    const cls = result.outputs.get('class_queries_logits');
    const masks = result.outputs.get('masks_queries_logits');
    console.log(`wrote ${values.out}: ${result.outputs.size} tensors (class_queries_logits [${cls?.shape.join(', ')}], masks_queries_logits [${masks?.shape.join(', ')}])`);
    model.dispose();
  } finally {
    ctx.dispose();
  }
}

/** The embedded default model, next to dist/ in the package. */
const DEFAULT_MODEL = fileURLToPath(new URL('../weights/shapes/', import.meta.url));

function numberArg(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${v}'`);
  return n;
}

async function segment(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, image: { type: 'string' }, task: { type: 'string', default: 'panoptic' },
      out: { type: 'string' }, json: { type: 'string' }, 'label-map': { type: 'string' },
      threshold: { type: 'string' }, 'mask-threshold': { type: 'string' }, overlap: { type: 'string' },
      fuse: { type: 'string' }, opacity: { type: 'string' },
    },
    strict: true,
  });
  if (!values.image) throw new UsageError('--image FILE is required');
  const task = values.task as Task;
  if (!['semantic', 'instance', 'panoptic'].includes(task)) throw new UsageError(`--task must be semantic, instance or panoptic, got '${values.task}'`);
  const fuse = values.fuse ? values.fuse.split(',').map((x) => numberArg(x.trim(), 'fuse', 0)) : undefined;
  const modelPath = values.model ?? DEFAULT_MODEL;
  const gpu = await requestNodeGpu();
  try {
    const t0 = performance.now();
    const source = /^https?:\/\//.test(modelPath) ? modelPath : await checkpointFromDir(modelPath);
    const segmenter = await Segmenter.load(source, { gpu, profile: process.env.MASKGPU_PROFILE === "1" });
    console.log(`adapter: ${gpu.adapterName}`);
    console.log(`model: ${modelPath} (${segmenter.model.weights.count} tensors, ${(segmenter.model.weights.bytes / 2 ** 20).toFixed(1)} MiB), loaded in ${fmtMs(performance.now() - t0)}`);
    const image = readImage(values.image);
    const result = await segmenter.segment(image, {
      task,
      threshold: numberArg(values.threshold, 'threshold', 0.5),
      mask_threshold: numberArg(values['mask-threshold'], 'mask-threshold', 0.5),
      overlap_mask_area_threshold: numberArg(values.overlap, 'overlap', 0.8),
      ...(fuse ? { label_ids_to_fuse: fuse } : {}),
    });
    console.log(`${task} segmentation of ${values.image} (${image.width}x${image.height}): ${result.segments.length} segment(s)`);
    for (const s of result.segments) {
      console.log(`  id ${String(s.id).padStart(3)}  ${s.label.padEnd(16)} ${Number.isNaN(s.score) ? '     ' : s.score.toFixed(3)}  area ${s.area}${s.wasFused ? ' (fused)' : ''}`);
    }
    console.log(`timings: ${Object.entries(result.timings).map(([k, v]) => `${k} ${fmtMs(v)}`).join(', ')}`);
    const write = (path: string, bytes: Uint8Array): void => {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
      console.log(`wrote ${path}`);
    };
    if (values.out) write(values.out, writePng(await result.overlay({ opacity: numberArg(values.opacity, 'opacity', 0.55) })));
    if (values['label-map']) write(values['label-map'], writePng(await result.labelImage()));
    if (values.json) {
      const json = { image: values.image, task, width: result.width, height: result.height, background: result.background, labels: segmenter.labels, segments: result.segments, timings: result.timings };
      write(values.json, new TextEncoder().encode(`${JSON.stringify(json, (_, v: unknown) => (typeof v === 'number' && Number.isNaN(v) ? null : v), 2)}\n`));
    }
    segmenter.dispose();
  } finally {
    gpu.dispose();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'infer') await infer(rest);
    else if (command === 'segment') await segment(rest);
    else if (command === undefined || command === '--help' || command === '-h') {
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    } else throw new UsageError(`unknown command '${command}'\n${USAGE}`);
    return 0;
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    console.error(`maskgpu: ${msg.split('\n')[0]}`);
    return 1;
  }
}
