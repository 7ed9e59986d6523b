/**
 * The maskgpu command line (Node, Dawn; SwiftShader on machines without a GPU).
 *   maskgpu segment (--image FILE ... | --images DIR) [--out-dir DIR] ...   (segment.ts, args.ts)
 *   maskgpu infer --model DIR --image FILE --out OUT.safetensors [--task T] [--pixel-values FILE] [--intermediates] [--precision auto|f32]
 *   maskgpu --version
 * Any error: exit code 1 with a one-line reason on stderr (usage errors add the usage text).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { requestNodeGpu } from '../gpu/node.ts';
import { attentionMaskAsHf } from '../models/common/masked-attention-decoder.ts';
import { SegmentationModel, type ForwardResult } from '../models/session.ts';
import { streamSafetensors, toFloat32, writeSafetensors, type WritableTensor } from '../weights/safetensors.ts';
import { readImage } from '../image-io/index.ts';
import { checkpointFromDir } from './node-io.ts';
import { parsePrecision, parseSegmentArgs, SEGMENT_USAGE, UsageError } from './args.ts';
import { processSinks, type Sinks } from './progress.ts';
import { runSegment } from './segment.ts';
import type { Task } from '../post/segment.ts';
import pkg from '../../package.json';

const INFER_USAGE = `usage: maskgpu infer --model DIR --image FILE --out OUT.safetensors [--task semantic|instance|panoptic]
                     [--pixel-values FILE.safetensors] [--intermediates] [--precision auto|f32]

  Runs the checkpoint's model (MaskFormer, Mask2Former or OneFormer, from config.json's model_type)
  on one image (preprocessed on the GPU as the checkpoint's preprocessor_config.json says, or
  pixel_values taken from a safetensors file) and writes class_queries_logits, masks_queries_logits
  (F32) to OUT; --intermediates adds every intermediate under the names of HF's outputs. OneFormer
  needs --task (its prompt "the task is <task>", tokenised with the checkpoint's CLIP tokenizer; with
  --intermediates task_inputs is written too, as I64 like HF's processor output). --precision f32
  keeps every weight f32 (HF-exact); auto (default) keeps linear weights f16 where the adapter has
  shader-f16.`;

const USAGE = `usage: maskgpu <command> [options]

  segment   segment images (PNG / JPEG) with a MaskFormer / Mask2Former / OneFormer checkpoint; writes overlays,
            label maps, segments and COCO files   (maskgpu segment --help)
  infer     write a checkpoint's logits for one image as safetensors   (maskgpu infer --help)
  --version print the version`;

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
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        model: { type: 'string' },
        image: { type: 'string' },
        out: { type: 'string' },
        'pixel-values': { type: 'string' },
        intermediates: { type: 'boolean', default: false },
        task: { type: 'string' },
        precision: { type: 'string' },
      },
      strict: true,
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? (e.message.split('. ')[0] ?? e.message) : String(e));
  }
  const { values } = parsed;
  if (!values.model) throw new UsageError('--model DIR is required');
  const task = values.task as Task | undefined;
  if (task !== undefined && !['semantic', 'instance', 'panoptic'].includes(task)) throw new UsageError(`--task must be semantic, instance or panoptic, got '${values.task}'`);
  if (!values.out) throw new UsageError('--out OUT.safetensors is required');
  if (!values.image && !values['pixel-values']) throw new UsageError('--image FILE or --pixel-values FILE is required');
  const ctx = await requestNodeGpu({ precision: parsePrecision(values.precision) });
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

/** The version of the package this CLI was built from. */
export const VERSION: string = pkg.version;

/**
 * Runs one CLI invocation; returns the exit code (0 ok, 2 some images failed, 1 usage or fatal
 * error, reported as one line on stderr; usage errors add the usage text).
 */
export async function main(argv: string[], sinks: Sinks = processSinks()): Promise<number> {
  const [command, ...rest] = argv;
  let usage = USAGE;
  try {
    if (command === 'segment') {
      usage = SEGMENT_USAGE;
      const args = parseSegmentArgs(rest);
      if (args.help) {
        sinks.out(SEGMENT_USAGE);
        return 0;
      }
      return await runSegment(args, sinks);
    }
    if (command === 'infer') {
      usage = INFER_USAGE;
      if (rest.includes('--help') || rest.includes('-h')) {
        sinks.out(INFER_USAGE);
        return 0;
      }
      await infer(rest);
      return 0;
    }
    if (command === '--version' || command === '-v' || command === 'version') {
      sinks.out(VERSION);
      return 0;
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      sinks.out(USAGE);
      return 0;
    }
    throw new UsageError(command === undefined ? 'no command given' : `unknown command '${command}'`);
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    sinks.err(`maskgpu: ${msg.split('\n')[0]}\n`);
    if (e instanceof UsageError) sinks.err(`\n${usage}\n`);
    return 1;
  }
}
