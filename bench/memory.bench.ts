/**
 * Memory of one planned Mask2Former graph at real sizes, computed without a GPU: the exact
 * footprint `CompiledGraph.compile` would allocate (GPU: planned slots, inputs, constants,
 * uniforms, readback; host: constants), weights not included, for hub checkpoint shapes at
 * several model-input sizes; GPU bytes per megapixel; and the largest square model input that
 * fits the default memoryBudget (4 GiB GPU, 1 GiB host) and a 1 GiB maxBufferSize (linear
 * extrapolation, as the estimator does).
 */
import { it } from 'vitest';
import { parseMask2FormerConfig } from '../src/config/index.ts';
import type { GpuContext } from '../src/gpu/device.ts';
import { DEFAULT_MEMORY_BUDGET, type Footprint } from '../src/graph/footprint.ts';
import { CompiledGraph } from '../src/graph/runner.ts';
import { buildMask2Former } from '../src/models/mask2former/model.ts';
import { HeaderShapes } from '../src/weights/header-shapes.ts';
import type { SafetensorsHeader, TensorInfo } from '../src/weights/safetensors.ts';
import { hfConfigJson, hubShapeConfig, stateDictShapes, type HubBackbone, type HubDataset } from '../test/ref/hf-checkpoint.ts';

const MiB = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** What footprint() reads from a context: no device needed. */
const ctx = { features: { timestampQuery: false }, limits: { minUniformBufferOffsetAlignment: 256, maxComputeWorkgroupsPerDimension: 65535 } } as unknown as GpuContext;

it('graph memory at real sizes (hub shapes, no GPU)', () => {
  const cases: [HubBackbone, HubDataset][] = [
    ['swin-tiny', 'coco-panoptic'],
    ['swin-large', 'coco-instance'],
  ];
  for (const [backbone, dataset] of cases) {
    const shape = hubShapeConfig(backbone, dataset);
    const config = parseMask2FormerConfig(hfConfigJson(shape));
    let offset = 0;
    const tensors = new Map<string, TensorInfo>();
    for (const [name, t] of stateDictShapes(shape)) {
      const bytes = t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'I64' ? 8 : 4);
      tensors.set(name, { name, dtype: t.dtype, shape: t.shape, begin: offset, end: offset + bytes });
      offset += bytes;
    }
    const header: SafetensorsHeader = { headerBytes: 0, dataOffset: 8, dataBytes: offset, tensors, metadata: {} };
    const footprint = (h: number, w: number): Footprint => CompiledGraph.footprint(ctx, buildMask2Former(config, new HeaderShapes(header, backbone), { kind: 'pixel-values', shape: [1, 3, h, w] }).graph);
    const rows: string[] = [];
    let perMp = 0;
    for (const [h, w] of [[384, 384], [800, 1088], [1024, 1024]] as const) {
      const fp = footprint(h, w);
      perMp = fp.gpuBytes / ((h * w) / 1e6);
      rows.push(`  ${w}x${h}: GPU ${MiB(fp.gpuBytes)} (largest buffer ${MiB(fp.largestBuffer)}), host ${MiB(fp.hostBytes)}; ${MiB(perMp)} GPU per megapixel`);
    }
    // Largest square input within each limit, extrapolating linearly in pixels from the two
    // largest sizes measured (as the estimator does; an estimate, not a build at that size).
    const a = footprint(800, 1088);
    const b = footprint(1024, 1024);
    const largest = (limit: number, of: (fp: Footprint) => number): number => {
      const slope = (of(b) - of(a)) / (1024 * 1024 - 800 * 1088);
      return Math.floor(Math.sqrt(1024 * 1024 + (limit - of(b)) / slope) / 32) * 32;
    };
    console.log(`${backbone} ${dataset} (${config.numQueries} queries), weights ${MiB(offset)} in the file:\n${rows.join('\n')}`);
    console.log(`  largest square model input within 4 GiB GPU: ${largest(DEFAULT_MEMORY_BUDGET.gpuBytes, (fp) => fp.gpuBytes)} px; 1 GiB host: ${largest(DEFAULT_MEMORY_BUDGET.hostBytes, (fp) => fp.hostBytes)} px; largest buffer <= 1 GiB (SwiftShader's maxBufferSize): ${largest(2 ** 30, (fp) => fp.largestBuffer)} px`);
  }
}, 3_600_000);
