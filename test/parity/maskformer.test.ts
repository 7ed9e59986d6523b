/**
 * MaskFormer forward pass vs HF transformers, stage by stage, on the fixtures' own checkpoints
 * and pixel_values (swin-tiny: MaskFormer-Swin, batch 1; resnet-tiny: ResNet bottleneck, batch 2
 * with padding). Tolerance: max abs error <= 1e-4 * max|reference| per tensor (errors printed).
 * Both fixtures also run with the gpu kernels forced on the adapter at hand: resnet-tiny for the
 * implicit-GEMM convs (ResNet stem, strided 3x3s, FPN 3x3s), swin-tiny for the vec4 matmul on
 * linear weights packed K-major at load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { CompiledGraph, type HostArray } from '../../src/graph/runner.ts';
import { resolveModel } from '../../src/models/registry.ts';
import { WeightStore } from '../../src/weights/store.ts';
import { weightLayoutOptions } from '../../src/models/session.ts';
import { compareStages } from './stages.ts';
import { FIXTURES, readJson, readTensors, type RefTensor } from '../fixture-files.ts';

const REL_TOL = 1e-4;

/** Backbone, FPN, decoder layers, then heads: the first failing stage shows where divergence starts. */
function stageOrder(names: readonly string[]): string[] {
  const by = (re: RegExp): string[] => names.filter((n) => re.test(n)).sort();
  const order = [
    ...by(/^model\.pixel_level_module\.encoder\.embedder(\.embedder)?$/).reverse(),
    ...by(/^model\.pixel_level_module\.encoder\.model\.embeddings$/),
    ...by(/^model\.pixel_level_module\.encoder\.(model\.encoder\.layers|encoder\.stages)\./),
    ...by(/^encoder_hidden_states\./),
    'encoder_last_hidden_state',
    'model.pixel_level_module.decoder.fpn.stem',
    ...by(/^model\.pixel_level_module\.decoder\.fpn\.layers\./),
    ...by(/^pixel_decoder_hidden_states\./),
    'pixel_decoder_last_hidden_state',
    'model.transformer_module.input_projection',
    'model.transformer_module.position_embedder',
    ...by(/^model\.transformer_module\.decoder\.layers\./),
    ...by(/^transformer_decoder_hidden_states\./),
    'transformer_decoder_last_hidden_state',
    ...by(/^auxiliary_logits\./),
    'class_queries_logits',
    'masks_queries_logits',
  ];
  return order.filter((n, i) => names.includes(n) && order.indexOf(n) === i);
}

// 'gpu' on resnet-tiny (its stem, strided 3x3s and FPN 3x3s are implicit-GEMM convs) and on
// swin-tiny (the family's linear-heavy backbone: vec4 matmul on packed weights).
const runs = [['cpu', 'swin-tiny'], ['cpu', 'resnet-tiny'], ['gpu', 'resnet-tiny'], ['gpu', 'swin-tiny']] as const;
for (const [kernels, name] of runs) {
  describe(`maskformer/${name} forward parity (pixel_values from the fixture, ${kernels} kernels)`, () => {
    const dir = join(FIXTURES, 'maskformer', name);
    let ctx: GpuContext;
    let expected: Map<string, RefTensor>;
    const got = new Map<string, HostArray>();
    let order: string[] = [];
    beforeAll(async () => {
      ctx = await requestNodeGpu({ kernels });
      expected = await readTensors(join(dir, 'expected.safetensors'));
      const spec = resolveModel(readJson(join(dir, 'config.json')));
      expect(spec.family).toBe('maskformer');
      const bytes = readFileSync(join(dir, 'model.safetensors'));
      // Stored as SegmentationModel.load stores them for this policy (gpu: linear weights packed).
      const store = await WeightStore.load(ctx, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { file: `${name}/model.safetensors`, skip: (k) => spec.skipWeight(k), ...weightLayoutOptions(ctx, spec) });
      const packed = store.keys().filter((k) => store.packed(k)).length;
      if (kernels === 'gpu') expect(packed).toBeGreaterThan(0);
      const pv = expected.get('pixel_values') as RefTensor;
      const built = spec.build(store, { kind: 'pixel-values', shape: pv.shape as [number, 3, number, number] }, { intermediates: true, policy: ctx.policy }, ctx.limits.maxComputeWorkgroupsPerDimension);
      const graph = await CompiledGraph.compile(ctx, built.graph, ctx.pipelines, { weights: store });
      await graph.run({ pixel_values: pv.data as Float32Array });
      for (const [k, v] of await graph.read(built.outputNames)) got.set(k, v);
      order = stageOrder([...expected.keys()]);
      const convSteps = built.graph.steps.filter((st) => st.kernel.name === (kernels === 'gpu' ? 'conv2d-gemm' : 'conv2d')).length;
      const kernelCounts = new Map<string, number>();
      for (const st of built.graph.steps) if (st.kernel.name.startsWith('matmul')) kernelCounts.set(st.kernel.name, (kernelCounts.get(st.kernel.name) ?? 0) + 1);
      console.log(`${name} (${kernels} kernels): ${order.length} stages compared, ${built.graph.steps.length} GPU steps (${[...kernelCounts].map(([k, c]) => `${c} ${k}`).join(', ')}; ${convSteps} ${kernels === 'gpu' ? 'conv2d-gemm' : 'conv2d'}), ${packed} weights packed K-major, adapter ${ctx.adapterName}`);
      expect(convSteps).toBeGreaterThan(0);
      graph.dispose();
      store.dispose();
    }, 600_000);
    afterAll(() => ctx?.dispose());

    it('produces every stage of expected.safetensors, in order, within tolerance', () => {
      const { rows, firstBad } = compareStages(order, expected, got, REL_TOL, 90);
      console.log(`${name} parity (${kernels} kernels), tolerance ${REL_TOL} x max|ref|:\n${rows.join('\n')}`);
      expect(order.length).toBeGreaterThan(20);
      expect(firstBad, `first divergent stage: ${firstBad}`).toBeUndefined();
    });
  });
}
