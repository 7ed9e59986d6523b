/**
 * Kernel throughput on the adapter at hand (Node, Dawn): each op in its own planned graph,
 * 2 warm-up runs, median of 5 timed runs of the whole pass (submit to completion), under each
 * kernel policy (cpu: register tiles / row per invocation; gpu-tiled: the gpu policy with the
 * 64x64 workgroup-memory matmul reading weights as stored; gpu: workgroup-memory tiles with vec4
 * loads on linear weights packed K-major, workgroup per row), with time ratios. Linear weights are
 * checkpoint tensors (bound as weights, packed as the weight store packs them under the gpu
 * policy). GB/s counts each input and the output once.
 * `KERNEL_POLICIES=cpu,gpu` runs some policies only; `KERNEL_CASES=matmul,linear` some cases
 * (name prefixes).
 * `npx vitest run --config bench/vitest.bench.config.ts bench/kernels.bench.ts`
 */
import { it } from 'vitest';
import { requestNodeGpu } from '../src/gpu/node.ts';
import { GraphBuilder, numel, type Tensor } from '../src/graph/builder.ts';
import { CPU_POLICY, GPU_POLICY, type KernelPolicy } from '../src/gpu/policy.ts';
import { CompiledGraph, type WeightSource } from '../src/graph/runner.ts';
import * as ops from '../src/ops/index.ts';
import { packedLayout, packKMajor } from '../src/weights/pack.ts';
import { makeRng, randn } from '../test/ref/random.ts';

interface Case {
  name: string;
  flops: number;
  inputs: Record<string, number[]>;
  /** nn.Linear weights [N, K]: checkpoint tensors, packed K-major where the policy packs. */
  weights?: Record<string, [number, number]>;
  build: (g: GraphBuilder, t: Record<string, Tensor>) => Tensor;
}

const cases: Case[] = [
  { name: 'matmul 512x512x512', flops: 2 * 512 ** 3, inputs: { a: [512, 512], b: [512, 512] }, build: (g, t) => ops.matmul(g, t.a!, t.b!) },
  { name: 'linear 1470x128 -> 384 (Swin qkv-like, transposed weight)', flops: 2 * 1470 * 128 * 384, inputs: { x: [1470, 128] }, weights: { w: [384, 128] }, build: (g, t) => ops.linear(g, t.x!, t.w!, null) },
  { name: 'linear 100x256 -> 2048 (decoder FFN, small M)', flops: 2 * 100 * 256 * 2048, inputs: { x: [100, 256] }, weights: { w: [2048, 256] }, build: (g, t) => ops.linear(g, t.x!, t.w!, null) },
  { name: 'conv2d 3x3 256->256 at 48x48', flops: 2 * 256 * 256 * 9 * 48 * 48, inputs: { x: [1, 256, 48, 48], w: [256, 256, 3, 3] }, build: (g, t) => ops.conv2d(g, t.x!, t.w!, null, { padding: 1 }) },
  { name: 'window attention 64 windows x 49 tokens, 3 heads x 32', flops: 64 * 3 * 49 * 49 * 32 * 4, inputs: { q: [64, 49, 96] }, build: (g, t) => ops.attention(g, t.q!, t.q!, t.q!, { heads: 3 }) },
  { name: 'masked cross-attention 100 queries x 2304 keys, 8 heads x 32', flops: 100 * 8 * 2304 * 32 * 4, inputs: { q: [1, 100, 256], k: [1, 2304, 256] }, build: (g, t) => ops.attention(g, t.q!, t.k!, t.k!, { heads: 8 }) },
  { name: 'layer norm 9216 x 96', flops: 9216 * 96 * 8, inputs: { x: [9216, 96], g: [96], b: [96] }, build: (g, t) => ops.layerNorm(g, t.x!, t.g!, t.b!) },
];

const POLICIES: readonly (readonly [string, KernelPolicy])[] = [
  ['cpu', CPU_POLICY],
  ['gpu-tiled', Object.freeze({ ...GPU_POLICY, packedMatmul: false })],
  ['gpu', GPU_POLICY],
];

