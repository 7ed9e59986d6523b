/**
 * OneFormer forward pass vs HF transformers, stage by stage, on test/fixtures/oneformer/swin-tiny:
 * one compiled graph, run three times with the task_inputs our CLIP tokenizer makes from the
 * checkpoint's vocab.json + merges.txt (semantic, instance, panoptic). Tolerance: max abs error
 * <= 1e-4 * max|reference| per tensor (measured errors printed); attention masks and task_inputs
 * must match exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { CompiledGraph, type HostArray } from '../../src/graph/runner.ts';
import { parseOneFormerConfig } from '../../src/config/index.ts';
import { attentionMaskAsHf } from '../../src/models/mask2former/model.ts';
import { buildOneFormer } from '../../src/models/oneformer/model.ts';
import { ClipTokenizer, ONEFORMER_TASKS } from '../../src/models/oneformer/tokenizer.ts';
import { WeightStore } from '../../src/weights/store.ts';
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

describe('oneformer/swin-tiny forward parity (pixel_values from the fixture, three tasks)', () => {
  let ctx: GpuContext;
  let expected: Map<string, RefTensor>;
  const got = new Map<string, HostArray>();
  let order: string[] = [];
  beforeAll(async () => {
    ctx = await requestNodeGpu();
    expected = await readTensors(join(DIR, 'expected.safetensors'));
    const cfg = parseOneFormerConfig(readJson(join(DIR, 'config.json')));
    const tok = ClipTokenizer.fromFiles({ vocab: readJson(join(DIR, 'vocab.json')), merges: readFileSync(join(DIR, 'merges.txt'), 'utf8'), tokenizerConfig: readJson(join(DIR, 'tokenizer_config.json')), name: DIR });
    const bytes = readFileSync(join(DIR, 'model.safetensors'));
    const store = await WeightStore.load(ctx, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { file: 'oneformer/swin-tiny/model.safetensors' });
    const pv = expected.get('pixel_values') as RefTensor;
    const built = buildOneFormer(cfg, store, { kind: 'pixel-values', shape: pv.shape as [number, 3, number, number] }, { intermediates: true });
    const graph = await CompiledGraph.compile(ctx, built.graph, ctx.pipelines, { weights: store });
    for (const task of ONEFORMER_TASKS) {
      const taskInputs = tok.taskInputs(task, cfg.taskSeqLen);
      got.set(`${task}.task_inputs`, taskInputs);
      await graph.run({ pixel_values: pv.data as Float32Array, task_inputs: taskInputs });
      const outs = await graph.read(built.outputNames);
      for (const [k, v] of outs) {
        const perTask = !/^(encoder_hidden_states|pixel_decoder_hidden_states|model\.pixel_level_module)/.test(k);
        if (perTask) got.set(`${task}.${k}`, v);
        else if (task === 'semantic') got.set(k, v);
      }
      for (let k = 0; k < cfg.numInstantiatedDecoderLayers; k++) {
        const raw = got.get(`${task}.debug.attention_mask_raw.${k}`) as Uint32Array | undefined;
        const ref = expected.get(`${task}.debug.attention_mask.${k}`) as RefTensor;
        if (raw) got.set(`${task}.debug.attention_mask.${k}`, attentionMaskAsHf(raw, (ref.shape[0] as number) * (ref.shape[1] as number), ref.shape[2] as number) as unknown as HostArray);
      }
    }
    order = stageOrder([...expected.keys()], cfg.numInstantiatedDecoderLayers);
    console.log(`oneformer/swin-tiny: ${order.length} stages compared, ${built.graph.steps.length} GPU steps, adapter ${ctx.adapterName}`);
    graph.dispose();
    store.dispose();
  });
  afterAll(() => ctx?.dispose());

  it('task_inputs identical to HF (ids fed as floats)', () => {
    for (const task of ONEFORMER_TASKS) {
      const ref = expected.get(`${task}.task_inputs`) as RefTensor;
      expect([...(got.get(`${task}.task_inputs`) as Float32Array)]).toEqual([...(ref.data as BigInt64Array)].map(Number));
    }
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
