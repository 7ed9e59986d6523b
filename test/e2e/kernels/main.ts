/**
 * Browser kernel check: a representative subset of test/gpu/kernels.test.ts, run in a page on
 * `navigator.gpu` through the same GraphBuilder -> CompiledGraph path as test/gpu/harness.ts,
 * against the CPU references of test/ref (bundled into the page by Vite).
 *
 * On load it sets `window.__results` and `window.__done = true`, or `window.__error`.
 * With `?probe` in the URL it runs nothing and only exposes `window.__probe()`, which calls
 * `requestGpu()` and names the typed error it rejects with ('ok' if it resolves).
 * Shapes are deliberately not multiples of 4/16/32.
 */
import { requestGpu, type GpuContext } from '../../../src/gpu/device.ts';
import type { PipelineCache } from '../../../src/gpu/kernel.ts';
import { GraphBuilder, type Tensor } from '../../../src/graph/builder.ts';
import { CompiledGraph, type HostArray } from '../../../src/graph/runner.ts';
import { MaskgpuError, NoAdapterError, NoWebGpuError } from '../../../src/errors.ts';
import * as ops from '../../../src/ops/index.ts';
import { maxErrors } from '../../ref/compare.ts';
import { makeRng, randn, randu } from '../../ref/random.ts';
import { matmulRef } from '../../ref/matmul.ts';
import { conv2dRef } from '../../ref/conv.ts';
import { groupNormRef, layerNormRef, softmaxRef } from '../../ref/norm.ts';
import { attentionRef } from '../../ref/attention.ts';
import { msDeformAttnRef } from '../../ref/ms-deform-attn.ts';
import { pilResizeRef } from '../../ref/resize.ts';
import { windowPartitionRef, windowReverseRef } from '../../ref/swin.ts';

/** One checked output: max |gpu - ref| and the tolerance it must not exceed. */
export interface E2eCase {
  readonly name: string;
  readonly maxAbs: number;
  readonly maxRel: number;
  readonly tol: number;
  readonly pass: boolean;
  /** Wall time of compile + run + readback, ms (information only, not asserted). */
  readonly ms: number;
}

export interface E2eResults {
  readonly adapter: string;
  readonly isFallback: boolean;
  readonly seed: number;
  readonly cases: E2eCase[];
}

declare global {
  interface Window {
    __results?: E2eResults;
    __done?: boolean;
    __error?: string;
    __probe?: () => Promise<string>;
  }
}

const params = new URLSearchParams(location.search);
const SEED = Number(params.get('seed') ?? 1234);

const logEl = document.getElementById('log');
function log(line: string): void {
  if (logEl) logEl.textContent += `${line}\n`;
}

/** The harness of test/gpu/harness.ts, on the page's device: build, compile, run once, read. */
async function runGraph(
  ctx: GpuContext,
  pipelines: PipelineCache,
  build: (g: GraphBuilder) => Record<string, Tensor>,
  inputs: Record<string, HostArray>,
): Promise<Record<string, HostArray>> {
  const g = new GraphBuilder(ctx.limits.maxComputeWorkgroupsPerDimension);
  const outs = build(g);
  for (const [name, t] of Object.entries(outs)) g.output(name, t);
  const compiled = await CompiledGraph.compile(ctx, g, pipelines, { label: 'e2e' });
  try {
    await compiled.run(inputs);
    return Object.fromEntries(await compiled.read(Object.keys(outs)));
  } finally {
    compiled.dispose();
  }
}

function out(r: Record<string, HostArray>, key: string): HostArray {
  const v = r[key];
  if (!v) throw new Error(`graph output '${key}' missing`);
  return v;
}

/** A named case: runs on the GPU and returns (actual, expected, atol, rtol) per checked output. */
interface CaseDef {
  readonly name: string;
  run(ctx: GpuContext, p: PipelineCache): Promise<{ label?: string; actual: ArrayLike<number>; expected: ArrayLike<number>; atol: number; rtol?: number }[]>;
}

