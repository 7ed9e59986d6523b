/**
 * OneFormerForUniversalSegmentation (inference, `is_training` false) as one planned graph,
 * assembled from the common blocks: (preprocessing) -> Swin backbone -> deformable pixel decoder ->
 * task MLP on `task_inputs` -> decoder_norm(task token) -> query transformer -> [Q-1 object
 * queries, task token] -> masked-attention decoder -> class and mask logits.
 * `task_inputs` [B, task_seq_len] is a graph input: switching the task prompt feeds another row
 * to the same planned graph and weights. Outputs carry the names of HF's outputs.
 */
import { parseOneFormerConfig, parseOneFormerPreprocessor, type OneFormerConfig } from '../../config/index.ts';
import { ConfigError } from '../../errors.ts';
import { GraphBuilder, type Tensor } from '../../graph/builder.ts';
import * as ops from '../../ops/index.ts';
import { writeSlice } from '../../ops/strided-copy.ts';
import { ONEFORMER_POST } from '../../post/rules.ts';
import { deformablePixelDecoder } from '../common/deformable-pixel-decoder.ts';
import { maskedAttentionDecoder, type DecoderLayerKeys } from '../common/masked-attention-decoder.ts';
import { swinBackbone, swinKeys } from '../common/swin.ts';
import { WeightBinder, type WeightShapes } from '../common/weights.ts';
import type { BuildOptions, BuiltModel, ModelFamily, ModelInput, ModelSpec } from '../family.ts';
import { modelInput } from '../common/input.ts';
import { queryTransformer } from './query-transformer.ts';
import { ClipTokenizer, ONEFORMER_TASKS, type OneFormerTask } from './tokenizer.ts';

const ENCODER = 'model.pixel_level_module.encoder';
const PIXEL_DECODER = 'model.pixel_level_module.decoder';
const TRANSFORMER = 'model.transformer_module';
const TASK_MLP = 'model.task_encoder.task_mlp.layers';

/** OneFormer's names inside `transformer_module.decoder.layers.{j}` and its final norm. */
export const ONEFORMER_DECODER_KEYS: DecoderLayerKeys = {
  decoderNorm: 'decoder.decoder_norm',
  crossAttn: 'cross_attn.multihead_attn',
  crossNorm: 'cross_attn.norm',
  selfAttn: 'self_attn.self_attn',
  selfNorm: 'self_attn.norm',
  fc1: 'ffn.linear1',
  fc2: 'ffn.linear2',
  ffnNorm: 'ffn.norm',
};

/** Keys inference never reads: the loss's buffers (a text mapper exists only when is_training is true). */
const IGNORED = (key: string): boolean => key.startsWith('criterion.');

