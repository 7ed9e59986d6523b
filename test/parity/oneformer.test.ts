/**
 * OneFormer forward pass vs HF transformers, stage by stage, on test/fixtures/oneformer/swin-tiny,
 * loaded as a user would (checkpoint folder, image0.png preprocessed on the GPU): one planned graph,
 * run three times with the task_inputs our CLIP tokenizer makes from the checkpoint's vocab.json +
 * merges.txt (semantic, instance, panoptic). Tolerance: max abs error
 * <= 1e-4 * max|reference| per tensor (measured errors printed); attention masks and task_inputs
 * must match exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import type { HostArray } from '../../src/graph/runner.ts';
import { parseOneFormerConfig } from '../../src/config/index.ts';
import { attentionMaskAsHf } from '../../src/models/mask2former/model.ts';
import { ONEFORMER_TASKS } from '../../src/models/oneformer/tokenizer.ts';
import { SegmentationModel } from '../../src/models/session.ts';
import { checkpointFromDir, readImage } from '../../src/cli/node-io.ts';
import { writeSafetensors, type WritableTensor } from '../../src/weights/safetensors.ts';
import { oneFormerStateDictShapes, type HfOneFormerShapeConfig } from '../ref/hf-oneformer-checkpoint.ts';
import { compareStages } from './stages.ts';
import { FIXTURES, readJson, readTensors, type RefTensor } from '../fixture-files.ts';

const REL_TOL = 1e-4;
const DIR = join(FIXTURES, 'oneformer', 'swin-tiny');

/** Task-independent stages first (backbone, pixel decoder), then each task's stages in model order. */
function stageOrder(names: readonly string[], layers: number): string[] {
  const shared = [
    'model.pixel_level_module.encoder.embeddings',
    ...[0, 1, 2, 3].flatMap((s) => [`model.pixel_level_module.encoder.encoder.layers.${s}.hidden_states_before_downsampling`, `model.pixel_level_module.encoder.encoder.layers.${s}`]),
    ...[0, 1, 2, 3].map((i) => `encoder_hidden_states.${i}`),
    ...[0, 1, 2].map((l) => `model.pixel_level_module.decoder.input_projections.${l}`),
    'model.pixel_level_module.decoder.encoder.layers.0.self_attn',
    ...names.filter((n) => /^model\.pixel_level_module\.decoder\.encoder\.layers\.\d+$/.test(n)).sort(),
    ...[1, 2, 3, 0].map((l) => `pixel_decoder_hidden_states.${l}`),
  ];
  const perTask = (t: string): string[] => {
    const o = [`${t}.task_token`, `${t}.model.task_encoder`, `${t}.model.transformer_module.decoder.query_transformer`, `${t}.transformer_decoder_contrastive_queries`];
    for (let k = 0; k <= layers; k++) {
      o.push(`${t}.transformer_decoder_intermediate_states.${k}`);
      if (k < layers) o.push(`${t}.auxiliary_predictions.${k}.class_queries_logits`, `${t}.auxiliary_predictions.${k}.masks_queries_logits`);
      o.push(`${t}.debug.attention_mask_logits.${k}`);
      if (k < layers) o.push(`${t}.debug.attention_mask.${k}`, `${t}.model.transformer_module.decoder.layers.${k}`);
    }
    o.push(`${t}.transformer_decoder_object_queries`, `${t}.class_queries_logits`, `${t}.masks_queries_logits`);
    return o;
  };
  return [...shared, ...ONEFORMER_TASKS.flatMap(perTask)].filter((n) => names.includes(n));
}

