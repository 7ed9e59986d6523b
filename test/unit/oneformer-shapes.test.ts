/**
 * OneFormer checkpoints of other shapes bind exactly (no GPU): the HF state dict enumerated
 * independently of src/ (test/ref/hf-oneformer-checkpoint.ts) is first checked against the
 * fixture's real model.safetensors header, then the model is built on shape-only weights for
 * configs unlike the fixture's (hidden_dim != conv_dim, no task norm, more decoder layers than
 * levels, a hub-sized Swin-T ADE20K model). Every tensor used, every shape exact.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOneFormerConfig } from '../../src/config/index.ts';
import { buildOneFormer } from '../../src/models/oneformer/model.ts';
import { WeightError } from '../../src/errors.ts';
import { oneFormerStateDictShapes, type HfOneFormerShapeConfig } from '../ref/hf-oneformer-checkpoint.ts';
import { ShapeOnlyWeights } from '../ref/shape-only-weights.ts';
import { FIXTURES } from '../fixture-files.ts';

const DIR = join(FIXTURES, 'oneformer', 'swin-tiny');

function header(path: string): Map<string, { shape: number[] }> {
  const b = readFileSync(path);
  const n = Number(b.readBigUInt64LE(0));
  const h = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape: number[] }>;
  return new Map(Object.entries(h).filter(([k]) => k !== '__metadata__').map(([k, v]) => [k, { shape: v.shape }]));
}

/** config.json as HF writes it for a shape config (the keys OneFormer's parser reads). */
function configJson(c: HfOneFormerShapeConfig, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_type: 'oneformer',
    backbone_config: { model_type: 'swin', embed_dim: c.embedDim, depths: c.depths, num_heads: c.numHeads, window_size: c.windowSize, out_features: ['stage1', 'stage2', 'stage3', 'stage4'] },
    id2label: Object.fromEntries(Array.from({ length: c.labels }, (_, i) => [String(i), `c${i}`])),
    conv_dim: c.featureSize, mask_dim: c.maskFeatureSize, hidden_dim: c.hiddenDim, encoder_layers: c.encoderLayers, encoder_feedforward_dim: c.encoderFfn,
    decoder_layers: c.decoderLayers, dim_feedforward: c.decoderFfn, num_attention_heads: c.heads, num_queries: c.queries,
    query_dec_layers: c.queryDecLayers, task_seq_len: c.taskSeqLen, enforce_input_proj: c.enforceInputProj ?? false,
    ...extra,
  };
}

const FIXTURE_SHAPES: HfOneFormerShapeConfig = {
  embedDim: 12, depths: [2, 2, 2, 2], numHeads: [1, 2, 4, 8], windowSize: 7, featureSize: 64, maskFeatureSize: 64, hiddenDim: 64,
  encoderLayers: 2, encoderFfn: 128, decoderLayers: 4, decoderFfn: 128, heads: 4, queries: 10, labels: 6, queryDecLayers: 2, taskSeqLen: 77,
};

describe('OneFormer state dict shapes', () => {
  it('the independent enumeration equals the fixture checkpoint', () => {
    const real = header(join(DIR, 'model.safetensors'));
    const mine = oneFormerStateDictShapes(FIXTURE_SHAPES);
    expect([...mine.keys()].sort()).toEqual([...real.keys()].sort());
    for (const [k, v] of mine) expect(v.shape, k).toEqual(real.get(k)?.shape);
  });

  const variants: [string, HfOneFormerShapeConfig, Record<string, unknown>][] = [
    ['hidden 48 != conv 96 (input projections), 3 heads, Q=7, 6 decoder layers, 1 query layer, task_seq_len 16, no task norm',
      { ...FIXTURE_SHAPES, featureSize: 96, maskFeatureSize: 96, hiddenDim: 48, heads: 3, queries: 7, decoderLayers: 6, queryDecLayers: 1, taskSeqLen: 16, windowSize: 5 }, { use_task_norm: false }],
    ['enforce_input_proj with equal widths', { ...FIXTURE_SHAPES, enforceInputProj: true }, {}],
    ['hub-sized Swin-T ADE20K (embed 96, [2,2,6,2], conv/hidden 256, Q=150, 150 labels, 10 decoder layers)',
      { embedDim: 96, depths: [2, 2, 6, 2], numHeads: [3, 6, 12, 24], windowSize: 7, featureSize: 256, maskFeatureSize: 256, hiddenDim: 256, encoderLayers: 6, encoderFfn: 1024, decoderLayers: 10, decoderFfn: 2048, heads: 8, queries: 150, labels: 150, queryDecLayers: 2, taskSeqLen: 77 }, {}],
  ];
  for (const [name, shapes, extra] of variants) {
    it(`binds exactly: ${name}`, () => {
      const cfg = parseOneFormerConfig(configJson(shapes, extra));
      const weights = new ShapeOnlyWeights('variant', oneFormerStateDictShapes(shapes));
      const built = buildOneFormer(cfg, weights, { kind: 'pixel-values', shape: [1, 3, 96, 128] }, { intermediates: true });
      expect(weights.unused()).toEqual([]);
      expect(built.outputNames).toContain('class_queries_logits');
      const g = built.graph;
      expect(g.outputs.get('class_queries_logits')?.shape).toEqual([1, shapes.queries, shapes.labels + 1]);
      expect(g.outputs.get('masks_queries_logits')?.shape).toEqual([1, shapes.queries, 24, 32]);
      expect(g.outputs.get('transformer_decoder_contrastive_queries')?.shape).toEqual([1, shapes.queries, shapes.hiddenDim]);
      expect(g.inputs.get('task_inputs')?.shape).toEqual([1, shapes.taskSeqLen]);
    });
  }

  it('a tensor of the wrong shape or a missing one is a WeightError naming the key', () => {
    const cfg = parseOneFormerConfig(configJson(FIXTURE_SHAPES));
    const shapes = oneFormerStateDictShapes(FIXTURE_SHAPES);
    shapes.set('model.task_encoder.task_mlp.layers.0.0.weight', { shape: [64, 76], dtype: 'F32', init: 'weight' });
    expect(() => buildOneFormer(cfg, new ShapeOnlyWeights('ckpt', shapes), { kind: 'pixel-values', shape: [1, 3, 64, 64] })).toThrow(/ckpt \[model\.task_encoder\.task_mlp\.layers\.0\.0\.weight\]: expected shape \[64, 77\]/);
    shapes.delete('model.transformer_module.decoder.query_transformer.decoder.norm.weight');
    shapes.set('model.task_encoder.task_mlp.layers.0.0.weight', { shape: [64, 77], dtype: 'F32', init: 'weight' });
    const e = (() => {
      try {
        buildOneFormer(cfg, new ShapeOnlyWeights('ckpt', shapes), { kind: 'pixel-values', shape: [1, 3, 64, 64] });
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(WeightError);
    expect((e as Error).message).toContain('query_transformer.decoder.norm.weight');
  });
});
