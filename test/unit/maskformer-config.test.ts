/**
 * MaskFormer config.json / preprocessor_config.json parsing (HF defaults, legacy hub files, typed
 * errors) and shape-only binding of hub-size checkpoints, whose state dicts are enumerated
 * independently (test/ref/hf-maskformer-checkpoint.ts) and checked against both fixtures first.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMaskFormerConfig, parsePreprocessorConfig, resizeOutputSize, type MaskFormerConfig } from '../../src/config/index.ts';
import { ConfigError, UnsupportedError, WeightError } from '../../src/errors.ts';
import { buildMaskFormer } from '../../src/models/maskformer/model.ts';
import { resolveModel } from '../../src/models/registry.ts';
import { parseSafetensorsHeader } from '../../src/weights/safetensors.ts';
import { FIXTURES, readJson } from '../fixture-files.ts';
import { MASKFORMER_HUB, maskFormerConfigJson, maskFormerStateDict, type MaskFormerShapeConfig } from '../ref/hf-maskformer-checkpoint.ts';
import { ShapeOnlyWeights } from '../ref/shape-only-weights.ts';

/** Verbatim copies of the hub's MaskFormer preprocessor files (../shared/hub). */
const HUB = join(FIXTURES, 'maskformer', 'hub');
const fixtureJson = (name: string): Record<string, unknown> => readJson(join(FIXTURES, 'maskformer', name, 'config.json')) as Record<string, unknown>;