describe('oneformer/swin-tiny forward parity (image0.png through the checkpoint folder, three tasks)', () => {
  let ctx: GpuContext;
  let expected: Map<string, RefTensor>;
  const got = new Map<string, HostArray>();
  const graphs = new Set<unknown>();
  let order: string[] = [];
  let variant: Map<string, Float32Array> = new Map();
  const live = new Map<GPUBuffer, number>();
  let buffers = { beforeLoad: 0, afterRound1: 0, afterRound3: 0, afterDispose: 0 };
  let plainGraphs = 0;
  beforeAll(async () => {
    ctx = await requestNodeGpu({ precision: 'f32' }); // HF parity is the f32 contract (f16 weights: test/gpu/f16.test.ts)
    // Count live GPU buffers (repeated task switches must not grow them; dispose() frees all).
    const create = ctx.device.createBuffer.bind(ctx.device);
    ctx.device.createBuffer = (d: GPUBufferDescriptor) => {
      const b = create(d);
      live.set(b, d.size);
      const destroy = b.destroy.bind(b);
      b.destroy = () => {
        live.delete(b);
        destroy();
      };
      return b;
    };
    const beforeLoad = live.size;
    expected = await readTensors(join(DIR, 'expected.safetensors'));
    // The whole user path: folder (config, preprocessor, tokenizer files) -> GPU preprocessing -> model.
    const model = await SegmentationModel.load(ctx, await checkpointFromDir(DIR));
    const image = readImage(join(DIR, 'image0.png'));
    const layers = parseOneFormerConfig(readJson(join(DIR, 'config.json'))).numInstantiatedDecoderLayers;
    let steps = 0;
    for (const task of ONEFORMER_TASKS) {
      const r = await model.forward({ images: [image] }, { intermediates: true, task });
      graphs.add(r.graph);
      steps = r.graph.stats.steps;
      for (const [k, v] of r.outputs) {
        const shared = /^(pixel_values|encoder_hidden_states|pixel_decoder_hidden_states|model\.pixel_level_module)/.test(k);
        if (!shared) got.set(`${task}.${k}`, v.data);
        else if (task === 'semantic') got.set(k, v.data);
      }
      const raw = await r.graph.read(Array.from({ length: layers }, (_, k) => `debug.attention_mask_raw.${k}`));
      for (let k = 0; k < layers; k++) {
        const ref = expected.get(`${task}.debug.attention_mask.${k}`) as RefTensor;
        got.set(`${task}.debug.attention_mask.${k}`, attentionMaskAsHf(raw.get(`debug.attention_mask_raw.${k}`) as Uint32Array, (ref.shape[0] as number) * (ref.shape[1] as number), ref.shape[2] as number) as unknown as HostArray);
      }
    }
    // Plain passes (no intermediates: their own planned graph), three rounds of the three tasks.
    const plain = new Set<unknown>();
    const round = async (): Promise<void> => {
      for (const task of ONEFORMER_TASKS) plain.add((await model.forward({ images: [image] }, { task })).graph);
    };
    await round();
    const afterRound1 = live.size;
    await round();
    await round();
    plainGraphs = plain.size;
    buffers = { beforeLoad, afterRound1, afterRound3: live.size, afterDispose: -1 };
    order = ['pixel_values', ...stageOrder([...expected.keys()], layers)];
    console.log(`oneformer/swin-tiny: ${order.length} stages compared, ${steps} GPU steps, adapter ${ctx.adapterName}`);
    model.dispose();
    buffers.afterDispose = live.size;
    console.log(`live GPU buffers: ${JSON.stringify(buffers)}`);
    variant = await runVariant(ctx, image, readJson(join(DIR, 'config.json')) as Record<string, unknown>);
  });
  afterAll(() => ctx?.dispose());

  it('task_inputs identical to HF (ids fed as floats)', () => {
    for (const task of ONEFORMER_TASKS) {
      const ref = expected.get(`${task}.task_inputs`) as RefTensor;
      expect([...(got.get(`${task}.task_inputs`) as Float32Array)]).toEqual([...(ref.data as BigInt64Array)].map(Number));
    }
  });

  it('switches task without a new graph or new weights; live buffers flat over 3 rounds; dispose() frees them', () => {
    expect(graphs.size).toBe(1);
    expect(plainGraphs).toBe(1);
    expect(buffers.afterRound3).toBe(buffers.afterRound1);
    expect(buffers.afterDispose).toBe(buffers.beforeLoad);
  });

  it('runs a checkpoint of other shapes (hidden 48 != conv 64, no task norm, 5 decoder layers, Q=7): finite logits that depend on the task', () => {
    for (const [k, v] of variant) expect(v.every(Number.isFinite), k).toBe(true);
    const a = variant.get('semantic.class_queries_logits') as Float32Array;
    const b = variant.get('panoptic.class_queries_logits') as Float32Array;
    expect(a.length).toBe(7 * 4);
    expect(a.some((x, i) => x !== b[i])).toBe(true);
  });

  it('produces every stage of expected.safetensors, in order, within tolerance', () => {
    const { rows, firstBad } = compareStages(order, expected, got, REL_TOL, 80);
    console.log(`oneformer/swin-tiny parity, tolerance ${REL_TOL} x max|ref|:\n${rows.join('\n')}`);
    expect(firstBad, `first divergent stage: ${firstBad}`).toBeUndefined();
  });
});

