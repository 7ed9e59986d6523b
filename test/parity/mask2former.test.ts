/**
 * Mask2Former forward pass vs HF transformers, stage by stage, on the fixtures' own checkpoints
 * and pixel_values: the first failing stage shows where divergence starts. Tolerance: max abs
 * error <= 1e-4 * max|reference| per tensor (measured errors printed); the boolean attention
 * masks must match exactly. Both kernel policies run on the adapter at hand ('gpu' forced on a
 * CPU adapter: tiled matmul and attention, workgroup-per-row reductions).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { CompiledGraph, type HostArray } from '../../src/graph/runner.ts';
import { parseMask2FormerConfig } from '../../src/config/index.ts';
import { attentionMaskAsHf, buildMask2Former } from '../../src/models/mask2former/model.ts';
import { WeightStore } from '../../src/weights/store.ts';
import { resolveModel } from '../../src/models/registry.ts';
import { weightLayoutOptions } from '../../src/models/session.ts';
import { compareStages } from './stages.ts';
import { FIXTURES, readJson, readTensors, type RefTensor } from '../fixture-files.ts';

const REL_TOL = 1e-4;

/** Stage order: backbone, pixel decoder, then each decoder layer, then the final logits. */
function stageOrder(names: readonly string[], layers: number): string[] {
  const order = [
    'model.pixel_level_module.encoder.embeddings',
    ...[0, 1, 2, 3].flatMap((s) => [`model.pixel_level_module.encoder.encoder.layers.${s}.hidden_states_before_downsampling`, `model.pixel_level_module.encoder.encoder.layers.${s}`]),
    ...[0, 1, 2, 3].map((i) => `encoder_hidden_states.${i}`),
    'encoder_last_hidden_state',
    ...[0, 1, 2].map((l) => `model.pixel_level_module.decoder.input_projections.${l}`),
    'model.pixel_level_module.decoder.encoder.layers.0.self_attn',
    ...names.filter((n) => /^model\.pixel_level_module\.decoder\.encoder\.layers\.\d+$/.test(n)).sort(),
    ...[0, 1, 2].map((l) => `pixel_decoder_hidden_states.${l}`),
    'pixel_decoder_last_hidden_state',
  ];
  for (let k = 0; k <= layers; k++) {
    order.push(`transformer_decoder_hidden_states.${k}`, `transformer_decoder_intermediate_states.${k}`);
    if (k < layers) order.push(`auxiliary_logits.${k}.class_queries_logits`, `auxiliary_logits.${k}.masks_queries_logits`);
    order.push(`debug.attention_mask_logits.${k}`);
    if (k < layers) order.push(`debug.attention_mask.${k}`);
  }
  order.push('transformer_decoder_last_hidden_state', 'class_queries_logits', 'masks_queries_logits');
  return order.filter((n) => names.includes(n));
}

for (const kernels of ['cpu', 'gpu'] as const) for (const name of ['tiny', 'tiny-odd']) {
  describe(`mask2former/${name} forward parity (pixel_values from the fixture, ${kernels} kernels)`, () => {
    const dir = join(FIXTURES, 'mask2former', name);
    let ctx: GpuContext;
    let expected: Map<string, RefTensor>;
    const got = new Map<string, HostArray>();
    let order: string[] = [];
    let attentionKernels: string[] = [];
    beforeAll(async () => {
      ctx = await requestNodeGpu({ kernels });
      expected = await readTensors(join(dir, 'expected.safetensors'));
      const cfg = parseMask2FormerConfig(readJson(join(dir, 'config.json')));
      const bytes = readFileSync(join(dir, 'model.safetensors'));
      // Weights stored as SegmentationModel.load stores them for this device (gpu kernels: linear
      // weights packed K-major for the vec4 matmul).
      const spec = resolveModel(readJson(join(dir, 'config.json')));
      const store = await WeightStore.load(ctx, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { file: `${name}/model.safetensors`, ...weightLayoutOptions(ctx, spec) });
      const packed = store.keys().filter((k) => store.packed(k)).length;
      if (kernels === 'gpu') expect(packed).toBeGreaterThan(0);
      const pv = expected.get('pixel_values') as RefTensor;
      const built = buildMask2Former(cfg, store, { kind: 'pixel-values', shape: pv.shape as [number, 3, number, number] }, { intermediates: true, policy: ctx.policy }, ctx.limits.maxComputeWorkgroupsPerDimension);
      attentionKernels = built.graph.steps.filter((s) => s.kernel.name.startsWith('attention')).map((s) => s.kernel.name);
      const graph = await CompiledGraph.compile(ctx, built.graph, ctx.pipelines, { weights: store });
      await graph.run({ pixel_values: pv.data as Float32Array });
      const outs = await graph.read(built.outputNames);
      for (const [k, v] of outs) got.set(k, v);
      for (let k = 0; k < cfg.numInstantiatedDecoderLayers; k++) {
        const raw = got.get(`debug.attention_mask_raw.${k}`) as Uint32Array;
        const ref = expected.get(`debug.attention_mask.${k}`) as RefTensor;
        got.set(`debug.attention_mask.${k}`, attentionMaskAsHf(raw, (ref.shape[0] as number) * (ref.shape[1] as number), ref.shape[2] as number) as unknown as HostArray);
      }
      order = stageOrder([...expected.keys()], cfg.numInstantiatedDecoderLayers);
      const convKernel = kernels === 'gpu' ? 'conv2d-gemm' : 'conv2d';
      const convSteps = built.graph.steps.filter((st) => st.kernel.name === convKernel).length;
      const kernelCounts = new Map<string, number>();
      for (const st of built.graph.steps) if (st.kernel.name.startsWith('matmul')) kernelCounts.set(st.kernel.name, (kernelCounts.get(st.kernel.name) ?? 0) + 1);
      console.log(`${name} (${kernels} kernels): ${order.length} stages compared, ${built.graph.steps.length} GPU steps (${[...kernelCounts].map(([k, c]) => `${c} ${k}`).join(', ')}; attention: ${attentionKernels.length} x ${[...new Set(attentionKernels)].join(', ')}; ${convSteps} ${convKernel}), ${packed} weights packed K-major, adapter ${ctx.adapterName}`);
      expect(convSteps).toBeGreaterThan(0);
      graph.dispose();
      store.dispose();
    });
    afterAll(() => ctx?.dispose());

    it(`runs the ${kernels} policy's attention kernel (Swin windows, masked cross-attention, self-attention)`, () => {
      // Every head of the tiny fixtures is <= 64 wide: no fallback to the workgroup-per-row kernel.
      expect(attentionKernels.length).toBeGreaterThan(0);
      expect(new Set(attentionKernels)).toEqual(new Set([kernels === 'gpu' ? 'attention-tiled' : 'attention-rows']));
    });

    it('produces every stage of expected.safetensors, in order, within tolerance', () => {
      const { rows, firstBad } = compareStages(order, expected, got, REL_TOL, 86);
      console.log(`${name} parity (${kernels} kernels), tolerance ${REL_TOL} x max|ref|:\n${rows.join('\n')}`);
      expect(firstBad, `first divergent stage: ${firstBad}`).toBeUndefined();
    });
  });
}