export function buildOneFormer(cfg: OneFormerConfig, weights: WeightShapes, input: ModelInput, options: BuildOptions = {}, maxWorkgroups = 65535): BuiltModel {
  const g = new GraphBuilder(maxWorkgroups, options.policy);
  const wb = new WeightBinder(g, weights);
  const { pixelValues, geometry } = modelInput(g, input);
  const B = pixelValues.shape[0] as number;
  const D = cfg.hiddenDim;
  const Q = cfg.numQueries;
  // Token ids as float values (HF: task_inputs.float()), [B, task_seq_len].
  const taskInputs = g.input('task_inputs', [B, cfg.taskSeqLen]);

  const backbone = swinBackbone(wb, cfg.backbone, swinKeys(ENCODER), pixelValues);
  const pixel = deformablePixelDecoder(
    wb,
    { ...cfg, featureSize: cfg.convDim, maskFeatureSize: cfg.maskDim },
    PIXEL_DECODER,
    backbone.maps,
  );

  const { taskToken, task } = g.within('task_encoder', () => {
    // task_mlp: Linear(task_seq_len -> D) + ReLU, Linear(D -> D).
    const l0 = wb.linear(`${TASK_MLP}.0.0`, D, cfg.taskSeqLen);
    const l1 = wb.linear(`${TASK_MLP}.1.0`, D, D);
    const token = ops.linear(g, ops.linear(g, taskInputs, l0.w, l0.b, { act: 'relu' }), l1.w, l1.b);
    // use_task_norm: the decoder's own decoder_norm, applied before the token is used anywhere.
    const n = wb.norm(`${TRANSFORMER}.${ONEFORMER_DECODER_KEYS.decoderNorm}`, D);
    return { taskToken: token, task: cfg.useTaskNorm ? ops.layerNorm(g, token, n.g, n.b, { eps: cfg.layerNormEps }) : token };
  });
  const objectQueries = queryTransformer(
    wb,
    cfg,
    { decoder: `${TRANSFORMER}.decoder`, queriesEmbedder: `${TRANSFORMER}.queries_embedder` },
    cfg.useTaskNorm ? task : null,
    pixel.maskFeatures,
  );
  // Decoder input [B, Q, D]: the Q - 1 object queries, then the task token (HF's contrastive queries).
  const queries = g.within('transformer_decoder', () => {
    const q = g.empty('queries', [B, Q, D]);
    writeSlice(g, objectQueries, q, 1, 0);
    writeSlice(g, g.reshape(task, [B, 1, D]), q, 1, Q - 1);
    return q;
  });
  const decoder = maskedAttentionDecoder(
    wb,
    {
      hiddenDim: D,
      numLabels: cfg.numLabels,
      maskFeatureSize: cfg.maskDim,
      numQueries: Q,
      numAttentionHeads: cfg.numAttentionHeads,
      numFeatureLevels: cfg.numFeatureLevels,
      numLayers: cfg.numInstantiatedDecoderLayers,
      dimFeedforward: cfg.dimFeedforward,
      hasInputProjection: cfg.hasDecoderInputProjection,
      layerNormEps: cfg.layerNormEps,
    },
    TRANSFORMER,
    { classPredictor: `${TRANSFORMER}.decoder.class_embed`, maskEmbedder: `${TRANSFORMER}.decoder.mask_embed.layers` },
    queries,
    pixel.multiScale,
    pixel.maskFeatures,
    ONEFORMER_DECODER_KEYS,
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
    for (const [k, t] of backbone.hooks) g.output(k, t);
    // OneFormer lists the mask features first, then the multi-scale maps (stride 32, 16, 8).
    g.output('pixel_decoder_hidden_states.0', pixel.maskFeatures);
    pixel.multiScale.forEach((m, l) => g.output(`pixel_decoder_hidden_states.${l + 1}`, m));
    for (const [k, t] of pixel.hooks) g.output(k, t);
    g.output('task_token', taskToken);
    g.output('model.task_encoder', taskToken);
    g.output(`${TRANSFORMER}.decoder.query_transformer`, g.reshape(objectQueries, [1, B, Q - 1, D]));
    g.output('transformer_decoder_contrastive_queries', queries);
    g.within('intermediates', () => {
      decoder.predictions.forEach((p, k) => g.output(`transformer_decoder_intermediate_states.${k}`, seqFirst(p.normed)));
      decoder.hidden.slice(1).forEach((x, j) => g.output(`${TRANSFORMER}.decoder.layers.${j}`, seqFirst(x)));
    });
    g.output('transformer_decoder_object_queries', decoder.hidden[decoder.hidden.length - 1] as Tensor);
    decoder.predictions.slice(0, -1).forEach((p, k) => {
      g.output(`auxiliary_predictions.${k}.class_queries_logits`, p.classLogits);
      g.output(`auxiliary_predictions.${k}.masks_queries_logits`, p.maskLogits);
    });
    decoder.maskLogitsAtLevel.forEach((t, k) => g.output(`debug.attention_mask_logits.${k}`, t));
    decoder.attentionMasks.forEach((t, k) => g.output(`debug.attention_mask_raw.${k}`, t));
  }
  return { graph: g, geometry, outputNames: [...g.outputs.keys()] };
}

/** `task_inputs` for `batch` images, one task: the prompt's ids as floats, row repeated. */
export function taskInputsFeed(tok: ClipTokenizer, task: OneFormerTask, seqLen: number, batch: number): Float32Array {
  const row = tok.taskInputs(task, seqLen);
  const out = new Float32Array(batch * seqLen);
  for (let b = 0; b < batch; b++) out.set(row, b * seqLen);
  return out;
}

export const ONEFORMER: ModelFamily = {
  id: 'oneformer',
  displayName: 'OneFormer',
  architectures: ['OneFormerForUniversalSegmentation', 'OneFormerModel'],
  parse: (json, file, source): ModelSpec => {
    const config = parseOneFormerConfig(json, file);
    // A loaded checkpoint must bring its tokenizer (errors at load); a bare config gets it never.
    let tokenizer = source ? ClipTokenizer.fromCheckpoint(source.files, source.name) : undefined;
    const need = (): ClipTokenizer => (tokenizer ??= ClipTokenizer.fromCheckpoint(undefined, file));
    return {
      family: 'oneformer',
      displayName: 'OneFormer',
      config,
      post: ONEFORMER_POST,
      skipWeight: IGNORED,
      build: (weights, input, options, maxWorkgroups) => buildOneFormer(config, weights, input, options, maxWorkgroups),
      parsePreprocessor: (pre, parseOptions) => {
        const classInfoName = typeof pre === 'object' && pre !== null && typeof (pre as Record<string, unknown>)['class_info_file'] === 'string' ? ((pre as Record<string, unknown>)['class_info_file'] as string) : 'class_info.json';
        const text = source?.files?.[classInfoName];
        let classInfo: { json: unknown; file: string } | undefined;
        if (text !== undefined) {
          try {
            classInfo = { json: JSON.parse(text) as unknown, file: classInfoName };
          } catch (e) {
            throw new ConfigError(classInfoName, '(root)', `not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        return parseOneFormerPreprocessor(pre, classInfo, 'preprocessor_config.json', parseOptions);
      },
      feeds: ({ task, batch }) => {
        if (task === undefined || !ONEFORMER_TASKS.includes(task)) {
          throw new ConfigError(file, 'task', `OneFormer runs one of ${ONEFORMER_TASKS.join(', ')} (its task prompt is a model input); got ${String(task)}`);
        }
        return { task_inputs: taskInputsFeed(need(), task, config.taskSeqLen, batch) };
      },
    };
  },
};