const cases: CaseDef[] = [
  {
    name: 'matmul batch=2 M=37 N=29 K=53 transB bias=n',
    async run(ctx, p) {
      const [batch, M, N, K] = [2, 37, 29, 53];
      const rng = makeRng(SEED);
      const a = randn(rng, batch * M * K);
      const b = randn(rng, N * K); // weights [N, K] as stored by nn.Linear, shared over the batch
      const bias = randn(rng, N);
      const r = await runGraph(ctx, p, (g) => ({
        y: ops.matmul(g, g.input('a', [batch, M, K]), g.input('b', [N, K]), { transB: true, bias: g.input('bias', [N]), biasAlong: 'n', act: 'none' }),
      }), { a, b, bias });
      const ref = matmulRef(a, b, bias, { batch, M, N, K, transB: true, biasAlong: 'n', act: 'none', aBatchStride: M * K, bBatchStride: 0 });
      return [{ actual: out(r, 'y'), expected: ref, atol: 1e-5, rtol: 1e-5 }];
    },
  },
  {
    name: 'matmul tiled (gpu policy) batch=2 M=70 N=67 K=45 transB bias=n relu',
    async run(ctx, p) {
      const [batch, M, N, K] = [2, 70, 67, 45];
      const rng = makeRng(SEED);
      const a = randn(rng, batch * M * K);
      const b = randn(rng, N * K);
      const bias = randn(rng, N);
      const r = await runGraph(ctx, p, (g) => ({
        y: ops.matmul(g, g.input('a', [batch, M, K]), g.input('b', [N, K]), { transB: true, bias: g.input('bias', [N]), biasAlong: 'n', act: 'relu', kernel: 'tiled' }),
      }), { a, b, bias });
      const ref = matmulRef(a, b, bias, { batch, M, N, K, transB: true, biasAlong: 'n', act: 'relu', aBatchStride: M * K, bBatchStride: 0 });
      return [{ actual: out(r, 'y'), expected: ref, atol: 1e-5, rtol: 1e-5 }];
    },
  },
  {
    name: 'conv2d B=2 Cin=6 9x11 Cout=7 k=3 s=1 p=1 +bias',
    async run(ctx, p) {
      const [B, Cin, H, W, Cout, k] = [2, 6, 9, 11, 7, 3];
      const rng = makeRng(SEED);
      const x = randn(rng, B * Cin * H * W);
      const w = randn(rng, Cout * Cin * k * k);
      const b = randn(rng, Cout);
      const r = await runGraph(ctx, p, (g) => ({
        y: ops.conv2d(g, g.input('x', [B, Cin, H, W]), g.input('w', [Cout, Cin, k, k]), g.input('b', [Cout]), { stride: 1, padding: 1 }),
      }), { x, w, b });
      const ref = conv2dRef(x, [B, Cin, H, W], w, b, { cout: Cout, kh: k, kw: k, strideY: 1, strideX: 1, padY: 1, padX: 1 });
      return [{ actual: out(r, 'y'), expected: ref.data, atol: 1e-5, rtol: 1e-5 }];
    },
  },
  {
    name: 'layer norm rows=33 C=97 + residual',
    async run(ctx, p) {
      const [rows, C] = [33, 97];
      const rng = makeRng(SEED);
      const x = randn(rng, rows * C, 3);
      const res = randn(rng, rows * C);
      const gamma = randn(rng, C);
      const beta = randn(rng, C);
      const r = await runGraph(ctx, p, (g) => ({
        y: ops.layerNorm(g, g.input('x', [rows, C]), g.input('g', [C]), g.input('b', [C]), { residual: g.input('r', [rows, C]) }),
      }), { x, r: res, g: gamma, b: beta });
      return [{ actual: out(r, 'y'), expected: layerNormRef(x, rows, C, gamma, beta, 1e-5, res), atol: 2e-5, rtol: 1e-5 }];
    },
  },
  {
    name: 'group norm B=2 C=30 7x9 G=5 relu',
    async run(ctx, p) {
      const [B, C, H, W, G] = [2, 30, 7, 9, 5];
      const rng = makeRng(SEED);
      const x = randn(rng, B * C * H * W, 2);
      const gamma = randn(rng, C);
      const beta = randn(rng, C);
      const r = await runGraph(ctx, p, (g) => ({
        y: ops.groupNorm(g, g.input('x', [B, C, H, W]), g.input('g', [C]), g.input('b', [C]), { groups: G, relu: true }),
      }), { x, g: gamma, b: beta });
      return [{ actual: out(r, 'y'), expected: groupNormRef(x, [B, C, H, W], G, gamma, beta, 1e-5, true), atol: 2e-5, rtol: 1e-5 }];
    },
  },
  {
    name: 'softmax rows=7 n=301',
    async run(ctx, p) {
      const [rows, n] = [7, 301];
      const x = randn(makeRng(SEED), rows * n, 4);
      const r = await runGraph(ctx, p, (g) => ({ y: ops.softmax(g, g.input('x', [rows, n])) }), { x });
      return [{ actual: out(r, 'y'), expected: softmaxRef(x, rows, n), atol: 1e-6, rtol: 1e-5 }];
    },
  },
  ...(['attend-all', 'zero'] as const).map((maskedRow): CaseDef => ({
    name: `attention B=2 H=3 Lq=7 Lk=45 dh=11 mask=bool (fully masked rows) maskedRow=${maskedRow}`,
    async run(ctx, p) {
      const [B, H, Lq, Lk, dh] = [2, 3, 7, 45, 11];
      const C = H * dh;
      const rng = makeRng(SEED);
      const q = randn(rng, B * Lq * C);
      const k = randn(rng, B * Lk * C);
      const v = randn(rng, B * Lk * C);
      const mask = new Uint32Array(B * Lq * Lk);
      for (let i = 0; i < mask.length; i++) mask[i] = rng() < 0.7 ? 1 : 0;
      // Fully blocked rows: query 0 of every batch, and query 2 of batch 1.
      for (let b = 0; b < B; b++) mask.fill(1, b * Lq * Lk, b * Lq * Lk + Lk);
      mask.fill(1, (Lq + 2) * Lk, (Lq + 3) * Lk);
      const r = await runGraph(ctx, p, (g) => ({
        y: ops.attention(g, g.input('q', [B, Lq, C]), g.input('k', [B, Lk, C]), g.input('v', [B, Lk, C]), {
          heads: H,
          maskedRow,
          mask: { kind: 'bool', tensor: g.input('mask', [B, Lq, Lk], 'u32') },
        }),
      }), { q, k, v, mask });
      const ref = attentionRef(q, k, v, { B, H, Lq, Lk, dh, scale: 1 / Math.sqrt(dh), maskedRow, mask: { kind: 'bool', data: mask, maskBatch: B } });
      return [{ actual: out(r, 'y'), expected: ref, atol: 2e-5, rtol: 1e-5 }];
    },
  })),
  {
    name: 'ms-deform-attn B=2 q=31 h=3 dh=5 lv=[6x4,3x2,2x1] p=4 (points outside the maps)',
    async run(ctx, p) {
      const [B, Lq, H, dh, P] = [2, 31, 3, 5, 4];
      const levels: [number, number][] = [[6, 4], [3, 2], [2, 1]];
      const L = levels.length;
      const S = levels.reduce((a, [hh, ww]) => a + hh * ww, 0);
      const C = H * dh;
      const rng = makeRng(SEED);
      const value = randn(rng, B * S * C);
      const offsets = randn(rng, B * Lq * H * L * P * 2, 2.5); // several pixels: many land outside
      const w = randu(rng, B * Lq * H * L * P, 0, 1);
      const refPts = randu(rng, Lq * 2, -0.1, 1.1);
      const r = await runGraph(ctx, p, (g) => ({
        y: ops.msDeformAttn(
          g, g.input('value', [B, S, C]), g.input('off', [B, Lq, H * L * P * 2]), g.input('w', [B, Lq, H * L * P]), g.input('ref', [Lq, 2]),
          { heads: H, levels, points: P },
        ),
      }), { value, off: offsets, w, ref: refPts });
      const ref = msDeformAttnRef(value, offsets, w, refPts, { B, Lq, H, dh, levels, points: P });
      return [{ actual: out(r, 'y'), expected: ref, atol: 2e-5, rtol: 1e-5 }];
    },
  },
  {
    name: 'Pillow bilinear RGBA8 77x101 -> 56x73 (bit exact)',
    async run(ctx, p) {
      const [hh, ww, oh, ow] = [77, 101, 56, 73];
      const rng = makeRng(SEED);
      const rgba = new Uint8Array(hh * ww * 4);
      for (let i = 0; i < rgba.length; i++) rgba[i] = Math.floor(rng() * 256);
      const r = await runGraph(ctx, p, (g) => ({ y: ops.pilResize(g, g.input('img', [hh, ww], 'u32'), [oh, ow]) }), { img: new Uint32Array(rgba.buffer) });
      const y = out(r, 'y');
      const got = new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
      return [{ actual: got, expected: pilResizeRef(rgba, hh, ww, oh, ow), atol: 0 }];
    },
  },
  {
    name: 'window partition + reverse B=2 23x19 C=8 ws=6 shift=3',
    async run(ctx, p) {
      const [B, H, W, C, ws, shift] = [2, 23, 19, 8, 6, 3];
      const rng = makeRng(SEED);
      const x = randn(rng, B * H * W * C);
      const res = randn(rng, B * H * W * C);
      const r = await runGraph(ctx, p, (g) => {
        const geo = ops.windowGeometry(B, H, W, C, ws, shift);
        const win = ops.windowPartition(g, g.input('x', [B, H, W, C]), geo);
        return { win, back: ops.windowReverse(g, win, g.input('res', [B, H, W, C]), geo) };
      }, { x, res });
      const winRef = windowPartitionRef(x, B, H, W, C, ws, shift);
      return [
        { label: 'partition', actual: out(r, 'win'), expected: winRef, atol: 0 },
        { label: 'reverse', actual: out(r, 'back'), expected: windowReverseRef(winRef, B, H, W, C, ws, shift, res), atol: 0 },
      ];
    },
  },
];

