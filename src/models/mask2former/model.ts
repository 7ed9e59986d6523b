/**
 * Mask2FormerForUniversalSegmentation as one planned graph, assembled from the common blocks:
 * (preprocessing) -> Swin backbone -> deformable pixel decoder -> masked-attention decoder ->
 * class and mask logits. Every checkpoint tensor is used or explicitly ignored; outputs and
 * intermediates carry the names of HF's outputs.
 */
import { parseMask2FormerConfig, type Mask2FormerConfig } from '../../config/index.ts';
import { GraphBuilder, type Tensor } from '../../graph/builder.ts';
import * as ops from '../../ops/index.ts';
import { MASK2FORMER_POST } from '../../post/rules.ts';
import { deformablePixelDecoder } from '../common/deformable-pixel-decoder.ts';
import { maskedAttentionDecoder } from '../common/masked-attention-decoder.ts';
import { modelInput } from '../common/input.ts';
import { swinBackbone, swinKeys } from '../common/swin.ts';
import { WeightBinder, type WeightShapes } from '../common/weights.ts';
import type { BuildOptions, BuiltModel, ModelFamily, ModelInput, ModelSpec } from '../family.ts';


export { attentionMaskAsHf } from '../common/masked-attention-decoder.ts';

/** Keys of the checkpoint that inference never reads. */
const IGNORED = (key: string): boolean => key.startsWith('criterion.');

const ENCODER = 'model.pixel_level_module.encoder';
const PIXEL_DECODER = 'model.pixel_level_module.decoder';
const TRANSFORMER = 'model.transformer_module';

export function buildMask2Former(cfg: Mask2FormerConfig, weights: WeightShapes, input: ModelInput, options: BuildOptions = {}, maxWorkgroups = 65535): BuiltModel {
  const g = new GraphBuilder(maxWorkgroups, options.policy);
  const wb = new WeightBinder(g, weights);
  const { pixelValues, geometry } = modelInput(g, input);
  const backbone = swinBackbone(wb, cfg.backbone, swinKeys(ENCODER), pixelValues);
  const pixel = deformablePixelDecoder(wb, cfg, PIXEL_DECODER, backbone.maps);
  const B = pixelValues.shape[0] as number;
  const initial = g.within('transformer_decoder', () => ops.repeatLeading(g, wb.w(`${TRANSFORMER}.queries_features.weight`, [cfg.numQueries, cfg.hiddenDim]), B));
  const decoder = maskedAttentionDecoder(
    wb,
    { ...cfg, numLayers: cfg.numInstantiatedDecoderLayers, hasInputProjection: cfg.hasDecoderInputProjection },
    TRANSFORMER,
    { classPredictor: 'class_predictor', maskEmbedder: `${TRANSFORMER}.decoder.mask_predictor.mask_embedder` },
    initial,
    pixel.multiScale,
    pixel.maskFeatures,
  );
  weights.ignore(weights.keys().filter(IGNORED));
  wb.assertAllUsed();

  const last = decoder.predictions[decoder.predictions.length - 1];
  if (!last) throw new Error('unreachable: the decoder makes at least one prediction');
  g.output('class_queries_logits', last.classLogits);
  g.output('masks_queries_logits', last.maskLogits);
  if (options.intermediates) {
    const seqFirst = (t: Tensor): Tensor => ops.permute(g, t, [1, 0, 2]);
    if (input.kind === 'images') g.output('pixel_values', pixelValues);
    backbone.maps.forEach((m, i) => g.output(`encoder_hidden_states.${i}`, m));
    g.output('encoder_last_hidden_state', backbone.maps[backbone.maps.length - 1] as Tensor);
    for (const [k, t] of backbone.hooks) g.output(k, t);
    pixel.multiScale.forEach((m, l) => g.output(`pixel_decoder_hidden_states.${l}`, m));
    g.output('pixel_decoder_last_hidden_state', pixel.maskFeatures);
    for (const [k, t] of pixel.hooks) g.output(k, t);
    g.within('intermediates', () => {
      decoder.hidden.forEach((x, k) => g.output(`transformer_decoder_hidden_states.${k}`, seqFirst(x)));
      decoder.predictions.forEach((p, k) => g.output(`transformer_decoder_intermediate_states.${k}`, seqFirst(p.normed)));
    });
    g.output('transformer_decoder_last_hidden_state', decoder.hidden[decoder.hidden.length - 1] as Tensor);
    decoder.predictions.slice(0, -1).forEach((p, k) => {
      g.output(`auxiliary_logits.${k}.class_queries_logits`, p.classLogits);
      g.output(`auxiliary_logits.${k}.masks_queries_logits`, p.maskLogits);
    });
    decoder.maskLogitsAtLevel.forEach((t, k) => g.output(`debug.attention_mask_logits.${k}`, t));
    decoder.attentionMasks.forEach((t, k) => g.output(`debug.attention_mask_raw.${k}`, t));
  }
  return { graph: g, geometry, outputNames: [...g.outputs.keys()] };
}

export const MASK2FORMER: ModelFamily = {
  id: 'mask2former',
  displayName: 'Mask2Former',
  architectures: ['Mask2FormerForUniversalSegmentation', 'Mask2FormerModel'],
  parse: (json, file): ModelSpec => {
    const config = parseMask2FormerConfig(json, file);
    return {
      family: 'mask2former',
      displayName: 'Mask2Former',
      config,
      post: MASK2FORMER_POST,
      skipWeight: IGNORED,
      build: (weights, input, options, maxWorkgroups) => buildMask2Former(config, weights, input, options, maxWorkgroups),
    };
  },
};
