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
import { maxErrors } from '../ref/compare.ts';
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
  beforeAll(async () => {
    ctx = await requestNodeGpu();
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
    order = ['pixel_values', ...stageOrder([...expected.keys()], layers)];
    console.log(`oneformer/swin-tiny: ${order.length} stages compared, ${steps} GPU steps, adapter ${ctx.adapterName}`);
    model.dispose();
  });
  afterAll(() => ctx?.dispose());

  it('task_inputs identical to HF (ids fed as floats)', () => {
    for (const task of ONEFORMER_TASKS) {
      const ref = expected.get(`${task}.task_inputs`) as RefTensor;
      expect([...(got.get(`${task}.task_inputs`) as Float32Array)]).toEqual([...(ref.data as BigInt64Array)].map(Number));
    }
  });

  it('switches task without a new graph or new weights', () => {
    expect(graphs.size).toBe(1);
  });

  it('produces every stage of expected.safetensors, in order, within tolerance', () => {
    const rows: string[] = [];
    let firstBad: string | undefined;
    for (const n of order) {
      const ref = expected.get(n) as RefTensor;
      const mine = got.get(n);
      if (!mine) {
        firstBad ??= `${n} (not produced)`;
        continue;
      }
      if (ref.dtype === 'U8') {
        const a = mine as unknown as Uint8Array;
        let diff = 0;
        for (let i = 0; i < ref.data.length; i++) if (a[i] !== (ref.data as Uint8Array)[i]) diff++;
        rows.push(`${n.padEnd(80)} ${diff === 0 ? 'exact' : `${diff} of ${ref.data.length} differ`}`);
        if (diff > 0) firstBad ??= n;
        continue;
      }
      const e = maxErrors(mine as Float32Array, ref.data as Float32Array);
      rows.push(`${n.padEnd(80)} max abs ${e.maxAbs.toExponential(2)}  rel ${e.maxRel.toExponential(2)}  (max|ref| ${e.maxRef.toFixed(3)})`);
      if (!(e.maxRel <= REL_TOL)) firstBad ??= `${n} (rel ${e.maxRel.toExponential(2)} > ${REL_TOL})`;
    }
    console.log(`oneformer/swin-tiny parity, tolerance ${REL_TOL} x max|ref|:\n${rows.join('\n')}`);
    expect(firstBad, `first divergent stage: ${firstBad}`).toBeUndefined();
  });
});