const FIXTURE_SHAPES: Record<string, MaskFormerShapeConfig> = {
  'swin-tiny': { backbone: { kind: 'swin', embedDim: 12, depths: [2, 2, 2, 2], numHeads: [1, 2, 4, 8], windowSize: 6, mlpRatio: 4 }, fpn: 64, mask: 48, dModel: 64, decoderLayers: 3, ffn: 128, heads: 4, queries: 10, labels: 6 },
  'resnet-tiny': {
    backbone: { kind: 'resnet', embeddingSize: 16, hiddenSizes: [32, 48, 64, 96], depths: [1, 2, 1, 1], layerType: 'bottleneck', downsampleInFirstStage: false },
    fpn: 64, mask: 64, dModel: 64, decoderLayers: 2, ffn: 96, heads: 8, queries: 12, labels: 7,
  },
};

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('MaskFormer config.json', () => {
  it('swin-tiny: maskformer-swin backbone, decoder_config values, labels', () => {
    const c = parseMaskFormerConfig(fixtureJson('swin-tiny'));
    expect(c.backbone.modelType).toBe('maskformer-swin');
    expect(c.backbone.modelType !== 'resnet' && c.backbone.windowSize).toBe(6);
    expect(c.backboneChannels).toEqual([12, 24, 48, 96]);
    expect(c.decoder).toEqual({ dModel: 64, decoderLayers: 3, decoderAttentionHeads: 4, decoderFfnDim: 128, numQueries: 10, activation: 'relu', auxiliaryLoss: false });
    expect([c.numLabels, c.numQueries, c.fpnFeatureSize, c.maskFeatureSize]).toEqual([6, 10, 64, 48]);
  });

  it('resnet-tiny: ResNet backbone; decoder_attention_heads omitted = DetrConfig default 8', () => {
    const c = parseMaskFormerConfig(fixtureJson('resnet-tiny'));
    const b = c.backbone;
    if (b.modelType !== 'resnet') throw new Error('expected resnet');
    expect([b.embeddingSize, b.hiddenSizes, b.depths, b.layerType, b.hiddenAct, b.outIndices]).toEqual([16, [32, 48, 64, 96], [1, 2, 1, 1], 'bottleneck', 'relu', [1, 2, 3, 4]]);
    expect(c.decoder.decoderAttentionHeads).toBe(8);
    expect(c.backboneChannels).toEqual([32, 48, 64, 96]);
  });

  it('fills HF defaults: no decoder_config = DetrConfig(), no backbone_config = Swin-B window 12 (all four stages)', () => {
    const c = parseMaskFormerConfig({ model_type: 'maskformer', id2label: { 0: 'a' } });
    expect(c.decoder).toEqual({ dModel: 256, decoderLayers: 6, decoderAttentionHeads: 8, decoderFfnDim: 2048, numQueries: 100, activation: 'relu', auxiliaryLoss: false });
    const b = c.backbone;
    if (b.modelType === 'resnet') throw new Error('expected swin');
    expect([b.embedDim, b.depths, b.numHeads, b.windowSize, b.outIndices]).toEqual([128, [2, 2, 18, 2], [4, 8, 16, 32], 12, [1, 2, 3, 4]]);
    expect([c.fpnFeatureSize, c.maskFeatureSize]).toEqual([256, 256]);
    // A ResNet without out_features outputs only its last stage in HF: too few maps for the FPN.
    const e = thrown(() => parseMaskFormerConfig({ backbone_config: { model_type: 'resnet' } }));
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toContain('backbone_config.out_features');
  });

  it('a "swin" backbone_config (old hub files) is HF-converted with all four stages out', () => {
    const c = parseMaskFormerConfig({ backbone_config: { model_type: 'swin', depths: [2, 2, 6, 2], out_features: ['stage4'] } });
    expect(c.backbone.outIndices).toEqual([1, 2, 3, 4]);
  });

  it('typed errors name the key and the supported options', () => {
    const base = fixtureJson('resnet-tiny');
    const cases: [Record<string, unknown>, typeof ConfigError | typeof UnsupportedError, RegExp][] = [
      [{ ...base, backbone_config: { model_type: 'convnext' } }, UnsupportedError, /backbone_config\.model_type.*supported backbones: swin, maskformer-swin, resnet/],
      [{ ...base, decoder_config: { model_type: 'deformable_detr' } }, UnsupportedError, /decoder_config\.model_type.*detr/],
      [{ ...base, use_timm_backbone: true }, UnsupportedError, /use_timm_backbone/],
      [{ ...base, fpn_feature_size: 48 }, ConfigError, /fpn_feature_size: expected a multiple of 32/],
      [{ ...base, decoder_config: { d_model: 60, decoder_attention_heads: 8 } }, ConfigError, /decoder_config\.d_model/],
      [{ ...base, decoder_config: { activation_function: 'silu' } }, UnsupportedError, /activation_function/],
      [{ ...base, backbone_config: { ...(base.backbone_config as object), layer_type: 'preact' } }, ConfigError, /layer_type/],
      [{ ...base, backbone_config: { ...(base.backbone_config as object), out_features: ['stage3', 'stage2'], out_indices: null } }, ConfigError, /increasing order/],
      [{ ...base, backbone_config: { ...(base.backbone_config as object), out_features: ['stage1', 'stage2'], out_indices: [1, 3] } }, ConfigError, /out_indices/],
    ];
    for (const [json, type, re] of cases) {
      const e = thrown(() => parseMaskFormerConfig(json, 'ckpt/config.json'));
      expect(e, re.source).toBeInstanceOf(type);
      expect((e as Error).message).toMatch(re);
      expect((e as Error).message).toContain('ckpt/config.json');
    }
  });

  it('ResNet: basic layers, other depths, stem among the outputs, gelu', () => {
    const c = parseMaskFormerConfig({
      backbone_config: { model_type: 'resnet', layer_type: 'basic', hidden_sizes: [8, 16, 24], depths: [3, 1, 2], hidden_act: 'gelu', out_indices: [0, 2, -1] },
    });
    const b = c.backbone;
    if (b.modelType !== 'resnet') throw new Error('expected resnet');
    expect([b.layerType, b.hiddenAct, b.outIndices, b.outFeatures]).toEqual(['basic', 'gelu', [0, 2, 3], ['stem', 'stage2', 'stage3']]);
    expect(c.backboneChannels).toEqual([64, 16, 24]);
  });
});

