/**
 * HF ResNet as a backbone (`ResNetBackbone`): stem (7x7/2 conv + BN + act, 3x3/2 max-pool), then
 * stages of bottleneck or basic residual layers; BatchNorm in eval mode with running statistics.
 * Keys under `prefix` (MaskFormer: model.pixel_level_module.encoder):
 *   embedder.embedder.{convolution, normalization}
 *   encoder.stages.{s}.layers.{l}.{shortcut.{convolution, normalization}, layer.{i}.{convolution, normalization}}
 */
import type { Tensor } from '../../graph/builder.ts';
import * as ops from '../../ops/index.ts';
import type { WeightBinder } from './weights.ts';

/** What the ResNet block needs from a config (HF ResNetConfig). */
export interface ResNetBlockConfig {
  readonly numChannels: number;
  readonly embeddingSize: number;
  readonly hiddenSizes: readonly number[];
  readonly depths: readonly number[];
  readonly layerType: 'bottleneck' | 'basic';
  readonly hiddenAct: 'relu' | 'gelu';
  readonly downsampleInFirstStage: boolean;
  readonly downsampleInBottleneck: boolean;
  /** Output maps: indices into ['stem', 'stage1', ...] (0 = after the max-pool). */
  readonly outIndices: readonly number[];
}

export interface ResNetOutput {
  /** Output maps NCHW, in outIndices order. */
  readonly maps: Tensor[];
  /** Hooks named like the fixtures' expected.safetensors (HF module paths). */
  readonly hooks: Map<string, Tensor>;
}

const BN_EPS = 1e-5;

/** HF ResNetConvLayer: conv (padding k/2, no bias) + BatchNorm + activation, optionally + residual before it. */
function convLayer(wb: WeightBinder, x: Tensor, prefix: string, cout: number, k: number, stride: number, act: 'relu' | 'gelu' | 'none', residual?: Tensor): Tensor {
  const { g } = wb;
  const cin = x.shape[1] as number;
  const w = wb.w(`${prefix}.convolution.weight`, [cout, cin, k, k]);
  const y = ops.conv2d(g, x, w, null, { stride, padding: Math.floor(k / 2) });
  return ops.batchNorm(g, y, bnParams(wb, `${prefix}.normalization`, cout), { eps: BN_EPS, act, ...(residual ? { residual } : {}) });
}

function bnParams(wb: WeightBinder, prefix: string, c: number): ops.BatchNormParams {
  // num_batches_tracked (an I64 scalar) only counts training steps.
  wb.store.ignore([`${prefix}.num_batches_tracked`].filter((k) => wb.store.has(k)));
  return {
    weight: wb.w(`${prefix}.weight`, [c]),
    bias: wb.w(`${prefix}.bias`, [c]),
    runningMean: wb.w(`${prefix}.running_mean`, [c]),
    runningVar: wb.w(`${prefix}.running_var`, [c]),
  };
}

/** One residual layer (HF ResNetBottleNeckLayer / ResNetBasicLayer): act(layer(x) + shortcut(x)). */
function residualLayer(wb: WeightBinder, cfg: ResNetBlockConfig, x: Tensor, prefix: string, cout: number, stride: number): Tensor {
  const { g } = wb;
  const cin = x.shape[1] as number;
  return g.within(prefix.slice(prefix.indexOf('stages.')), () => {
    const shortcut = cin !== cout || stride !== 1 ? convLayer(wb, x, `${prefix}.shortcut`, cout, 1, stride, 'none') : x;
    if (cfg.layerType === 'bottleneck') {
      const reduced = Math.floor(cout / 4);
      const first = convLayer(wb, x, `${prefix}.layer.0`, reduced, 1, cfg.downsampleInBottleneck ? stride : 1, 'relu');
      const mid = convLayer(wb, first, `${prefix}.layer.1`, reduced, 3, cfg.downsampleInBottleneck ? 1 : stride, 'relu');
      return convLayer(wb, mid, `${prefix}.layer.2`, cout, 1, 1, cfg.hiddenAct, shortcut);
    }
    const first = convLayer(wb, x, `${prefix}.layer.0`, cout, 3, stride, 'relu');
    return convLayer(wb, first, `${prefix}.layer.1`, cout, 3, 1, cfg.hiddenAct, shortcut);
  });
}

/** pixel_values [B, 3, H, W] -> the configured output maps. */
export function resnetBackbone(wb: WeightBinder, cfg: ResNetBlockConfig, prefix: string, pixelValues: Tensor): ResNetOutput {
  const { g } = wb;
  const hooks = new Map<string, Tensor>();
  return g.within('backbone', () => {
    const stemConv = g.within('embedder', () => convLayer(wb, pixelValues, `${prefix}.embedder.embedder`, cfg.embeddingSize, 7, 2, cfg.hiddenAct));
    hooks.set(`${prefix}.embedder.embedder`, stemConv);
    let x = g.within('embedder', () => ops.maxPool2d(g, stemConv, { kernel: 3, stride: 2, padding: 1 }));
    hooks.set(`${prefix}.embedder`, x);
    const stages: Tensor[] = [x];
    cfg.hiddenSizes.forEach((cout, s) => {
      const depth = cfg.depths[s] as number;
      const stride = s === 0 ? (cfg.downsampleInFirstStage ? 2 : 1) : 2;
      for (let l = 0; l < depth; l++) x = residualLayer(wb, cfg, x, `${prefix}.encoder.stages.${s}.layers.${l}`, cout, l === 0 ? stride : 1);
      hooks.set(`${prefix}.encoder.stages.${s}`, x);
      stages.push(x);
    });
    return { maps: cfg.outIndices.map((i) => stages[i] as Tensor), hooks };
  });
}
