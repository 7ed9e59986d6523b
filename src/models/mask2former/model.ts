/**
 * Mask2FormerForUniversalSegmentation as one planned graph: (preprocessing) -> Swin backbone ->
 * pixel decoder -> transformer decoder -> class and mask logits. Every checkpoint tensor is
 * used or explicitly ignored; outputs and intermediates carry the names of HF's outputs.
 */
import type { Mask2FormerConfig, PreprocessorConfig } from '../../config/index.ts';
import { GraphBuilder, type Tensor } from '../../graph/builder.ts';
import type { KernelPolicy } from '../../gpu/policy.ts';
import * as ops from '../../ops/index.ts';
import { pixelDecoder } from './pixel-decoder.ts';
import { batchGeometry, preprocess, type BatchGeometry } from './preprocess.ts';
import { swinBackbone } from './swin.ts';
import { transformerDecoder } from './transformer-decoder.ts';
import { WeightBinder, type WeightShapes } from './weights.ts';

/** The model's input: ready pixel_values, or raw RGBA8 images preprocessed on the GPU. */
export type ModelInput =
  | { readonly kind: 'pixel-values'; readonly shape: readonly [number, 3, number, number] }
  | { readonly kind: 'images'; readonly sizes: readonly (readonly [number, number])[]; readonly preprocessor: PreprocessorConfig };

export interface BuildOptions {
  /** Also output every intermediate named as in HF's outputs (and the fixtures). */
  readonly intermediates?: boolean;
}

export interface BuiltModel {
  readonly graph: GraphBuilder;
  readonly geometry: BatchGeometry | undefined;
  /** Every graph output (logits, and with `intermediates` HF's intermediate names, in HF's layouts). */
  readonly outputNames: readonly string[];
}

/** Keys of the checkpoint that inference never reads. */
const IGNORED = (key: string): boolean => key.startsWith('criterion.');

export function buildMask2Former(cfg: Mask2FormerConfig, weights: WeightShapes, input: ModelInput, options: BuildOptions = {}, maxWorkgroups = 65535, policy?: KernelPolicy): BuiltModel {
  const g = new GraphBuilder(maxWorkgroups, policy);
  const wb = new WeightBinder(g, weights);
  let pixelValues: Tensor;
  let geometry: BatchGeometry | undefined;
  if (input.kind === 'pixel-values') {
    pixelValues = g.input('pixel_values', input.shape);
  } else {
    geometry = batchGeometry(input.sizes, input.preprocessor);
    pixelValues = preprocess(g, geometry, input.preprocessor);
  }
  const backbone = swinBackbone(wb, cfg.backbone, pixelValues);
  const pixel = pixelDecoder(wb, cfg, backbone.maps);
  const decoder = transformerDecoder(wb, cfg, pixel.multiScale, pixel.maskFeatures);
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

/**
 * HF's view of a decoder layer's attention mask: our raw 0/1 mask [B, Q, hw] (u32, nonzero =
 * blocked) with the fully-masked-row rule applied (such rows become all open), as U8.
 */
export function attentionMaskAsHf(raw: Uint32Array, rows: number, n: number): Uint8Array {
  const out = new Uint8Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let blocked = 0;
    for (let j = 0; j < n; j++) if (raw[r * n + j] !== 0) blocked++;
    if (blocked === n) continue;
    for (let j = 0; j < n; j++) out[r * n + j] = raw[r * n + j] !== 0 ? 1 : 0;
  }
  return out;
}
