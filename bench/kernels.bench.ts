/**
 * Kernel throughput on the adapter at hand (Node, Dawn): each op in its own planned graph,
 * 2 warm-up runs, median of 5 timed runs of the whole pass (submit to completion), under each
 * kernel policy (cpu: register tiles / row per invocation; gpu-tiled: the gpu policy with the
 * 64x64 workgroup-memory matmul reading weights as stored; gpu: workgroup-memory tiles with vec4
 * loads on linear weights packed K-major, workgroup per row), with time ratios. Linear weights are
 * checkpoint tensors (bound as weights, packed as the weight store packs them under the gpu
 * policy). GB/s counts each input and the output once.
 * `KERNEL_POLICIES=cpu,gpu` runs some policies only; `KERNEL_CASES=matmul,conv2d` the cases whose
 * name contains one of the comma-separated words.
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
  { name: 'conv2d 7x7 s2 3->64 at 224x224 (ResNet stem)', flops: 2 * 64 * 3 * 49 * 112 * 112, inputs: { x: [1, 3, 224, 224], w: [64, 3, 7, 7] }, build: (g, t) => ops.conv2d(g, t.x!, t.w!, null, { stride: 2, padding: 3 }) },
  { name: 'conv2d 4x4 s4 3->96 at 384x384 (Swin patch embedding)', flops: 2 * 96 * 3 * 16 * 96 * 96, inputs: { x: [1, 3, 384, 384], w: [96, 3, 4, 4], b: [96] }, build: (g, t) => ops.conv2d(g, t.x!, t.w!, t.b!, { stride: 4 }) },
  { name: 'window attention 64 windows x 49 tokens, 3 heads x 32', flops: 64 * 3 * 49 * 49 * 32 * 4, inputs: { q: [64, 49, 96] }, build: (g, t) => ops.attention(g, t.q!, t.q!, t.q!, { heads: 3 }) },
  { name: 'masked cross-attention 100 queries x 2304 keys, 8 heads x 32', flops: 100 * 8 * 2304 * 32 * 4, inputs: { q: [1, 100, 256], k: [1, 2304, 256] }, build: (g, t) => ops.attention(g, t.q!, t.k!, t.k!, { heads: 8 }) },
  { name: 'layer norm 9216 x 96', flops: 9216 * 96 * 8, inputs: { x: [9216, 96], g: [96], b: [96] }, build: (g, t) => ops.layerNorm(g, t.x!, t.g!, t.b!) },
  { name: 'layer norm 100 x 256 (decoder queries)', flops: 100 * 256 * 8, inputs: { x: [100, 256], g: [256], b: [256] }, build: (g, t) => ops.layerNorm(g, t.x!, t.g!, t.b!) },
  { name: 'softmax 18432 x 12 (deformable attention weights)', flops: 18432 * 12 * 5, inputs: { x: [18432, 12] }, build: (g, t) => ops.softmax(g, t.x!) },
  { name: 'softmax 800 x 1000 (rows within the row kernel limit)', flops: 800 * 1000 * 5, inputs: { x: [800, 1000] }, build: (g, t) => ops.softmax(g, t.x!) },
  { name: 'group norm 1 x 256 x 48 x 48, 32 groups', flops: 256 * 48 * 48 * 8, inputs: { x: [1, 256, 48, 48], g: [256], b: [256] }, build: (g, t) => ops.groupNorm(g, t.x!, t.g!, t.b!, { groups: 32 }) },
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
  for (const c of cases.filter((c) => !only || only.some((w) => c.name.includes(w)))) {
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
      // Kernels and their overrides (GroupNorm differs between policies only in WG).
      const kernels = [...new Set(g.steps.map((s) => `${s.kernel.name}${'WG' in s.constants ? `/WG=${String(s.constants.WG)}` : ''}`))].join('+');
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

/**
 * Attention kernels side by side on the same graph: 'rows' (cpu policy: a query row per
 * invocation), 'workgroup' (a workgroup per query row) and 'tiled' (gpu policy: 32 query rows per
 * workgroup, K/V tiles in workgroup memory). FLOPs: 4 * Lq * Lk * dh per (batch, head) (q.k and
 * p.v); masks and bias not counted. `ATTENTION_KERNELS=rows,tiled` runs a subset.
 */
