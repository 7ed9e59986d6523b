/**
 * Plain-TS HF ResNet backbone (ResNetEmbeddings + ResNetEncoder, eval BatchNorm), written from
 * HF's module definitions with conv2dRef / batchNormRef / maxPoolRef: the reference for ResNet
 * variants the fixtures do not cover (basic layers, downsample flags, other depths).
 */
import { batchNormRef } from './norm.ts';
import { conv2dRef, maxPoolRef } from './conv.ts';

export interface ResNetRefConfig {
  readonly embeddingSize: number;
  readonly hiddenSizes: readonly number[];
  readonly depths: readonly number[];
  readonly layerType: 'bottleneck' | 'basic';
  readonly downsampleInFirstStage: boolean;
  readonly downsampleInBottleneck: boolean;
  readonly prefix: string;
}

type Map4 = { data: Float32Array; shape: [number, number, number, number] };
type Weights = ReadonlyMap<string, Float32Array>;

function get(w: Weights, k: string): Float32Array {
  const v = w.get(k);
  if (!v) throw new Error(`resnetRef: missing ${k}`);
  return v;
}

/** ResNetConvLayer: conv (pad k/2, no bias) -> BN -> act (relu | none), residual added before act. */
function convLayer(w: Weights, x: Map4, key: string, cout: number, k: number, stride: number, act: 'relu' | 'none', residual?: Float32Array): Map4 {
  const y = conv2dRef(x.data, x.shape, get(w, `${key}.convolution.weight`), null, { cout, kh: k, kw: k, strideY: stride, strideX: stride, padY: Math.floor(k / 2), padX: Math.floor(k / 2) });
  const n = `${key}.normalization`;
  const data = batchNormRef(y.data, y.shape, get(w, `${n}.weight`), get(w, `${n}.bias`), get(w, `${n}.running_mean`), get(w, `${n}.running_var`), 1e-5, act, residual);
  return { data, shape: y.shape };
}

/** Returns [stem after max-pool, stage1, stage2, ...] for pixel_values x [B, 3, H, W] (hidden_act relu). */
export function resnetRef(w: Weights, cfg: ResNetRefConfig, x: Map4): Map4[] {
  const P = cfg.prefix;
  const stem = convLayer(w, x, `${P}.embedder.embedder`, cfg.embeddingSize, 7, 2, 'relu');
  const [B, C, H, W] = stem.shape;
  const pooled = maxPoolRef(stem.data, B * C, H, W, 3, 2, 1);
  let cur: Map4 = { data: pooled.y, shape: [B, C, pooled.Ho, pooled.Wo] };
  const outs = [cur];
  cfg.hiddenSizes.forEach((out, s) => {
    const stride0 = s === 0 ? (cfg.downsampleInFirstStage ? 2 : 1) : 2;
    for (let l = 0; l < (cfg.depths[s] as number); l++) {
      const p = `${P}.encoder.stages.${s}.layers.${l}`;
      const stride = l === 0 ? stride0 : 1;
      const cin = cur.shape[1];
      const shortcut = cin !== out || stride !== 1 ? convLayer(w, cur, `${p}.shortcut`, out, 1, stride, 'none').data : cur.data;
      if (cfg.layerType === 'bottleneck') {
        const r = Math.floor(out / 4);
        const a = convLayer(w, cur, `${p}.layer.0`, r, 1, cfg.downsampleInBottleneck ? stride : 1, 'relu');
        const b = convLayer(w, a, `${p}.layer.1`, r, 3, cfg.downsampleInBottleneck ? 1 : stride, 'relu');
        cur = convLayer(w, b, `${p}.layer.2`, out, 1, 1, 'relu', shortcut);
      } else {
        const a = convLayer(w, cur, `${p}.layer.0`, out, 3, stride, 'relu');
        cur = convLayer(w, a, `${p}.layer.1`, out, 3, 1, 'relu', shortcut);
      }
    }
    outs.push(cur);
  });
  return outs;
}
