/**
 * OneFormerForUniversalSegmentation (inference, `is_training` false) as one planned graph:
 * (preprocessing) -> Swin backbone -> deformable pixel decoder -> task MLP on `task_inputs` ->
 * decoder_norm(task token) -> query transformer -> [Q-1 object queries, task token] -> masked-attention
 * decoder -> class and mask logits. `task_inputs` is a graph input: switching the task prompt is a
 * new input row, not a new graph or new weights. Outputs carry the names of HF's outputs.
 */
import type { OneFormerConfig, PreprocessorConfig } from '../../config/index.ts';
import { GraphBuilder, type Tensor } from '../../graph/builder.ts';
import * as ops from '../../ops/index.ts';
import { writeSlice } from '../../ops/strided-copy.ts';
import { pixelDecoder } from '../mask2former/pixel-decoder.ts';
import { batchGeometry, preprocess, type BatchGeometry } from '../mask2former/preprocess.ts';
import { swinBackbone } from '../mask2former/swin.ts';
import { WeightBinder, type WeightShapes } from '../mask2former/weights.ts';
import type { Mask2FormerConfig } from '../../config/index.ts';
import { queryTransformer } from './query-transformer.ts';

export type ModelInput =
  | { readonly kind: 'pixel-values'; readonly shape: readonly [number, 3, number, number] }
  | { readonly kind: 'images'; readonly sizes: readonly (readonly [number, number])[]; readonly preprocessor: PreprocessorConfig };

export interface BuildOptions {
  readonly intermediates?: boolean;
}

export interface BuiltOneFormer {
  readonly graph: GraphBuilder;
  readonly geometry: BatchGeometry | undefined;
  readonly outputNames: readonly string[];
}

const P = 'model.transformer_module';
/** Keys inference never reads: the loss's buffers (and a text mapper, absent when is_training is false). */
const IGNORED = (key: string): boolean => key.startsWith('criterion.');

export function buildOneFormer(cfg: OneFormerConfig, weights: WeightShapes, input: ModelInput, options: BuildOptions = {}, maxWorkgroups = 65535): BuiltOneFormer {
  const g = new GraphBuilder(maxWorkgroups);
  const wb = new WeightBinder(g, weights);
  let pixelValues: Tensor;
  let geometry: BatchGeometry | undefined;
  if (input.kind === 'pixel-values') {
    pixelValues = g.input('pixel_values', input.shape);
  } else {
    geometry = batchGeometry(input.sizes, input.preprocessor);
    pixelValues = preprocess(g, geometry, input.preprocessor);
  }
  const B = pixelValues.shape[0] as number;
  const D = cfg.hiddenDim;
  // task_inputs: token ids as float values, [B, task_seq_len].
  const taskInputs = g.input('task_inputs', [B, cfg.taskSeqLen]);

  const backbone = swinBackbone(wb, cfg.backbone, pixelValues);
  const pixel = pixelDecoder(wb, pixelDecoderConfig(cfg), backbone.maps);

  // Task MLP: Linear(task_seq_len -> D) + ReLU, Linear(D -> D).
  const taskToken = g.within('task_encoder', () => {
    const l0 = wb.linear('model.task_encoder.task_mlp.layers.0.0', D, cfg.taskSeqLen);
    const l1 = wb.linear('model.task_encoder.task_mlp.layers.1.0', D, D);
    return ops.linear(g, ops.linear(g, taskInputs, l0.w, l0.b, { act: 'relu' }), l1.w, l1.b);
  });
  const decNorm = wb.norm(`${P}.decoder.decoder_norm`, D);
  const task = cfg.useTaskNorm ? ops.layerNorm(g, taskToken, decNorm.g, decNorm.b, { eps: cfg.layerNormEps }) : taskToken;
  const objectQueries = queryTransformer(wb, cfg, { decoder: `${P}.decoder`, queriesEmbedder: `${P}.queries_embedder` }, cfg.useTaskNorm ? task : null, pixel.maskFeatures);
  // Decoder queries [B, Q, D]: the Q - 1 object queries, then the task token.
  const queries = g.empty('queries', [B, cfg.numQueries, D]);
  writeSlice(g, objectQueries, queries, 1, 0);
  writeSlice(g, g.reshape(task, [B, 1, D]), queries, 1, cfg.numQueries - 1);

  g.output('task_token', taskToken);
  g.output('transformer_decoder_contrastive_queries', queries);
  if (options.intermediates) {
    if (input.kind === 'images') g.output('pixel_values', pixelValues);
    backbone.maps.forEach((m, i) => g.output(`encoder_hidden_states.${i}`, m));
    for (const [k, t] of backbone.hooks) g.output(k, t);
    g.output('pixel_decoder_hidden_states.0', pixel.maskFeatures);
    pixel.multiScale.forEach((m, l) => g.output(`pixel_decoder_hidden_states.${l + 1}`, m));
    for (const [k, t] of pixel.hooks) g.output(k, t);
    g.output('model.task_encoder', taskToken);
    g.output(`${P}.decoder.query_transformer`, objectQueries);
  }
  weights.ignore(weights.keys().filter(IGNORED));
  return { graph: g, geometry, outputNames: [...g.outputs.keys()] };
}

/** The pixel decoder's view of a OneFormer config (conv_dim / mask_dim are Mask2Former's feature sizes). */
function pixelDecoderConfig(cfg: OneFormerConfig): Mask2FormerConfig {
  return {
    featureSize: cfg.convDim,
    maskFeatureSize: cfg.maskDim,
    numAttentionHeads: cfg.numAttentionHeads,
    encoderLayers: cfg.encoderLayers,
    encoderFeedforwardDim: cfg.encoderFeedforwardDim,
    numFeatureLevels: cfg.numFeatureLevels,
    numFpnLevels: cfg.numFpnLevels,
    groupNormGroups: cfg.groupNormGroups,
    groupNormEps: cfg.groupNormEps,
  } as Mask2FormerConfig;
}