it('kernel throughput', async () => {
  const gpu = await requestNodeGpu();
  const rng = makeRng(1);
  console.log(`adapter: ${gpu.adapterName}`);
  const policies = POLICIES.filter(([name]) => (process.env.KERNEL_POLICIES ?? 'cpu,gpu-tiled,gpu').split(',').includes(name));
  const only = process.env.KERNEL_CASES?.split(',');
  for (const c of cases.filter((c) => !only || only.some((p) => c.name.startsWith(p)))) {
    const times = new Map<string, number>();
    const kernelsRun = new Map<string, number>();
    for (const [label, policy] of policies) {
      const g = new GraphBuilder(gpu.limits.maxComputeWorkgroupsPerDimension, policy);
      const t: Record<string, Tensor> = {};
      const feeds: Record<string, Float32Array> = {};
      let inputElements = 0;
      for (const [k, shape] of Object.entries(c.inputs)) {
        t[k] = g.input(k, shape);
        feeds[k] = randn(rng, shape.reduce((a, b) => a * b, 1), 0.1);
        inputElements += feeds[k].length;
      }
      const buffers = new Map<string, GPUBuffer>();
      const layouts = new Map<string, ReturnType<typeof packedLayout>>();
      for (const [k, [N, K]] of Object.entries(c.weights ?? {})) {
        const data = randn(rng, N * K, 0.1);
        inputElements += data.length;
        const layout = policy.packedMatmul ? packedLayout('bench', k, [N, K], K) : undefined;
        const stored = layout ? packKMajor(data, layout) : data;
        const buffer = gpu.device.createBuffer({ label: `bench:${k}`, size: Math.ceil(stored.byteLength / 16) * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
        gpu.device.queue.writeBuffer(buffer, 0, stored.buffer, stored.byteOffset, stored.byteLength);
        buffers.set(k, buffer);
        if (layout) layouts.set(k, layout);
        t[k] = g.weight(k, [N, K], 'f32', layout);
      }
      const weights: WeightSource = { buffer: (k) => buffers.get(k) as GPUBuffer, packed: (k) => layouts.get(k) };
      const y = c.build(g, t);
      g.output('y', y);
      const kernels = [...new Set(g.steps.map((s) => s.kernel.name))].join('+');
      const seen = kernelsRun.get(kernels);
      if (seen !== undefined) {
        console.log(`${c.name.padEnd(62)} ${label}: same kernels (${kernels}) as above`);
        times.set(label, seen);
        for (const b of buffers.values()) b.destroy();
        continue;
      }
      const bytes = 4 * (inputElements + numel(y.shape));
      const graph = await CompiledGraph.compile(gpu, g, gpu.pipelines, { weights });
      // wait: the time of the pass itself (run() alone returns at the submit).
      for (let i = 0; i < 2; i++) await graph.run(feeds, { wait: true });
      const ms: number[] = [];
      for (let i = 0; i < 5; i++) ms.push((await graph.run(feeds, { wait: true })).wallMs);
      ms.sort((a, b) => a - b);
      const med = ms[2] as number;
      times.set(label, med);
      kernelsRun.set(kernels, med);
      console.log(`${c.name.padEnd(62)} ${label} (${kernels})`.padEnd(100) + `${med.toFixed(1).padStart(8)} ms  ${(c.flops / med / 1e6).toFixed(2).padStart(7)} GFLOP/s  ${(bytes / med / 1e6).toFixed(3).padStart(7)} GB/s`);
      graph.dispose();
      for (const b of buffers.values()) b.destroy();
    }
    const ratio = (a: string, b: string): string => (times.has(a) && times.has(b) ? ` ${a}/${b} ${((times.get(a) as number) / (times.get(b) as number)).toFixed(2)}` : '');
    console.log(`${c.name.padEnd(62)} time ratios:${ratio('gpu', 'cpu')}${ratio('gpu', 'gpu-tiled')}`);
  }
  gpu.dispose();
}, 1_800_000);
