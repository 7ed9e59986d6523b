/**
 * Class and mask heads shared by the MaskFormer family: `class_predictor` (Linear D -> L+1) and
 * the mask embedder (3-layer MLP, ReLU after the first two, D -> D -> D -> M) whose output is
 * contracted with the mask features: einsum("bqc,bchw->bqhw").
 */
import type { Tensor } from '../../graph/builder.ts';
import * as ops from '../../ops/index.ts';
import type { WeightBinder } from './weights.ts';

export interface HeadsConfig {
  /** Query width D. */
  readonly hiddenDim: number;
  /** Classes without "no object" (logits have numLabels + 1). */
  readonly numLabels: number;
  /** Mask-feature channels M (the embedder's output width). */
  readonly maskFeatureSize: number;
}

export interface HeadsKeys {
  /** `class_predictor` in every family. */
  readonly classPredictor: string;
  /** Prefix of `{0,1,2}.0` (Mask2Former: model.transformer_module.decoder.mask_predictor.mask_embedder; MaskFormer: mask_embedder). */
  readonly maskEmbedder: string;
}

export interface HeadsOutput {
  /** [B, Q, L+1] */
  readonly classLogits: Tensor;
  /** [B, Q, h, w] */
  readonly maskLogits: Tensor;
}

/** Binds the head weights once; the returned function applies them to queries [B, Q, D]. */
export function predictionHeads(wb: WeightBinder, cfg: HeadsConfig, keys: HeadsKeys): (queries: Tensor, maskFeatures: Tensor) => HeadsOutput {
  const { g } = wb;
  const D = cfg.hiddenDim;
  const cls = wb.linear(keys.classPredictor, cfg.numLabels + 1, D);
  const mlp = [0, 1, 2].map((i) => wb.linear(`${keys.maskEmbedder}.${i}.0`, i === 2 ? cfg.maskFeatureSize : D, D));
  return (queries, maskFeatures) => {
    const [B, Q] = queries.shape as [number, number];
    const [, , hm, wm] = maskFeatures.shape as [number, number, number, number];
    const classLogits = ops.linear(g, queries, cls.w, cls.b);
    let emb = queries;
    mlp.forEach((l, i) => {
      emb = ops.linear(g, emb, l.w, l.b, i < 2 ? { act: 'relu' } : {});
    });
    const maskLogits = g.reshape(ops.maskEinsum(g, emb, maskFeatures), [B, Q, hm, wm]);
    return { classLogits, maskLogits };
  };
}