async function runAll(): Promise<void> {
  const ctx = await requestGpu();
  // Validation errors outside an error scope would otherwise only show as a console warning;
  // console.error makes the e2e test's "no console errors" check catch them.
  ctx.device.addEventListener('uncapturederror', (ev) => {
    console.error(`uncaptured WebGPU error: ${ev.error.message}`);
  });
  try {
    const pipelines = ctx.pipelines;
    const results: E2eCase[] = [];
    log(`adapter: ${ctx.adapterName}, seed ${SEED}`);
    for (const c of cases) {
      const t0 = performance.now();
      const checks = await c.run(ctx, pipelines);
      const ms = performance.now() - t0;
      for (const ch of checks) {
        const e = maxErrors(ch.actual, ch.expected);
        const tol = ch.atol + (ch.rtol ?? 0) * e.maxRef;
        const name = ch.label ? `${c.name} [${ch.label}]` : c.name;
        const pass = e.maxAbs <= tol;
        results.push({ name, maxAbs: e.maxAbs, maxRel: e.maxRel, tol, pass, ms });
        log(`${pass ? 'PASS' : 'FAIL'} ${name}: max abs ${e.maxAbs.toExponential(2)} (rel ${e.maxRel.toExponential(2)}), tol ${tol.toExponential(2)}, ${ms.toFixed(0)} ms`);
      }
    }
    window.__results = { adapter: ctx.adapterName, isFallback: ctx.adapterInfo.isFallbackAdapter, seed: SEED, cases: results };
  } finally {
    ctx.dispose();
  }
}

/** Names the typed error requestGpu() rejects with, for the "no WebGPU" test. */
async function probe(): Promise<string> {
  try {
    const ctx = await requestGpu();
    ctx.dispose();
    return 'ok';
  } catch (e) {
    // instanceof, not e.name: the bundler may rename classes.
    if (e instanceof NoWebGpuError) return 'NoWebGpuError';
    if (e instanceof NoAdapterError) return 'NoAdapterError';
    if (e instanceof MaskgpuError) return `MaskgpuError: ${e.message}`;
    return `unexpected: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
}

window.__probe = probe;
if (!params.has('probe')) {
  runAll().then(
    () => {
      window.__done = true;
    },
    (e: unknown) => {
      const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      log(`ERROR ${msg}`);
      window.__error = msg;
    },
  );
}
