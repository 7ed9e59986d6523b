/** OneFormer config.json / preprocessor_config.json / class_info.json parsing: HF's omitted defaults and typed errors. */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseClassInfo, parseOneFormerConfig, parseOneFormerPreprocessor, requireThingIds, resizeOutputSize } from '../../src/config/index.ts';
import { ConfigError, UnsupportedError } from '../../src/errors.ts';
import { FIXTURES, readJson } from '../fixture-files.ts';

const CASE = join(FIXTURES, 'oneformer', 'swin-tiny');
const config = readJson(join(CASE, 'config.json')) as Record<string, unknown>;

describe('OneFormer config.json', () => {
  it('fixture', () => {
    const c = parseOneFormerConfig(config);
    expect(c).toMatchObject({
      numLabels: 6, convDim: 64, maskDim: 64, hiddenDim: 64, decoderLayers: 4, numInstantiatedDecoderLayers: 3,
      numAttentionHeads: 4, numQueries: 10, queryDecLayers: 2, taskSeqLen: 77, useTaskNorm: true, dimFeedforward: 128,
      encoderFeedforwardDim: 128, encoderLayers: 2, hasDecoderInputProjection: false, numFpnLevels: 1, layerNormEps: 1e-5,
    });
    // window_size is omitted from the fixture's backbone_config: SwinConfig() default 7.
    expect(c.backbone).toMatchObject({ embedDim: 12, depths: [2, 2, 2, 2], numHeads: [1, 2, 4, 8], windowSize: 7 });
    expect(c.id2label[3]).toBe('person');
  });

  it('defaults HF omits: OneFormerConfig() and its Swin-T backbone', () => {
    const c = parseOneFormerConfig({ model_type: 'oneformer', id2label: { 0: 'a' } });
    expect(c).toMatchObject({ numQueries: 150, convDim: 256, hiddenDim: 256, decoderLayers: 10, queryDecLayers: 2, taskSeqLen: 77, dimFeedforward: 2048, encoderLayers: 6, numAttentionHeads: 8 });
    expect(c.backbone).toMatchObject({ embedDim: 96, depths: [2, 2, 6, 2], numHeads: [3, 6, 12, 24], windowSize: 7 });
  });

  it('typed errors naming the key', () => {
    expect(() => parseOneFormerConfig({ ...config, is_training: true })).toThrow(UnsupportedError);
    expect(() => parseOneFormerConfig({ ...config, mask_dim: 32 })).toThrow(/config\.json: mask_dim: expected mask_dim == conv_dim \(64\)/);
    expect(() => parseOneFormerConfig({ ...config, num_queries: 1 })).toThrow(ConfigError);
    expect(() => parseOneFormerConfig({ ...config, model_type: 'mask2former' })).toThrow(/model_type/);
    expect(() => parseOneFormerConfig({ ...config, task_seq_len: 'x' })).toThrow(/task_seq_len/);
    expect(() => parseOneFormerConfig({ ...config, backbone_config: { ...(config['backbone_config'] as object), model_type: 'dinat' } })).toThrow(/backbone_config\.model_type/);
  });
});

describe('OneFormer preprocessor and class info', () => {
  it('fixture: no size divisor, 95x130 -> 64x87, metadata from the preprocessor file', () => {
    const p = parseOneFormerPreprocessor(readJson(join(CASE, 'preprocessor_config.json')));
    expect(p.sizeDivisor).toBe(0);
    expect(resizeOutputSize(95, 130, p)).toEqual({ height: 64, width: 87 });
    expect(p.metadata?.thingIds).toEqual([3, 4]);
    expect(p.metadata?.classNames).toEqual(['wall', 'sky', 'road', 'person', 'car', 'tree']);
    expect(p.classInfoFile).toBe('class_info.json');
  });

  it('class_info.json when the preprocessor has no metadata; undefined when neither', () => {
    const raw = readJson(join(CASE, 'preprocessor_config.json')) as Record<string, unknown>;
    const { metadata: _m, ...rest } = raw;
    const fromFile = parseOneFormerPreprocessor(rest, { json: readJson(join(CASE, 'class_info.json')), file: 'class_info.json' });
    expect(fromFile.metadata?.thingIds).toEqual([3, 4]);
    expect(fromFile.metadata?.names[5]).toBe('tree');
    expect(parseOneFormerPreprocessor(rest).metadata).toBeUndefined();
    expect(requireThingIds(fromFile, 'instance segmentation with task_type "panoptic"')).toEqual([3, 4]);
    expect(() => requireThingIds(parseOneFormerPreprocessor(rest), 'instance segmentation with task_type "panoptic"')).toThrow(
      /preprocessor_config\.json: metadata: instance segmentation with task_type "panoptic" needs OneFormer's class metadata .* no class_info\.json/,
    );
    // Defaults: shortest 800 / longest 1333.
    expect(resizeOutputSize(600, 900, parseOneFormerPreprocessor({}))).toEqual({ height: 800, width: 1200 });
    expect(() => parseClassInfo({ 0: { name: 'a', isthing: 2 } }, 'ade20k_panoptic.json')).toThrow(/ade20k_panoptic\.json: 0\.isthing/);
  });
});
