/**
 * One page, one adapter, the same Mask2Former graph, the same pixel_values: maskgpu's forward pass
 * against onnxruntime-web's WebGPU execution provider (and its wasm provider for scale), each run
 * `runs` times after one warm-up, each checked against HF's logits.
 *
 * Served layout (set up by bench/peer.bench.ts): `ort/` = onnxruntime-web's dist, `peer/` = the
 * ONNX exports, `models/<case>/` = the checkpoint folder, `io/<case>.safetensors` = pixel_values and
 * HF's class/mask logits. Results: `window.__bench` (or `window.__error`).
 */
import { requestGpu } from '../../src/gpu/device.ts';
import { checkpointFromUrl } from '../../src/checkpoint.ts';
import { SegmentationModel } from '../../src/models/session.ts';
import { parseSafetensorsHeader, toFloat32 } from '../../src/weights/safetensors.ts';

export interface EngineResult {
  readonly engine: string;
  /** Wall ms of the first run (maskgpu: graph planning and pipeline compilation included; ORT: session already created). */
  readonly firstMs: number;
  readonly setupMs: number;
  readonly runsMs: number[];
  readonly medianMs: number;
  /** max |x - HF| / max |HF| over class and mask logits. */
  readonly relErr: number;
}

export interface BenchResult {
  readonly case: string;
  readonly adapter: string;
  readonly isFallback: boolean;
  readonly shape: readonly number[];
  readonly engines: EngineResult[];
}

declare global {
  interface Window {
    __bench?: BenchResult;
    __error?: string;
  }
}

interface OrtTensor {
  readonly data: Float32Array;
}
interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  env: { wasm: { wasmPaths: string; numThreads: number } };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
  InferenceSession: { create(model: ArrayBuffer, options: { executionProviders: string[] }): Promise<OrtSession> };
}

const params = new URLSearchParams(location.search);
const CASE = params.get('case') ?? 'tiny';
const RUNS = Number(params.get('runs') ?? 5);
const ONNX: Readonly<Record<string, string>> = { tiny: 'peer/mask2former-tiny.onnx', shapes: 'peer/shapes.onnx' };

const logEl = document.getElementById('log');
const log = (line: string): void => {
  if (logEl) logEl.textContent += `${line}\n`;
  console.log(line);
};

async function bytes(url: string): Promise<ArrayBuffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

function readTensors(buf: ArrayBuffer, names: readonly string[]): Map<string, { shape: number[]; data: Float32Array }> {
  const u8 = new Uint8Array(buf);
  const header = parseSafetensorsHeader(u8, u8.byteLength, 'io.safetensors');
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const name of names) {
    const info = header.tensors.get(name);
    if (!info) throw new Error(`io.safetensors has no ${name}`);
    const start = header.dataOffset + info.begin;
    out.set(name, { shape: [...info.shape], data: toFloat32(info, u8.subarray(start, header.dataOffset + info.end), 'io.safetensors') });
  }
  return out;
}

function relErr(got: Float32Array, ref: Float32Array): number {
  let err = 0;
  let max = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs((got[i] as number) - (ref[i] as number)));
    max = Math.max(max, Math.abs(ref[i] as number));
  }
  return got.length === ref.length ? err / max : Number.POSITIVE_INFINITY;
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function timeRuns(run: () => Promise<{ cls: Float32Array; masks: Float32Array }>): Promise<{ firstMs: number; runsMs: number[]; last: { cls: Float32Array; masks: Float32Array } }> {
  let t = performance.now();
  let last = await run();
  const firstMs = performance.now() - t;
  const runsMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    t = performance.now();
    last = await run();
    runsMs.push(performance.now() - t);
  }
  return { firstMs, runsMs, last };
}

async function main(): Promise<void> {
  const onnxUrl = ONNX[CASE];
  if (!onnxUrl) throw new Error(`unknown case ${CASE}`);
  const io = readTensors(await bytes(`io/${CASE}.safetensors`), ['pixel_values', 'class_queries_logits', 'masks_queries_logits']);
  const px = io.get('pixel_values')!;
  const refCls = io.get('class_queries_logits')!.data;
  const refMasks = io.get('masks_queries_logits')!.data;
  const shape = px.shape as [number, 3, number, number];
  const engines: EngineResult[] = [];
  const check = (name: string, r: { cls: Float32Array; masks: Float32Array }): number => {
    const e = Math.max(relErr(r.cls, refCls), relErr(r.masks, refMasks));
    log(`${name}: max error vs HF ${e.toExponential(2)} of max|x|`);
    return e;
  };

  // maskgpu
  const gpu = await requestGpu();
  let t = performance.now();
  const model = await SegmentationModel.load(gpu, await checkpointFromUrl(`models/${CASE}/`));
  const mgSetup = performance.now() - t;
  const mg = await timeRuns(async () => {
    const { outputs } = await model.forward({ pixelValues: px.data, shape });
    return { cls: outputs.get('class_queries_logits')!.data as Float32Array, masks: outputs.get('masks_queries_logits')!.data as Float32Array };
  });
  engines.push({ engine: 'maskgpu (WebGPU)', setupMs: mgSetup, firstMs: mg.firstMs, runsMs: mg.runsMs, medianMs: median(mg.runsMs), relErr: check('maskgpu', mg.last) });
  model.dispose();
  log(`maskgpu: load ${mgSetup.toFixed(0)} ms, first ${mg.firstMs.toFixed(0)} ms, median ${median(mg.runsMs).toFixed(0)} ms`);

  // onnxruntime-web, same graph (HF's module exported to ONNX)
  const ort = (await import(/* @vite-ignore */ new URL('ort/ort.webgpu.min.mjs', location.href).href)) as Ort;
  ort.env.wasm.wasmPaths = new URL('ort/', location.href).href;
  ort.env.wasm.numThreads = 1;
  const model8 = await bytes(onnxUrl);
  for (const ep of ['webgpu', 'wasm']) {
    t = performance.now();
    const session = await ort.InferenceSession.create(model8.slice(0), { executionProviders: [ep] });
    const setupMs = performance.now() - t;
    const input = new ort.Tensor('float32', px.data, shape);
    const r = await timeRuns(async () => {
      const out = await session.run({ pixel_values: input });
      return { cls: out.class_queries_logits!.data, masks: out.masks_queries_logits!.data };
    });
    const name = `onnxruntime-web ${ep === 'webgpu' ? 'WebGPU EP' : 'wasm EP (1 thread)'}`;
    engines.push({ engine: name, setupMs, firstMs: r.firstMs, runsMs: r.runsMs, medianMs: median(r.runsMs), relErr: check(name, r.last) });
    log(`${name}: session ${setupMs.toFixed(0)} ms, first ${r.firstMs.toFixed(0)} ms, median ${median(r.runsMs).toFixed(0)} ms`);
    await session.release();
  }
  window.__bench = { case: CASE, adapter: gpu.adapterName, isFallback: gpu.adapterInfo.isFallbackAdapter, shape, engines };
  gpu.dispose();
}

main().catch((e: unknown) => {
  window.__error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  log(window.__error);
});
