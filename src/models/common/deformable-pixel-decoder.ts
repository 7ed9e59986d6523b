/**
 * Multi-scale deformable-attention pixel decoder (Mask2Former's, also OneFormer's): input
 * projections (1x1 conv + GroupNorm) of the lowest-resolution backbone maps (stride 32, 16, 8),
 * a deformable-attention encoder over their concatenated tokens, an FPN step up to stride 4
 * (bilinear upsampling) and the mask projection.
 * Keys under `prefix` (Mask2Former: model.pixel_level_module.decoder): input_projections.{l},
 * level_embed, encoder.layers.{i}, adapter_{i}, layer_{i}, mask_projection.
 */
import type { Tensor } from '../../graph/builder.ts';
import * as ops from '../../ops/index.ts';
import { referencePoints, sinePositionEmbedding } from './position.ts';
import type { WeightBinder } from './weights.ts';

const N_POINTS = 4;

/** What the deformable pixel decoder needs from a family's config. */
export interface DeformablePixelDecoderConfig {
  /** Channels of the encoder and FPN (multiple of 32 and of numAttentionHeads). */
  readonly featureSize: number;
  /** Channels of mask_projection's output. */
  readonly maskFeatureSize: number;
  /** Heads of the deformable attention. */
  readonly numAttentionHeads: number;
  readonly encoderLayers: number;
  readonly encoderFeedforwardDim: number;
  /** Levels fed to the encoder (3: strides 32, 16, 8). */
  readonly numFeatureLevels: number;
  /** FPN steps below the encoder's highest resolution (1: up to stride 4). */
  readonly numFpnLevels: number;
  readonly groupNormGroups: number;
  readonly groupNormEps: number;
  /** Eps of the encoder layers' LayerNorms (Mask2Former: fixed 1e-5; OneFormer: layer_norm_eps). Default 1e-5. */
  readonly layerNormEps?: number;
}

export interface PixelDecoderOutput {
  /** pixel_decoder_hidden_states.{l}: [B, F, h, w], l = 0 stride 32, 1 stride 16, 2 stride 8. */
  readonly multiScale: Tensor[];
  /** pixel_decoder_last_hidden_state: [B, M, h_0, w_0] (stride 4). */
  readonly maskFeatures: Tensor;
  readonly hooks: Map<string, Tensor>;
}

function encoderLayer(wb: WeightBinder, cfg: DeformablePixelDecoderConfig, P: string, i: number, x: Tensor, posWithLevel: Tensor, ref: Tensor, levels: [number, number][], hooks: Map<string, Tensor>): Tensor {
  const { g } = wb;
  const pre = `${P}.encoder.layers.${i}`;
  const F = cfg.featureSize;
  const H = cfg.numAttentionHeads;
  const L = levels.length;
  return g.within(`encoder.layers.${i}`, () => {
    const [B, S] = x.shape as [number, number];
    const query = ops.binary(g, 'add', x, posWithLevel, 1);
    const vp = wb.linear(`${pre}.self_attn.value_proj`, F, F);
    const so = wb.linear(`${pre}.self_attn.sampling_offsets`, H * L * N_POINTS * 2, F);
    const aw = wb.linear(`${pre}.self_attn.attention_weights`, H * L * N_POINTS, F);
    const op = wb.linear(`${pre}.self_attn.output_proj`, F, F);
    const value = ops.linear(g, x, vp.w, vp.b);
    const offsets = ops.linear(g, query, so.w, so.b);
    const logits = ops.linear(g, query, aw.w, aw.b);
    const weights = g.reshape(ops.softmax(g, g.reshape(logits, [B * S * H, L * N_POINTS])), [B, S, H * L * N_POINTS]);
    const sampled = ops.msDeformAttn(g, value, offsets, weights, ref, { heads: H, levels, points: N_POINTS });
    const attn = ops.linear(g, sampled, op.w, op.b);
    hooks.set(`${pre}.self_attn`, attn);
    const ln1 = wb.norm(`${pre}.self_attn_layer_norm`, F);
    const x1 = ops.layerNorm(g, attn, ln1.g, ln1.b, { residual: x, eps: cfg.layerNormEps ?? 1e-5 });
    const fc1 = wb.linear(`${pre}.fc1`, cfg.encoderFeedforwardDim, F);
    const fc2 = wb.linear(`${pre}.fc2`, F, cfg.encoderFeedforwardDim);
    const ffn = ops.linear(g, ops.linear(g, x1, fc1.w, fc1.b, { act: 'relu' }), fc2.w, fc2.b);
    const ln2 = wb.norm(`${pre}.final_layer_norm`, F);
    const out = ops.layerNorm(g, ffn, ln2.g, ln2.b, { residual: x1, eps: cfg.layerNormEps ?? 1e-5 });
    hooks.set(pre, out);
    return out;
  });
}