describe('MaskFormer preprocessor_config.json (hub files, legacy MaskFormerFeatureExtractor keys)', () => {
  const dirs = readdirSync(HUB).filter((d) => d.includes('maskformer-'));
  it(`parses every hub MaskFormer preprocessor file (${dirs.length})`, () => {
    expect(dirs.length).toBeGreaterThanOrEqual(7);
    for (const d of dirs) {
      const cfg = parsePreprocessorConfig(readJson(join(HUB, d, 'preprocessor_config.json')), `${d}/preprocessor_config.json`);
      expect(cfg.resize.kind, d).toBe('shortestEdge');
      expect(cfg.sizeDivisor, d).toBe(32);
      const legacy = readJson(join(HUB, d, 'preprocessor_config.json')) as Record<string, unknown>;
      if (typeof legacy.size === 'number') {
        // int size = shortest edge, max_size = longest edge, size_divisibility = size_divisor.
        expect(cfg.resize).toEqual({ kind: 'shortestEdge', shortestEdge: legacy.size, longestEdge: legacy.max_size });
      }
    }
    const ade = parsePreprocessorConfig(readJson(join(HUB, 'facebook__maskformer-swin-base-ade@refs-pr-1', 'preprocessor_config.json')));
    // 512x683 image: short side 640, long int(640*683/512) = 853, then rounded up to /32.
    expect(resizeOutputSize(512, 683, ade)).toEqual({ height: 640, width: 864 });
  });
});

describe('MaskFormer state dict (independent enumeration) and hub shapes', () => {
  for (const name of ['swin-tiny', 'resnet-tiny']) {
    it(`${name}: enumeration equals model.safetensors' header (keys, shapes, dtypes)`, () => {
      const bytes = readFileSync(join(FIXTURES, 'maskformer', name, 'model.safetensors'));
      const header = parseSafetensorsHeader(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes.byteLength, name);
      const mine = maskFormerStateDict(FIXTURE_SHAPES[name] as MaskFormerShapeConfig).tensors;
      const missing = [...header.tensors.keys()].filter((k) => !mine.has(k));
      const extra = [...mine.keys()].filter((k) => !header.tensors.has(k));
      const wrong = [...header.tensors.values()].filter((t) => {
        const m = mine.get(t.name);
        return m && (m.dtype !== t.dtype || JSON.stringify(m.shape) !== JSON.stringify(t.shape));
      });
      console.log(`${name}: file ${header.tensors.size} tensors, enumerated ${mine.size}; missing ${missing.length}, extra ${extra.length}, wrong ${wrong.length}`);
      expect([missing, extra, wrong.map((t) => t.name)]).toEqual([[], [], []]);
    });
  }

  for (const [id, shapes] of Object.entries(MASKFORMER_HUB)) {
    it(`${id}: the hub-size state dict binds exactly; a missing, mis-shaped or extra key is a WeightError naming it`, () => {
      const json = maskFormerConfigJson(shapes);
      const spec = resolveModel(json, `${id}/config.json`);
      expect(spec.family).toBe('maskformer');
      const cfg = spec.config as MaskFormerConfig;
      const { tensors } = maskFormerStateDict(shapes);
      const build = (t: ReadonlyMap<string, { readonly shape: readonly number[] }>): ShapeOnlyWeights => {
        const store = new ShapeOnlyWeights(id, t);
        buildMaskFormer(cfg, store, { kind: 'pixel-values', shape: [1, 3, 64, 96] });
        return store;
      };
      expect(build(tensors).unused()).toEqual([]);
      const probe = [...tensors.keys()].filter((k) => tensors.get(k)?.dtype === 'F32' && !k.startsWith('criterion.')).at(-40) as string;
      const without = new Map(tensors);
      without.delete(probe);
      const e1 = thrown(() => build(without));
      expect(e1).toBeInstanceOf(WeightError);
      expect((e1 as WeightError).key).toBe(probe);
      const reshaped = new Map(tensors);
      reshaped.set(probe, { shape: [...(tensors.get(probe)?.shape ?? []), 2], dtype: 'F32' });
      expect((thrown(() => build(reshaped)) as WeightError).key).toBe(probe);
      const extra = new Map(tensors);
      extra.set('model.transformer_module.decoder.layers.99.fc1.weight', { shape: [1], dtype: 'F32' });
      expect(thrown(() => build(extra))).toBeInstanceOf(WeightError);
    });
  }
});
