/**
 * MaskFormer configurations beyond the fixtures, with random weights from the independent state
 * dict enumeration: ResNet basic layers (stride in the first stage, the stem among the outputs,
 * three stages), a bottleneck ResNet with the stride on the 1x1 and d_model equal to the last
 * channels (no input projection), and MaskFormer-Swin with window 5 and uneven depths. The ResNet
 * maps are compared with a plain-TS ResNet (test/ref/resnet.ts), tolerance 1e-4 x max|ref|;
 * every variant must give HF's output shapes with finite, non-constant logits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/gpu/device.ts';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import { SegmentationModel } from '../../src/models/session.ts';
import { writeSafetensors, type WritableTensor } from '../../src/weights/safetensors.ts';
import { maxErrors } from '../ref/compare.ts';
import { maskFormerConfigJson, maskFormerStateDict, type MaskFormerShapeConfig } from '../ref/hf-maskformer-checkpoint.ts';
import { makeRng, randn, randu } from '../ref/random.ts';
import { resnetRef } from '../ref/resnet.ts';

const SEED = Number(process.env.MASKGPU_SEED ?? 4242);
const REL_TOL = 1e-4;

interface Variant {
  readonly name: string;
  readonly shapes: MaskFormerShapeConfig;
  readonly extraBackbone?: Record<string, unknown>;
  readonly extraDecoder?: Record<string, unknown>;
  readonly input: readonly [number, 3, number, number];
  readonly downsampleInBottleneck?: boolean;
}

const VARIANTS: Variant[] = [
  {
    name: 'resnet basic, stride in stage 1, stem + 3 stages out, 37x29',
    shapes: {
      backbone: { kind: 'resnet', embeddingSize: 8, hiddenSizes: [8, 12, 16], depths: [2, 1, 2], layerType: 'basic', downsampleInFirstStage: true, outIndices: [0, 1, 2, 3] },
      fpn: 32, mask: 16, dModel: 24, decoderLayers: 2, ffn: 40, heads: 3, queries: 5, labels: 3,
    },
    input: [1, 3, 37, 29],
  },
  {
    name: 'resnet bottleneck, stride on the 1x1, d_model = last channels, batch 2 41x35',
    shapes: {
      backbone: { kind: 'resnet', embeddingSize: 8, hiddenSizes: [16, 24, 32], depths: [1, 2, 1], layerType: 'bottleneck', downsampleInFirstStage: false },
      fpn: 32, mask: 32, dModel: 32, decoderLayers: 1, ffn: 48, heads: 4, queries: 6, labels: 4,
    },
    extraBackbone: { downsample_in_bottleneck: true },
    downsampleInBottleneck: true,
    input: [2, 3, 41, 35],
  },
  {
    name: 'maskformer-swin window 5, depths [1,1,3,1], DETR auxiliary_loss, 45x61',
    shapes: {
      backbone: { kind: 'swin', embedDim: 8, depths: [1, 1, 3, 1], numHeads: [1, 2, 2, 4], windowSize: 5, mlpRatio: 4 },
      fpn: 32, mask: 16, dModel: 32, decoderLayers: 2, ffn: 32, heads: 2, queries: 4, labels: 2,
    },
    extraDecoder: { auxiliary_loss: true },
    input: [1, 3, 45, 61],
  },
];

function randomWeights(shapes: MaskFormerShapeConfig, seed: number): { file: Uint8Array; f32: Map<string, Float32Array> } {
  const rng = makeRng(seed);
  const tensors: Record<string, WritableTensor> = {};
  const f32 = new Map<string, Float32Array>();
  for (const [k, t] of maskFormerStateDict(shapes).tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.dtype === 'I64') {
      tensors[k] = { dtype: 'I64', shape: t.shape, data: new BigInt64Array(n) };
      continue;
    }
    const fanIn = t.shape.slice(1).reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (k.endsWith('running_var')) data = randu(rng, n, 0.3, 2);
    else if (t.shape.length === 1) data = k.endsWith('.weight') ? randn(rng, n, 0.15).map((v) => v + 1) : randn(rng, n, 0.1);
    else data = randn(rng, n, 1 / Math.sqrt(fanIn));
    tensors[k] = { dtype: 'F32', shape: t.shape, data };
    f32.set(k, data);
  }
  return { file: writeSafetensors(tensors), f32 };
}

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpu();
});
afterAll(() => ctx?.dispose());

describe('MaskFormer variants (random weights)', () => {
  VARIANTS.forEach((v, vi) => {
    it(v.name, async () => {
      const json = maskFormerConfigJson(v.shapes);
      Object.assign(json.backbone_config as object, v.extraBackbone ?? {});
      Object.assign(json.decoder_config as object, v.extraDecoder ?? {});
      const { file, f32 } = randomWeights(v.shapes, SEED + vi);
      const model = await SegmentationModel.load(ctx, { config: json, weights: file, name: v.name });
      const [B, , H, W] = v.input;
      const pixelValues = randn(makeRng(SEED + 100 + vi), B * 3 * H * W);
      const res = await model.forward({ pixelValues, shape: v.input }, { intermediates: true });
      // HF's sizes: stride-4 map = ceil(ceil(H/2)/2) for both backbones (Swin pads to the patch).
      const h4 = Math.ceil(Math.ceil(H / 2) / 2);
      const w4 = Math.ceil(Math.ceil(W / 2) / 2);
      const cls = res.outputs.get('class_queries_logits');
      const masks = res.outputs.get('masks_queries_logits');
      expect(cls?.shape).toEqual([B, v.shapes.queries, v.shapes.labels + 1]);
      const b = v.shapes.backbone;
      const hm = b.kind === 'resnet' && b.downsampleInFirstStage ? Math.ceil(h4 / 2) : h4;
      const wm = b.kind === 'resnet' && b.downsampleInFirstStage ? Math.ceil(w4 / 2) : w4;
      // With the stem among the outputs the mask features are at the stem's stride-4 size.
      const maskSize = b.kind === 'resnet' && b.outIndices?.[0] === 0 ? [h4, w4] : [hm, wm];
      expect(masks?.shape).toEqual([B, v.shapes.queries, ...maskSize]);
      for (const t of [cls, masks]) {
        const d = t?.data as Float32Array;
        expect(d.every(Number.isFinite)).toBe(true);
        expect(Math.max(...d) - Math.min(...d)).toBeGreaterThan(1e-3);
      }
      if (b.kind === 'resnet') {
        const ref = resnetRef(f32, { ...b, downsampleInBottleneck: v.downsampleInBottleneck ?? false, prefix: 'model.pixel_level_module.encoder' }, { data: pixelValues, shape: [...v.input] as [number, number, number, number] });
        const outIdx = b.outIndices ?? b.hiddenSizes.map((_, i) => i + 1);
        outIdx.forEach((si, i) => {
          const mine = res.outputs.get(`encoder_hidden_states.${i}`);
          const r = ref[si];
          expect(mine?.shape, `encoder_hidden_states.${i}`).toEqual(r?.shape);
          const e = maxErrors(mine?.data as Float32Array, r?.data as Float32Array);
          console.log(`${v.name}: encoder_hidden_states.${i} [${r?.shape.join(', ')}] max abs ${e.maxAbs.toExponential(2)} rel ${e.maxRel.toExponential(2)} (seed ${SEED + vi})`);
          expect(e.maxRel).toBeLessThanOrEqual(REL_TOL);
        });
      }
      model.dispose();
    }, 600_000);
  });
});