/** Deterministic small weights (no reference values: this checks the other code paths run). */
function variantCheckpoint(shapes: HfOneFormerShapeConfig): Uint8Array {
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const tensors: Record<string, WritableTensor> = {};
  for (const [k, v] of oneFormerStateDictShapes(shapes)) {
    const n = v.shape.reduce((a, b) => a * b, 1);
    if (v.dtype === 'I64') {
      // Swin relative_position_index: the standard index.
      const ws = Math.round(Math.sqrt(v.shape[0] as number));
      const idx = new BigInt64Array(n);
      for (let i = 0; i < ws * ws; i++) for (let j = 0; j < ws * ws; j++) {
        const dy = Math.floor(i / ws) - Math.floor(j / ws) + ws - 1;
        const dx = (i % ws) - (j % ws) + ws - 1;
        idx[i * ws * ws + j] = BigInt(dy * (2 * ws - 1) + dx);
      }
      tensors[k] = { dtype: 'I64', shape: v.shape, data: idx };
      continue;
    }
    const isNormWeight = /norm|layernorm/.test(k) && k.endsWith('.weight') && v.shape.length === 1;
    const fan = v.shape.length >= 2 ? v.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    const scale = isNormWeight ? 0.1 : v.shape.length >= 2 ? 1 / Math.sqrt(fan) : 0.05;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (isNormWeight ? 1 : 0) + scale * rnd() * 2;
    tensors[k] = { dtype: 'F32', shape: v.shape, data };
  }
  return writeSafetensors(tensors);
}

async function runVariant(ctx: GpuContext, image: ReturnType<typeof readImage>, base: Record<string, unknown>): Promise<Map<string, Float32Array>> {
  const shapes: HfOneFormerShapeConfig = {
    embedDim: 12, depths: [2, 2, 2, 2], numHeads: [1, 2, 4, 8], windowSize: 7, featureSize: 64, maskFeatureSize: 64, hiddenDim: 48,
    encoderLayers: 1, encoderFfn: 96, decoderLayers: 5, decoderFfn: 96, heads: 4, queries: 7, labels: 3, queryDecLayers: 1, taskSeqLen: 77,
  };
  const config = {
    ...base, hidden_dim: 48, encoder_layers: 1, encoder_feedforward_dim: 96, decoder_layers: 5, dim_feedforward: 96, num_queries: 7,
    query_dec_layers: 1, use_task_norm: false, id2label: { 0: 'a', 1: 'b', 2: 'c' }, label2id: { a: 0, b: 1, c: 2 },
  };
  const folder = await checkpointFromDir(DIR);
  const model = await SegmentationModel.load(ctx, { ...folder, config, weights: variantCheckpoint(shapes), name: 'variant' });
  const out = new Map<string, Float32Array>();
  for (const task of ['semantic', 'panoptic'] as const) {
    const r = await model.forward({ images: [image] }, { task });
    for (const [k, v] of r.outputs) out.set(`${task}.${k}`, v.data as Float32Array);
  }
  model.dispose();
  return out;
}