interface AttentionBenchCase {
  name: string; B: number; H: number; Lq: number; Lk: number; dh: number;
  mask?: { kind: 'bool' | 'additive'; batch: number }; bias?: boolean;
}

const attentionCases: AttentionBenchCase[] = [
  // Swin-T stage 1 at 384x384 is 144 windows; a shifted block: relative-position bias + shift mask.
  { name: 'window attention 64 windows x 49 tokens, 3 heads x 32, bias + shift mask', B: 64, H: 3, Lq: 49, Lk: 49, dh: 32, mask: { kind: 'additive', batch: 64 }, bias: true },
  // Mask2Former decoder at 384x384, level 1/8: 100 queries over 48x48 keys, ~half of the keys blocked.
  { name: 'masked cross-attention 100 queries x 2304 keys, 8 heads x 32, bool mask', B: 1, H: 8, Lq: 100, Lk: 2304, dh: 32, mask: { kind: 'bool', batch: 1 } },
  { name: 'decoder self-attention 100 x 100, 8 heads x 32', B: 1, H: 8, Lq: 100, Lk: 100, dh: 32 },
];

it('attention kernels: rows vs workgroup vs tiled', async () => {
  const gpu = await requestNodeGpu();
  const rng = makeRng(2);
  console.log(`adapter: ${gpu.adapterName}`);
  const kernels = (['rows', 'workgroup', 'tiled'] as const).filter((k) => (process.env.ATTENTION_KERNELS ?? 'rows,workgroup,tiled').split(',').includes(k));
  for (const c of attentionCases) {
    const C = c.H * c.dh;
    const flops = 4 * c.B * c.H * c.Lq * c.Lk * c.dh;
    const feeds: Record<string, Float32Array | Uint32Array> = {
      q: randn(rng, c.B * c.Lq * C, 0.5), k: randn(rng, c.B * c.Lk * C, 0.5), v: randn(rng, c.B * c.Lk * C, 0.5),
    };
    if (c.mask?.kind === 'bool') feeds.mask = Uint32Array.from({ length: c.mask.batch * c.Lq * c.Lk }, () => (rng() < 0.5 ? 1 : 0));
    if (c.mask?.kind === 'additive') feeds.mask = Float32Array.from({ length: c.mask.batch * c.Lq * c.Lk }, () => (rng() < 0.3 ? -100 : 0));
    if (c.bias) feeds.bias = randn(rng, c.H * c.Lq * c.Lk, 0.5);
    const bytes = 4 * (Object.values(feeds).reduce((a, f) => a + f.length, 0) + c.B * c.Lq * C);
    const ms: Record<string, number> = {};
    for (const kernel of kernels) {
      const g = new GraphBuilder(gpu.limits.maxComputeWorkgroupsPerDimension);
      const y = ops.attention(g, g.input('q', [c.B, c.Lq, C]), g.input('k', [c.B, c.Lk, C]), g.input('v', [c.B, c.Lk, C]), {
        heads: c.H, kernel,
        ...(c.mask ? { mask: { kind: c.mask.kind, tensor: g.input('mask', [c.mask.batch, c.Lq, c.Lk], c.mask.kind === 'bool' ? 'u32' : 'f32') } } : {}),
        ...(c.bias ? { bias: g.input('bias', [c.H, c.Lq, c.Lk]) } : {}),
      });
      g.output('y', y);
      const graph = await CompiledGraph.compile(gpu, g, gpu.pipelines);
      for (let i = 0; i < 2; i++) await graph.run(feeds, { wait: true });
      const t: number[] = [];
      for (let i = 0; i < 5; i++) t.push((await graph.run(feeds, { wait: true })).wallMs);
      t.sort((a, b) => a - b);
      const med = t[2] as number;
      ms[kernel] = med;
      console.log(`${c.name.padEnd(76)} ${kernel.padEnd(9)} ${med.toFixed(1).padStart(8)} ms  ${(flops / med / 1e6).toFixed(2).padStart(7)} GFLOP/s  ${(bytes / med / 1e6).toFixed(3).padStart(7)} GB/s`);
      graph.dispose();
    }
    if (ms.rows !== undefined && ms.tiled !== undefined) console.log(`${c.name.padEnd(76)} tiled/rows time ratio ${(ms.tiled / ms.rows).toFixed(2)}`);
  }
  gpu.dispose();
}, 1_800_000);