/** backbone maps (NCHW, stride 4, 8, 16, 32) -> multi-scale features + mask features. */
export function deformablePixelDecoder(wb: WeightBinder, cfg: DeformablePixelDecoderConfig, P: string, maps: readonly Tensor[]): PixelDecoderOutput {
  const { g } = wb;
  const hooks = new Map<string, Tensor>();
  const F = cfg.featureSize;
  const nLevels = cfg.numFeatureLevels;
  const gn = { groups: cfg.groupNormGroups, eps: cfg.groupNormEps };
  return g.within('pixel_decoder', () => {
    const B = maps[0]?.shape[0] as number;
    // Levels from the lowest resolution: l = 0 is the last backbone map.
    const inputs = maps.slice().reverse().slice(0, nLevels);
    const levels = inputs.map((t) => [t.shape[2], t.shape[3]] as [number, number]);
    const S = levels.reduce((a, [h, w]) => a + h * w, 0);
    const starts = levels.map((_, l) => levels.slice(0, l).reduce((a, [h, w]) => a + h * w, 0));
    const tokens = g.empty('tokens', [B, S, F]);
    // Position embedding + level embedding, the same for every image of the batch: [S, F].
    const levelEmbed = wb.w(`${P}.level_embed`, [nLevels, F]);
    const pos = new Float32Array(S * F);
    levels.forEach(([h, w], l) => pos.set(sinePositionEmbedding(h, w, F / 2), (starts[l] as number) * F));
    const posConst = g.constant(`pixel-decoder-pos-${levels.map(([h, w]) => `${h}x${w}`).join('-')}`, [S, F], pos);
    const posWithLevel = g.empty('pos+level', [S, F]);
    inputs.forEach((x, l) => {
      const [h, w] = levels[l] as [number, number];
      const cin = x.shape[1] as number;
      const conv = wb.w(`${P}.input_projections.${l}.0.weight`, [F, cin, 1, 1]);
      const convB = wb.w(`${P}.input_projections.${l}.0.bias`, [F]);
      const norm = wb.norm(`${P}.input_projections.${l}.1`, F);
      const proj = g.within(`input_projections.${l}`, () => ops.groupNorm(g, ops.conv2d(g, x, conv, convB), norm.g, norm.b, gn));
      hooks.set(`${P}.input_projections.${l}`, proj);
      ops.levelToTokens(g, proj, tokens, starts[l] as number);
      const rows = g.view(posConst, (starts[l] as number) * F, [h * w, F]);
      ops.binary(g, 'add', rows, g.view(levelEmbed, l * F, [F]), 1, g.view(posWithLevel, (starts[l] as number) * F, [h * w, F]));
    });
    const ref = g.constant(`reference-points-${levels.map(([h, w]) => `${h}x${w}`).join('-')}`, [S, 2], referencePoints(levels));
    let x = tokens;
    for (let i = 0; i < cfg.encoderLayers; i++) x = encoderLayer(wb, cfg, P, i, x, posWithLevel, ref, levels, hooks);
    const multiScale = levels.map(([h, w], l) => ops.tokensToLevel(g, x, starts[l] as number, [h, w], `level${l}`));
    // FPN: from the stride-8 output up through the remaining higher-resolution backbone maps.
    let current = multiScale[multiScale.length - 1] as Tensor;
    const fpnInputs = maps.slice(0, cfg.numFpnLevels).reverse();
    fpnInputs.forEach((feature, idx) => {
      const [, cin, h, w] = feature.shape as [number, number, number, number];
      current = g.within(`fpn.${idx + 1}`, () => {
        const lat = wb.w(`${P}.adapter_${idx + 1}.0.weight`, [F, cin, 1, 1]);
        const latN = wb.norm(`${P}.adapter_${idx + 1}.1`, F);
        const lateral = ops.groupNorm(g, ops.conv2d(g, feature, lat, null), latN.g, latN.b, gn);
        const up = ops.resizeBilinear(g, current, [h, w]);
        const sum = ops.binary(g, 'add', lateral, up);
        const outW = wb.w(`${P}.layer_${idx + 1}.0.weight`, [F, F, 3, 3]);
        const outN = wb.norm(`${P}.layer_${idx + 1}.1`, F);
        return ops.groupNorm(g, ops.conv2d(g, sum, outW, null, { padding: 1 }), outN.g, outN.b, { ...gn, relu: true });
      });
    });
    const mp = wb.w(`${P}.mask_projection.weight`, [cfg.maskFeatureSize, F, 1, 1]);
    const mpB = wb.w(`${P}.mask_projection.bias`, [cfg.maskFeatureSize]);
    const maskFeatures = g.within('mask_projection', () => ops.conv2d(g, current, mp, mpB));
    return { multiScale, maskFeatures, hooks };
  });
}
