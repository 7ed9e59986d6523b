/**
 * Weight memory with nn.Linear weights packed K-major for the vec4 matmul (gpu kernel policy) vs
 * stored as in the checkpoint (cpu policy), on the Mask2Former tiny fixture: the packed store may
 * grow by the padding columns (N rounded up to 4) and nothing else. Load only (parity of the
 * packed model is in test/parity). Figures printed on every run. Also the compile-time refusals
 * that keep a layout mismatch or a partial vec4 from becoming a silent wrong answer.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import { checkpointFromDir } from '../../src/cli/node-io.ts';
import { SegmentationModel } from '../../src/models/session.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { CompiledGraph } from '../../src/graph/runner.ts';
import * as ops from '../../src/ops/index.ts';
import { FIXTURES } from '../fixture-files.ts';

const units16 = (bytes: number): number => Math.max(16, Math.ceil(bytes / 16) * 16);

describe('packed linear weights', () => {
  it('mask2former/tiny: the gpu policy packs linear weights; GPU bytes grow by the padding columns only', async () => {
    const ckpt = await checkpointFromDir(join(FIXTURES, 'mask2former', 'tiny'));
    const gpuCtx = await requestNodeGpu({ kernels: 'gpu' });
    const cpuCtx = await requestNodeGpu({ kernels: 'cpu' });
    const packedModel = await SegmentationModel.load(gpuCtx, ckpt);
    const plainModel = await SegmentationModel.load(cpuCtx, ckpt);
    try {
      const w = packedModel.weights;
      const plain = plainModel.weights;
      const keys = w.keys().filter((k) => w.has(k));
      const packedKeys = keys.filter((k) => w.packed(k));
      expect(packedKeys.length).toBeGreaterThan(0);
      expect(plain.keys().filter((k) => plain.has(k) && plain.packed(k))).toEqual([]);
      let padding = 0;
      let paddedTensors = 0;
      for (const k of keys) {
        const layout = w.packed(k);
        const elements = w.shape(k).reduce((a, b) => a * b, 1);
        expect(plain.buffer(k).size, k).toBe(units16(4 * elements));
        if (!layout) {
          expect(w.buffer(k).size, k).toBe(plain.buffer(k).size);
          continue;
        }
        expect(layout.N * layout.K, k).toBe(elements);
        expect(layout.ld, k).toBe(Math.ceil(layout.N / 4) * 4);
        expect(w.buffer(k).size, k).toBe(units16(4 * layout.K * layout.ld));
        padding += w.buffer(k).size - plain.buffer(k).size;
        if (layout.ld !== layout.N) paddedTensors++;
      }
      expect(w.bytes - plain.bytes).toBe(padding);
      // Padding columns are at most 3 per k row.
      expect(padding).toBeLessThanOrEqual(packedKeys.reduce((s, k) => s + 4 * 3 * (w.packed(k)?.K ?? 0) + 16, 0));
      const packedBytes = packedKeys.reduce((s, k) => s + plain.buffer(k).size, 0);
      console.log(
        `tiny weights: ${keys.length} tensors, ${plain.bytes} bytes as stored (cpu policy); gpu policy: ${packedKeys.length} packed K-major ` +
          `(${packedBytes} bytes as stored), ${w.bytes} bytes in all: +${padding} bytes of padding in ${paddedTensors} tensors whose N is not a multiple of 4 ` +
          `(+${((100 * padding) / plain.bytes).toFixed(3)}%)`,
      );
      // A graph that reads a packed weight in the checkpoint layout is refused at compile.
      const key = packedKeys[0] as string;
      const [n, k] = w.shape(key) as [number, number];
      const g = new GraphBuilder(gpuCtx.limits.maxComputeWorkgroupsPerDimension, gpuCtx.policy);
      g.output('y', ops.linear(g, g.input('x', [2, k]), g.weight(key, [n, k]), null));
      await expect(CompiledGraph.compile(gpuCtx, g, gpuCtx.pipelines, { weights: w })).rejects.toThrow(/stored packed K-major .* but the graph reads it as in the checkpoint/);
    } finally {
      packedModel.dispose();
      plainModel.dispose();
      gpuCtx.dispose();
      cpuCtx.dispose();
    }
  }, 300_000);

  it('a tensor ending in a partial vec4 of its buffer is refused where the vec4 matmul binds it', async () => {
    const ctx = await requestNodeGpu({ kernels: 'gpu' });
    // 20 bytes: 5 floats, one whole vec4 and a partial one (buffers maskgpu creates are whole 16-byte units).
    const buffer = ctx.device.createBuffer({ label: 'test:20-bytes', size: 20, usage: GPUBufferUsage.STORAGE });
    try {
      const g = new GraphBuilder(ctx.limits.maxComputeWorkgroupsPerDimension, ctx.policy);
      g.output('y', ops.matmul(g, g.external('a', { buffer, byteOffset: 0 }, [1, 5]), g.input('b', [5, 3])));
      expect(g.steps[0]?.kernel.name).toBe('matmul-vec4');
      await expect(CompiledGraph.compile(ctx, g, ctx.pipelines)).rejects.toThrow(/'a' \[1, 5\] at element 0 ends in a partial vec4 of its 20-byte buffer/);
    } finally {
      buffer.destroy();
      ctx.dispose();
    }
  });
});
