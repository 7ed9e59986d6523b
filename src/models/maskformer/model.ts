/**
 * MaskFormerForInstanceSegmentation as one planned graph, assembled from the common blocks:
 * (preprocessing) -> MaskFormer-Swin or ResNet backbone -> FPN pixel decoder -> DETR decoder on
 * the last backbone map -> class and mask logits (heads on the layer-normed last state).
 * Outputs and intermediates carry the names of HF's outputs (and the fixtures' hooks).
 */
import { parseMaskFormerConfig, type MaskFormerConfig } from '../../config/index.ts';
import { GraphBuilder, type Tensor } from '../../graph/builder.ts';
import * as ops from '../../ops/index.ts';
import { MASKFORMER_POST } from '../../post/rules.ts';
import { detrDecoder } from '../common/detr-decoder.ts';
import { fpnPixelDecoder } from '../common/fpn-pixel-decoder.ts';
import { predictionHeads } from '../common/heads.ts';
import { resnetBackbone } from '../common/resnet.ts';
import { maskFormerSwinKeys, swinBackbone } from '../common/swin.ts';
import { WeightBinder, type WeightShapes } from '../common/weights.ts';
import type { BuildOptions, BuiltModel, ModelFamily, ModelInput, ModelSpec } from '../family.ts';
import { modelInput } from '../common/input.ts';

/** Tensors inference never reads: loss-only (criterion.empty_weight) and BatchNorm's training step counters. */
const IGNORED = (key: string): boolean => key.startsWith('criterion.') || key.startsWith('matcher.') || key.endsWith('.num_batches_tracked');

const ENCODER = 'model.pixel_level_module.encoder';
const PIXEL_DECODER = 'model.pixel_level_module.decoder';
const TRANSFORMER = 'model.transformer_module';

export function buildMaskFormer(cfg: MaskFormerConfig, weights: WeightShapes, input: ModelInput, options: BuildOptions = {}, maxWorkgroups = 65535): BuiltModel {
  const g = new GraphBuilder(maxWorkgroups, options.policy);
  const wb = new WeightBinder(g, weights);
  const { pixelValues, geometry } = modelInput(g, input);
  const backbone = cfg.backbone.modelType === 'resnet'
    ? resnetBackbone(wb, cfg.backbone, ENCODER, pixelValues)
    : swinBackbone(wb, cfg.backbone, maskFormerSwinKeys(ENCODER), pixelValues);
  const maps = backbone.maps;
  const pixel = fpnPixelDecoder(wb, cfg, PIXEL_DECODER, maps);
  const last = maps[maps.length - 1] as Tensor;
  const decoder = detrDecoder(wb, { ...cfg.decoder, numQueries: cfg.numQueries }, TRANSFORMER, last);
  const heads = predictionHeads(wb, { hiddenDim: cfg.decoder.dModel, numLabels: cfg.numLabels, maskFeatureSize: cfg.maskFeatureSize }, { classPredictor: 'class_predictor', maskEmbedder: 'mask_embedder' });
  const final = g.within('heads', () => heads(decoder.last, pixel.maskFeatures));
  weights.ignore(weights.keys().filter(IGNORED));
  wb.assertAllUsed();

  g.output('class_queries_logits', final.classLogits);
  g.output('masks_queries_logits', final.maskLogits);
  if (options.intermediates) {
    if (input.kind === 'images') g.output('pixel_values', pixelValues);
    maps.forEach((m, i) => g.output(`encoder_hidden_states.${i}`, m));
    g.output('encoder_last_hidden_state', last);
    for (const [k, t] of backbone.hooks) g.output(k, t);
    pixel.hidden.forEach((t, i) => g.output(`pixel_decoder_hidden_states.${i}`, t));
    g.output('pixel_decoder_last_hidden_state', pixel.maskFeatures);
    for (const [k, t] of pixel.hooks) g.output(k, t);
    for (const [k, t] of decoder.hooks) g.output(k, t);
    g.within('intermediates', () => {
      const [B, , h, w] = last.shape as [number, number, number, number];
      const D = cfg.decoder.dModel;
      g.output(`${TRANSFORMER}.position_embedder`, g.reshape(ops.permute(g, ops.repeatLeading(g, decoder.positionTokens, B), [0, 2, 1]), [B, D, h, w]));
      decoder.hidden.forEach((x, k) => g.output(`transformer_decoder_hidden_states.${k}`, x));
      g.output('transformer_decoder_last_hidden_state', decoder.last);
      // HF (use_auxiliary_loss): the heads on every hidden state but the last, without LayerNorm.
      decoder.hidden.slice(0, -1).forEach((x, k) => {
        const aux = heads(x, pixel.maskFeatures);
        g.output(`auxiliary_logits.${k}.class_queries_logits`, aux.classLogits);
        g.output(`auxiliary_logits.${k}.masks_queries_logits`, aux.maskLogits);
      });
    });
  }
  return { graph: g, geometry, outputNames: [...g.outputs.keys()] };
}

export const MASKFORMER: ModelFamily = {
  id: 'maskformer',
  displayName: 'MaskFormer',
  architectures: ['MaskFormerForInstanceSegmentation', 'MaskFormerModel'],
  parse: (json, file): ModelSpec => {
    const config = parseMaskFormerConfig(json, file);
    return {
      family: 'maskformer',
      displayName: 'MaskFormer',
      config,
      post: MASKFORMER_POST,
      skipWeight: IGNORED,
      build: (weights, input, options, maxWorkgroups) => buildMaskFormer(config, weights, input, options, maxWorkgroups),
    };
  },
};
