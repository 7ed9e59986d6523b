import { describe, expect, it } from 'vitest';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

import {
  parseMask2FormerConfig,
  parsePreprocessorConfig,
  resizeOutputSize,
  type Mask2FormerConfig,
  type PreprocessorConfig,
} from '../../src/config/index.ts';
import { ConfigError, ImageError, UnsupportedError } from '../../src/errors.ts';

// ---------------------------------------------------------------------------------------------
// Shared fixtures: <repo>/shared or the sibling /work/shared checkout.

function findShared(): string | undefined {
  const candidates = [
    process.env['MASKGPU_SHARED'],
    fileURLToPath(new URL('../../shared', import.meta.url)),
    fileURLToPath(new URL('../../../shared', import.meta.url)),
  ];
  return candidates.find((dir): dir is string => dir !== undefined && existsSync(join(dir, 'fixtures')));
}

const SHARED = findShared();
const FIXTURE_DIRS: Record<string, string> = SHARED === undefined
  ? {}
  : {
      tiny: join(SHARED, 'fixtures/mask2former/tiny'),
      'tiny-odd': join(SHARED, 'fixtures/mask2former/tiny-odd'),
      shapes: join(SHARED, 'models/shapes'),
    };

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

function fixture(name: string): { config: Mask2FormerConfig; pre: PreprocessorConfig; dir: string } {
  const dir = FIXTURE_DIRS[name];
  if (dir === undefined) throw new Error(`fixture ${name} not found`);
  return {
    dir,
    config: parseMask2FormerConfig(readJson(join(dir, 'config.json')), `${name}/config.json`),
    pre: parsePreprocessorConfig(readJson(join(dir, 'preprocessor_config.json')), `${name}/preprocessor_config.json`),
  };
}

