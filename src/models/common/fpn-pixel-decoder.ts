/**
 * MaskFormer's pixel decoder: a plain FPN. Stem = conv3x3 (no bias) + GroupNorm + ReLU on the
 * lowest-resolution backbone map; then for each higher-resolution map (in reverse order):
 * lateral `proj` = 1x1 conv (no bias) + GroupNorm, plus the previous output upsampled with
 * **nearest** (torch interpolate mode="nearest"), then `block` = conv3x3 + GroupNorm + ReLU.
 * `mask_projection` (conv3x3, bias) of the last output gives the mask features.
 * Keys under `prefix` (MaskFormer: model.pixel_level_module.decoder): fpn.stem.{0,1},
 * fpn.layers.{i}.proj.{0,1}, fpn.layers.{i}.block.{0,1}, mask_projection.
 */
import type { Tensor } from '../../graph/builder.ts';
import * as ops from '../../ops/index.ts';
import type { WeightBinder } from './weights.ts';

export interface FpnPixelDecoderConfig {
  /** FPN channels (multiple of groupNormGroups). */
  readonly fpnFeatureSize: number;
  readonly maskFeatureSize: number;
}

export interface FpnOutput {
  /** FPN layer outputs, lowest resolution first (pixel_decoder_hidden_states.{i}). */
  readonly hidden: Tensor[];
  /** [B, M, h, w] at the highest-resolution map's size (pixel_decoder_last_hidden_state). */
  readonly maskFeatures: Tensor;
  readonly hooks: Map<string, Tensor>;
}

const GN = { groups: 32, eps: 1e-5 };

/** maps: backbone outputs NCHW, highest resolution first (at least two). */
export function fpnPixelDecoder(wb: WeightBinder, cfg: FpnPixelDecoderConfig, prefix: string, maps: readonly Tensor[]): FpnOutput {
  const { g } = wb;
  const F = cfg.fpnFeatureSize;
  const hooks = new Map<string, Tensor>();
  const P = `${prefix}.fpn`;
  return g.within('pixel_decoder', () => {
    const convGn = (x: Tensor, key: string, k: number, relu: boolean): Tensor => {
      const w = wb.w(`${key}.0.weight`, [F, x.shape[1] as number, k, k]);
      const n = wb.norm(`${key}.1`, F);
      return ops.groupNorm(g, ops.conv2d(g, x, w, null, { padding: Math.floor(k / 2) }), n.g, n.b, { ...GN, relu });
    };
    const last = maps[maps.length - 1] as Tensor;
    let out = g.within('fpn.stem', () => convGn(last, `${P}.stem`, 3, true));
    hooks.set(`${P}.stem`, out);
    const hidden: Tensor[] = [];
    maps.slice(0, -1).reverse().forEach((left, i) => {
      out = g.within(`fpn.layers.${i}`, () => {
        const proj = convGn(left, `${P}.layers.${i}.proj`, 1, false);
        hooks.set(`${P}.layers.${i}.proj`, proj);
        const down = ops.resizeNearest(g, out, [proj.shape[2] as number, proj.shape[3] as number]);
        return convGn(ops.binary(g, 'add', down, proj), `${P}.layers.${i}.block`, 3, true);
      });
      hooks.set(`${P}.layers.${i}`, out);
      hidden.push(out);
    });
    const mp = wb.w(`${prefix}.mask_projection.weight`, [cfg.maskFeatureSize, F, 3, 3]);
    const mpB = wb.w(`${prefix}.mask_projection.bias`, [cfg.maskFeatureSize]);
    const maskFeatures = g.within('mask_projection', () => ops.conv2d(g, out, mp, mpB, { padding: 1 }));
    return { hidden, maskFeatures, hooks };
  });
}