/** PNG IHDR: width, height at bytes 16..24. */
function pngSize(path: string): { height: number; width: number } {
  const b = readFileSync(path);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** safetensors header only (8-byte little-endian length, then JSON). */
function safetensorsShapes(path: string): Record<string, readonly number[]> {
  const fd = openSync(path, 'r');
  try {
    const len = Buffer.alloc(8);
    readSync(fd, len, 0, 8, 0);
    const n = Number(len.readBigUInt64LE(0));
    const head = Buffer.alloc(n);
    readSync(fd, head, 0, n, 8);
    const parsed = JSON.parse(head.toString('utf8')) as Record<string, { shape?: number[] }>;
    const out: Record<string, readonly number[]> = {};
    for (const [k, v] of Object.entries(parsed)) if (k !== '__metadata__' && v.shape) out[k] = v.shape;
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Run `fn`, expect an error of `cls` whose message contains every string in `parts`. */
function expectThrow(fn: () => unknown, cls: typeof ConfigError | typeof UnsupportedError, ...parts: string[]): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${cls.name}`).toBeInstanceOf(cls);
  const err = caught as Error;
  for (const p of parts) expect(err.message).toContain(p);
  return err;
}

// ---------------------------------------------------------------------------------------------
// Hub-style configs, modelled on facebook/mask2former-swin-{tiny,small,base,large}-* checkpoints.

function labels(n: number, first: readonly string[]): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), first[i] ?? `class_${i}`]));
}

const COCO_PANOPTIC = labels(133, ['person', 'bicycle', 'car', 'motorcycle', 'airplane']);
const ADE = labels(150, ['wall', 'building', 'sky', 'floor', 'tree']);
const CITYSCAPES = labels(19, ['road', 'sidewalk', 'building', 'wall', 'fence']);

function hubTop(id2label: Record<string, string>, backboneConfig: Record<string, unknown>, numQueries = 100): Record<string, unknown> {
  return {
    activation_function: 'relu',
    architectures: ['Mask2FormerForUniversalSegmentation'],
    backbone_config: backboneConfig,
    class_weight: 2.0,
    common_stride: 4,
    decoder_layers: 10,
    dice_weight: 5.0,
    dim_feedforward: 2048,
    dropout: 0.0,
    encoder_feedforward_dim: 1024,
    encoder_layers: 6,
    enforce_input_projection: false,
    feature_size: 256,
    feature_strides: [4, 8, 16, 32],
    hidden_dim: 256,
    id2label,
    label2id: Object.fromEntries(Object.entries(id2label).map(([k, v]) => [v, Number(k)])),
    ignore_value: 255,
    importance_sample_ratio: 0.75,
    init_std: 0.02,
    init_xavier_std: 1.0,
    mask_feature_size: 256,
    mask_weight: 5.0,
    model_type: 'mask2former',
    no_object_weight: 0.1,
    num_attention_heads: 8,
    num_hidden_layers: 10,
    num_queries: numQueries,
    output_auxiliary_logits: null,
    oversample_ratio: 3.0,
    pre_norm: false,
    torch_dtype: 'float32',
    train_num_points: 12544,
    transformers_version: '4.47.0.dev0',
    use_auxiliary_loss: true,
  };
}

const STAGES = ['stage1', 'stage2', 'stage3', 'stage4'];

/** Swin-T as transformers 4.47 saves it: every SwinConfig() default dropped. */
const SWIN_T_COCO_PANOPTIC = hubTop(COCO_PANOPTIC, {
  depths: [2, 2, 6, 2],
  drop_path_rate: 0.3,
  hidden_size: 768,
  model_type: 'swin',
  out_features: STAGES,
  out_indices: [1, 2, 3, 4],
});

/** Swin-S (ADE semantic), same minimal style. */
const SWIN_S_ADE = hubTop(ADE, {
  depths: [2, 2, 18, 2],
  drop_path_rate: 0.3,
  hidden_size: 768,
  model_type: 'swin',
  out_features: STAGES,
  out_indices: [1, 2, 3, 4],
});

/** Swin-B (Cityscapes semantic), older full-dict style: every Swin key written, out_indices absent. */
const SWIN_B_CITYSCAPES = hubTop(CITYSCAPES, {
  attention_probs_dropout_prob: 0.0,
  depths: [2, 2, 18, 2],
  drop_path_rate: 0.3,
  embed_dim: 128,
  encoder_stride: 32,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.0,
  image_size: 384,
  in_channels: 3,
  initializer_range: 0.02,
  layer_norm_eps: 1e-5,
  mlp_ratio: 4.0,
  model_type: 'swin',
  num_channels: 3,
  num_heads: [4, 8, 16, 32],
  num_layers: 4,
  out_features: STAGES,
  patch_norm: true,
  patch_size: 4,
  path_norm: true,
  pretrained_window_size: 0,
  qkv_bias: true,
  use_absolute_embeddings: false,
  window_size: 12,
});

/** Swin-L (COCO panoptic, 200 queries), 4.47 style with the non-default keys only. */
const SWIN_L_COCO_PANOPTIC = hubTop(
  COCO_PANOPTIC,
  {
    depths: [2, 2, 18, 2],
    drop_path_rate: 0.3,
    embed_dim: 192,
    hidden_size: 1536,
    image_size: 384,
    model_type: 'swin',
    num_heads: [6, 12, 24, 48],
    out_features: STAGES,
    out_indices: [1, 2, 3, 4],
    window_size: 12,
  },
  200,
);

/** A deep copy of `base` with `edit` applied. */
function variant(base: Record<string, unknown>, edit: (c: Record<string, unknown> & { backbone_config: Record<string, unknown> }) => void): unknown {
  const copy = structuredClone(base) as Record<string, unknown> & { backbone_config: Record<string, unknown> };
  edit(copy);
  return copy;
}

// ---------------------------------------------------------------------------------------------

describe.skipIf(SHARED === undefined)('real fixture configs', () => {
  it('tiny: config.json resolves (window 7 filled in) and preprocessor 80/160/32', () => {
    const { config: c, pre: p } = fixture('tiny');
    expect(c.modelType).toBe('mask2former');
    expect(c.numLabels).toBe(5);
    expect(c.id2label[0]).toBe('class_0');
    expect(c.id2label[4]).toBe('class_4');
    expect(Object.keys(c.id2label)).toHaveLength(5);
    expect([c.featureSize, c.maskFeatureSize, c.hiddenDim]).toEqual([64, 64, 64]);
    expect([c.encoderFeedforwardDim, c.dimFeedforward]).toEqual([128, 128]);
    expect([c.encoderLayers, c.decoderLayers, c.numInstantiatedDecoderLayers]).toEqual([2, 4, 3]);
    expect([c.numAttentionHeads, c.numQueries, c.commonStride]).toEqual([4, 8, 4]);
    expect(c.featureStrides).toEqual([4, 8, 16, 32]);
    expect([c.numFeatureLevels, c.numFpnLevels]).toEqual([3, 1]);
    expect(c.activation).toBe('relu');
    expect(c.preNorm).toBe(false);
    expect(c.enforceInputProjection).toBe(false);
    expect(c.hasDecoderInputProjection).toBe(false);
    expect([c.layerNormEps, c.groupNormGroups, c.groupNormEps]).toEqual([1e-5, 32, 1e-5]);
    expect(c.outputAuxiliaryLogits).toBe(false);
    const b = c.backbone;
    expect(b.modelType).toBe('swin');
    expect(b.embedDim).toBe(12);
    expect(b.depths).toEqual([2, 2, 2, 2]);
    expect(b.numHeads).toEqual([1, 2, 4, 8]);
    expect(b.windowSize).toBe(7);
    expect([b.patchSize, b.numChannels, b.mlpRatio, b.qkvBias, b.hiddenAct, b.layerNormEps]).toEqual([4, 3, 4, true, 'gelu', 1e-5]);
    expect(b.useAbsoluteEmbeddings).toBe(false);
    expect(b.outFeatures).toEqual(STAGES);
    expect(b.outIndices).toEqual([1, 2, 3, 4]);
    expect(b.stageNames).toEqual(['stem', ...STAGES]);
    expect(b.stageChannels).toEqual([12, 24, 48, 96]);
    expect(b.mlpHiddenDims).toEqual([48, 96, 192, 384]);
    expect(b.hiddenSize).toBe(96);
    expect(b.numLayers).toBe(4);

    expect(p.imageProcessorType).toBe('Mask2FormerImageProcessor');
    expect(p.resize).toEqual({ kind: 'shortestEdge', shortestEdge: 80, longestEdge: 160 });
    expect(p.sizeDivisor).toBe(32);
    expect([p.doResize, p.doRescale, p.doNormalize, p.doReduceLabels]).toEqual([true, true, true, false]);
    expect(p.rescaleFactor).toBeCloseTo(1 / 255, 15);
    expect(p.imageMean).toEqual([0.485, 0.456, 0.406]);
    expect(p.imageStd).toEqual([0.229, 0.224, 0.225]);
    expect(p.resample).toBe(2);
    expect(p.ignoreIndex).toBe(255);
    expect(p.numLabels).toBe(5);
    expect(resizeOutputSize(90, 120, p)).toEqual({ height: 96, width: 128 });
  });

  it('tiny-odd: window 6, mask_feature_size 48 (not a multiple of 32: no GroupNorm on it), size_divisor 0', () => {
    const { config: c, pre: p } = fixture('tiny-odd');
    expect(c.numLabels).toBe(7);
    expect(c.id2label[6]).toBe('class_6');
    expect([c.featureSize, c.maskFeatureSize, c.hiddenDim]).toEqual([64, 48, 64]);
    expect([c.encoderLayers, c.decoderLayers, c.numInstantiatedDecoderLayers]).toEqual([3, 5, 4]);
    expect([c.numAttentionHeads, c.numQueries]).toEqual([8, 12]);
    expect([c.encoderFeedforwardDim, c.dimFeedforward]).toEqual([96, 96]);
    expect(c.backbone.embedDim).toBe(8);
    expect(c.backbone.depths).toEqual([2, 2, 4, 2]);
    expect(c.backbone.numHeads).toEqual([1, 1, 2, 4]);
    expect(c.backbone.windowSize).toBe(6);
    expect(c.backbone.stageChannels).toEqual([8, 16, 32, 64]);

    expect(p.resize).toEqual({ kind: 'shortestEdge', shortestEdge: 56, longestEdge: 90 });
    expect(p.sizeDivisor).toBe(0);
    expect(p.numLabels).toBe(7);
    expect(resizeOutputSize(77, 101, p)).toEqual({ height: 56, width: 73 });
    expect(resizeOutputSize(113, 67, p)).toEqual({ height: 90, width: 53 }); // longest-edge clamp
  });

  it('shapes model: depths [2,2,2,1], 3 labels, processor 128/192/32', () => {
    const { config: c, pre: p } = fixture('shapes');
    expect(c.numLabels).toBe(3);
    expect(c.id2label).toEqual({ 0: 'object', 1: 'sky', 2: 'ground' });
    expect([c.featureSize, c.maskFeatureSize, c.hiddenDim]).toEqual([64, 64, 64]);
    expect([c.encoderLayers, c.decoderLayers, c.numInstantiatedDecoderLayers]).toEqual([2, 5, 4]);
    expect([c.numAttentionHeads, c.numQueries, c.dimFeedforward, c.encoderFeedforwardDim]).toEqual([4, 20, 256, 256]);
    const b = c.backbone;
    expect([b.embedDim, b.windowSize, b.patchSize, b.imageSize]).toEqual([32, 7, 4, 128]);
    expect(b.depths).toEqual([2, 2, 2, 1]);
    expect(b.numHeads).toEqual([2, 4, 8, 16]);
    expect(b.hiddenSize).toBe(256);

    expect(p.resize).toEqual({ kind: 'shortestEdge', shortestEdge: 128, longestEdge: 192 });
    expect(p.sizeDivisor).toBe(32);
    expect(p.numLabels).toBe(3);
    // The held-out examples (H x W from examples.json / the PNGs). Rounding up to /32 stretches
    // 130 -> 160, so inputs are not limited to 128x128..128x192 as the model README suggests.
    expect(resizeOutputSize(160, 157, p)).toEqual({ height: 160, width: 128 });
    expect(resizeOutputSize(156, 123, p)).toEqual({ height: 192, width: 128 });
    expect(resizeOutputSize(103, 126, p)).toEqual({ height: 128, width: 160 });
    expect(resizeOutputSize(96, 160, p)).toEqual({ height: 128, width: 192 }); // clamp: 115 x 192
  });

  it('resizeOutputSize reproduces every resized_image.{i} in expected.safetensors (shapes examples too)', () => {
    for (const name of ['tiny', 'tiny-odd']) {
      const { dir, pre } = fixture(name);
      const shapes = safetensorsShapes(join(dir, 'expected.safetensors'));
      for (let i = 0; existsSync(join(dir, `image${i}.png`)); i++) {
        const img = pngSize(join(dir, `image${i}.png`));
        const want = shapes[`resized_image.${i}`];
        expect(want, `${name} resized_image.${i}`).toBeDefined();
        const got = resizeOutputSize(img.height, img.width, pre);
        console.log(`${name} image${i}: ${img.height}x${img.width} -> ${got.height}x${got.width}`);
        expect([got.height, got.width, 3]).toEqual(want);
      }
    }
    const { dir, pre } = fixture('shapes');
    const examples = readJson(join(dir, 'examples.json')) as { file: string; height: number; width: number }[];
    for (const ex of examples) expect(pngSize(join(dir, ex.file))).toEqual({ height: ex.height, width: ex.width });
  });
});

describe('hub-style Mask2Former configs', () => {
  it('Swin-T COCO panoptic: defaults fill embed 96, heads [3,6,12,24], window 7', () => {
    const c = parseMask2FormerConfig(SWIN_T_COCO_PANOPTIC);
    expect(c.numLabels).toBe(133);
    expect(c.id2label[0]).toBe('person');
    expect(c.id2label[132]).toBe('class_132');
    const b = c.backbone;
    expect(b.embedDim).toBe(96);
    expect(b.numHeads).toEqual([3, 6, 12, 24]);
    expect(b.windowSize).toBe(7);
    expect(b.depths).toEqual([2, 2, 6, 2]);
    expect([b.patchSize, b.numChannels, b.mlpRatio, b.qkvBias, b.layerNormEps, b.imageSize]).toEqual([4, 3, 4, true, 1e-5, 224]);
    expect(b.stageChannels).toEqual([96, 192, 384, 768]);
    expect(b.hiddenSize).toBe(768);
    expect([c.featureSize, c.maskFeatureSize, c.hiddenDim, c.numAttentionHeads]).toEqual([256, 256, 256, 8]);
    expect([c.encoderLayers, c.decoderLayers, c.numInstantiatedDecoderLayers, c.numQueries]).toEqual([6, 10, 9, 100]);
    expect([c.encoderFeedforwardDim, c.dimFeedforward]).toEqual([1024, 2048]);
  });

  it('Swin-S ADE semantic: depths [2,2,18,2], 150 labels', () => {
    const c = parseMask2FormerConfig(SWIN_S_ADE);
    expect(c.numLabels).toBe(150);
    expect(c.id2label[0]).toBe('wall');
    expect(c.backbone.depths).toEqual([2, 2, 18, 2]);
    expect(c.backbone.embedDim).toBe(96);
    expect(c.backbone.numHeads).toEqual([3, 6, 12, 24]);
    expect(c.backbone.windowSize).toBe(7);
  });

  it('Swin-B Cityscapes (full legacy Swin dict, out_indices derived): embed 128, window 12', () => {
    const c = parseMask2FormerConfig(SWIN_B_CITYSCAPES);
    expect(c.numLabels).toBe(19);
    expect(c.id2label[18]).toBe('class_18');
    const b = c.backbone;
    expect([b.embedDim, b.windowSize, b.imageSize]).toEqual([128, 12, 384]);
    expect(b.numHeads).toEqual([4, 8, 16, 32]);
    expect(b.stageChannels).toEqual([128, 256, 512, 1024]);
    expect(b.outIndices).toEqual([1, 2, 3, 4]);
  });

  it('Swin-L COCO panoptic: embed 192, heads [6,12,24,48], window 12, 200 queries', () => {
    const c = parseMask2FormerConfig(SWIN_L_COCO_PANOPTIC);
    expect(c.numLabels).toBe(133);
    expect(c.numQueries).toBe(200);
    const b = c.backbone;
    expect([b.embedDim, b.windowSize]).toEqual([192, 12]);
    expect(b.numHeads).toEqual([6, 12, 24, 48]);
    expect(b.stageChannels).toEqual([192, 384, 768, 1536]);
    expect(b.mlpHiddenDims).toEqual([768, 1536, 3072, 6144]);
  });

  it('missing backbone_config: HF default backbone (Swin depths [2,2,18,2], embed 96, window 7)', () => {
    const c = parseMask2FormerConfig(variant(SWIN_T_COCO_PANOPTIC, (x) => { delete (x as Record<string, unknown>)['backbone_config']; }));
    expect(c.backbone.depths).toEqual([2, 2, 18, 2]);
    expect(c.backbone.embedDim).toBe(96);
    expect(c.backbone.numHeads).toEqual([3, 6, 12, 24]);
    expect(c.backbone.windowSize).toBe(7);
    expect(c.backbone.outFeatures).toEqual(STAGES);
  });

  it('an empty object resolves to Mask2FormerConfig() with 2 generated labels', () => {
    const c = parseMask2FormerConfig({});
    expect(c.numLabels).toBe(2);
    expect(c.id2label).toEqual({ 0: 'LABEL_0', 1: 'LABEL_1' });
    expect([c.featureSize, c.hiddenDim, c.decoderLayers, c.numQueries, c.numAttentionHeads]).toEqual([256, 256, 10, 100, 8]);
  });

  it('num_labels without id2label generates names; a disagreeing num_labels loses to id2label (as HF)', () => {
    const a = parseMask2FormerConfig(variant(SWIN_T_COCO_PANOPTIC, (x) => { delete x['id2label']; x['num_labels'] = 4; }));
    expect(a.numLabels).toBe(4);
    expect(a.id2label[3]).toBe('LABEL_3');
    const b = parseMask2FormerConfig(variant(SWIN_T_COCO_PANOPTIC, (x) => { x['num_labels'] = 7; }));
    expect(b.numLabels).toBe(133);
  });

  it('out_indices alone (negative, Python-style) and feature_size != hidden_dim', () => {
    const c = parseMask2FormerConfig(variant(SWIN_T_COCO_PANOPTIC, (x) => {
      delete x.backbone_config['out_features'];
      x.backbone_config['out_indices'] = [-4, -3, -2, -1];
      x['feature_size'] = 128;
    }));
    expect(c.backbone.outFeatures).toEqual(STAGES);
    expect(c.backbone.outIndices).toEqual([1, 2, 3, 4]);
    expect(c.hasDecoderInputProjection).toBe(true);
  });

  it('result is deeply frozen', () => {
    const c = parseMask2FormerConfig(SWIN_T_COCO_PANOPTIC);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.backbone.depths)).toBe(true);
    expect(Object.isFrozen(c.id2label)).toBe(true);
    expect(() => { (c as { numQueries: number }).numQueries = 1; }).toThrow(TypeError);
  });
});

describe('Mask2Former config validation', () => {
  const base = SWIN_T_COCO_PANOPTIC;

  it('rejects a non-object document', () => {
    expectThrow(() => parseMask2FormerConfig(null, 'x.json'), ConfigError, 'x.json');
    expectThrow(() => parseMask2FormerConfig([1, 2]), ConfigError, 'config.json');
  });

  it('wrong model_type', () => {
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x['model_type'] = 'maskformer'; }), 'm/config.json'),
      ConfigError, 'm/config.json', 'model_type', '"mask2former"', 'maskformer');
  });

  it('non-Swin backbone names its model_type', () => {
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x.backbone_config['model_type'] = 'resnet'; })),
      UnsupportedError, 'backbone_config.model_type', 'resnet');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { delete x.backbone_config['model_type']; })),
      UnsupportedError, 'backbone_config.model_type');
  });

  it('timm / hub-name backbones', () => {
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x['use_timm_backbone'] = true; })),
      UnsupportedError, 'use_timm_backbone');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => {
      delete (x as Record<string, unknown>)['backbone_config'];
      x['backbone'] = 'microsoft/swin-tiny-patch4-window7-224';
    })), UnsupportedError, 'backbone', 'microsoft/swin-tiny-patch4-window7-224');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x['backbone'] = 'swin_tiny_patch4_window7_224'; })),
      ConfigError, 'backbone', 'null when backbone_config is given');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x['backbone_kwargs'] = { out_indices: [1] }; })),
      ConfigError, 'backbone_kwargs');
  });

  it('bad window_size', () => {
    for (const bad of [0, -7, 7.5, '7']) {
      expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x.backbone_config['window_size'] = bad; })),
        ConfigError, 'backbone_config.window_size', 'expected a positive integer', JSON.stringify(bad));
    }
  });

  it('heads not dividing the stage width', () => {
    const err = expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x.backbone_config['num_heads'] = [3, 6, 12, 25]; })),
      ConfigError, 'backbone_config.num_heads', 'num_heads[3]', '768', '25');
    expect((err as ConfigError).key).toBe('backbone_config.num_heads');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x.backbone_config['num_heads'] = [3, 6, 12]; })),
      ConfigError, 'backbone_config.num_heads', 'a list of 4');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x.backbone_config['depths'] = [2, 2, 6]; })),
      ConfigError, 'backbone_config.depths', 'a list of 4');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x['num_attention_heads'] = 12; })),
      ConfigError, 'feature_size', 'num_attention_heads (12)', '256');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x['hidden_dim'] = 260; x['num_attention_heads'] = 8; })),
      ConfigError, 'hidden_dim', 'num_attention_heads (8)', '260');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x['feature_size'] = 72; x['num_attention_heads'] = 4; })),
      ConfigError, 'feature_size', 'multiple of 32', '72');
  });

  it('non-string / malformed id2label', () => {
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { (x['id2label'] as Record<string, unknown>)['3'] = 3; })),
      ConfigError, 'id2label.3', 'a string label name', 'got 3');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { (x['id2label'] as Record<string, unknown>)['cat'] = 'cat'; })),
      ConfigError, 'id2label', 'integer keys', 'cat');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x['id2label'] = ['a', 'b']; })), ConfigError, 'id2label');
  });

  it('negative / non-integer sizes', () => {
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x['num_queries'] = -1; })), ConfigError, 'num_queries', 'positive integer', '-1');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x['decoder_layers'] = 0; })), ConfigError, 'decoder_layers');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x.backbone_config['embed_dim'] = -96; })),
      ConfigError, 'backbone_config.embed_dim', '-96');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x['feature_strides'] = [4, 8, 16]; })), ConfigError, 'feature_strides');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x['common_stride'] = 16; })), ConfigError, 'common_stride', '16');
  });

  it('out_features / out_indices must select stage1..stage4 in order', () => {
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x.backbone_config['out_features'] = ['stage2', 'stage3', 'stage4']; x.backbone_config['out_indices'] = [2, 3, 4]; })),
      ConfigError, 'backbone_config.out_features', 'stage2');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x.backbone_config['out_indices'] = [0, 1, 2, 3]; })),
      ConfigError, 'backbone_config.out_indices', '[0,1,2,3]');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { delete x.backbone_config['out_features']; delete x.backbone_config['out_indices']; })),
      ConfigError, 'backbone_config.out_features', 'only the last stage');
  });

  it('unsupported variants: pre_norm, absolute embeddings, activations', () => {
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x['pre_norm'] = true; })), UnsupportedError, 'pre_norm');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x.backbone_config['use_absolute_embeddings'] = true; })),
      UnsupportedError, 'backbone_config.use_absolute_embeddings');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x.backbone_config['hidden_act'] = 'gelu_new'; })),
      UnsupportedError, 'backbone_config.hidden_act', 'gelu_new');
    expectThrow(() => parseMask2FormerConfig(variant(base, (x) => { x['activation_function'] = 'gelu'; })),
      UnsupportedError, 'activation_function', '"relu"');
  });
});

describe('preprocessor config', () => {
  it('legacy feature-extractor keys: int size + max_size + size_divisibility + reduce_labels', () => {
    const p = parsePreprocessorConfig({
      do_normalize: true,
      do_resize: true,
      feature_extractor_type: 'Mask2FormerFeatureExtractor',
      ignore_index: 255,
      image_mean: [0.485, 0.456, 0.406],
      image_std: [0.229, 0.224, 0.225],
      max_size: 2048,
      num_labels: 150,
      reduce_labels: true,
      resample: 2,
      size: 512,
      size_divisibility: 32,
    });
    expect(p.imageProcessorType).toBe('Mask2FormerFeatureExtractor');
    expect(p.resize).toEqual({ kind: 'shortestEdge', shortestEdge: 512, longestEdge: 2048 });
    expect(p.sizeDivisor).toBe(32);
    expect(p.doReduceLabels).toBe(true);
    expect(p.ignoreIndex).toBe(255);
    expect(p.numLabels).toBe(150);
    expect(p.doRescale).toBe(true);
    expect(p.rescaleFactor).toBe(1 / 255);
    expect(resizeOutputSize(480, 640, p)).toEqual({ height: 512, width: 704 }); // 512 x 682 -> /32
  });

  it('int size without max_size uses 1333; absent size is 800/1333; size_divisor defaults to 32', () => {
    const a = parsePreprocessorConfig({ size: 384 });
    expect(a.resize).toEqual({ kind: 'shortestEdge', shortestEdge: 384, longestEdge: 1333 });
    expect(a.sizeDivisor).toBe(32);
    const b = parsePreprocessorConfig({});
    expect(b.resize).toEqual({ kind: 'shortestEdge', shortestEdge: 800, longestEdge: 1333 });
    expect(b.imageProcessorType).toBeUndefined();
    expect(b.ignoreIndex).toBeUndefined();
    expect(b.numLabels).toBeUndefined();
    expect(b.imageMean).toEqual([0.485, 0.456, 0.406]);
    // 480 x 1920: 800 x 3200 -> clamp (333, 1333) -> /32 (352, 1344)
    expect(resizeOutputSize(480, 1920, b)).toEqual({ height: 352, width: 1344 });
    expect(resizeOutputSize(1920, 480, b)).toEqual({ height: 1344, width: 352 });
    expect(resizeOutputSize(600, 600, b)).toEqual({ height: 800, width: 800 });
  });

  it('key precedence: size_divisor over size_divisibility, reduce_labels over do_reduce_labels', () => {
    const p = parsePreprocessorConfig({ size_divisor: 0, size_divisibility: 32, reduce_labels: false, do_reduce_labels: true });
    expect(p.sizeDivisor).toBe(0);
    expect(p.doReduceLabels).toBe(false);
  });

  it('fixed {height, width} and [height, width] sizes, still rounded up to size_divisor', () => {
    const p = parsePreprocessorConfig({ size: { height: 500, width: 300 } });
    expect(p.resize).toEqual({ kind: 'fixed', height: 500, width: 300 });
    expect(resizeOutputSize(90, 120, p)).toEqual({ height: 512, width: 320 });
    const q = parsePreprocessorConfig({ size: [384, 384], size_divisor: 0 });
    expect(resizeOutputSize(90, 120, q)).toEqual({ height: 384, width: 384 });
  });

  it('do_resize false keeps the size (size_divisor is applied only by resize in HF)', () => {
    const p = parsePreprocessorConfig({ do_resize: false, size_divisor: 32 });
    expect(resizeOutputSize(77, 101, p)).toEqual({ height: 77, width: 101 });
  });

  it('scalar image_mean / image_std broadcast to RGB', () => {
    const p = parsePreprocessorConfig({ image_mean: 0.5, image_std: 0.5 });
    expect(p.imageMean).toEqual([0.5, 0.5, 0.5]);
    expect(p.imageStd).toEqual([0.5, 0.5, 0.5]);
  });

  it('errors name the key', () => {
    expectThrow(() => parsePreprocessorConfig({ size: -5 }, 'pp.json'), ConfigError, 'pp.json', 'size', 'positive integer', '-5');
    expectThrow(() => parsePreprocessorConfig({ size: { shortest_edge: -1, longest_edge: 100 } }), ConfigError, 'size.shortest_edge', '-1');
    expectThrow(() => parsePreprocessorConfig({ size: { shortest_edge: 100, longest_edge: 100 } }), ConfigError, 'size.longest_edge', 'greater than');
    expectThrow(() => parsePreprocessorConfig({ size: 1400 }), ConfigError, 'max_size', '1333');
    expectThrow(() => parsePreprocessorConfig({ size: { shortest_edge: 800 } }), ConfigError, 'size', 'shortest_edge');
    expectThrow(() => parsePreprocessorConfig({ size: { height: 0, width: 10 } }), ConfigError, 'size.height');
    expectThrow(() => parsePreprocessorConfig({ size_divisor: -32 }), ConfigError, 'size_divisor', '-32');
    expectThrow(() => parsePreprocessorConfig({ resample: 3 }), UnsupportedError, 'resample', 'BICUBIC');
    expectThrow(() => parsePreprocessorConfig({ image_std: [0.2, 0, 0.2] }), ConfigError, 'image_std', 'none zero');
    expectThrow(() => parsePreprocessorConfig({ image_mean: [0.5, 0.5] }), ConfigError, 'image_mean', '3 finite numbers');
    expectThrow(() => parsePreprocessorConfig({ do_resize: 'yes' }), ConfigError, 'do_resize', 'true or false');
    expectThrow(() => parsePreprocessorConfig({ rescale_factor: 0 }), ConfigError, 'rescale_factor');
    expectThrow(() => parsePreprocessorConfig('nope'), ConfigError, 'preprocessor_config.json');
  });

  it('resizeOutputSize rejects non-positive image sizes', () => {
    const p = parsePreprocessorConfig({});
    expect(() => resizeOutputSize(0, 10, p)).toThrow(ImageError);
    expect(() => resizeOutputSize(10.5, 10, p)).toThrow(ImageError);
  });
});
