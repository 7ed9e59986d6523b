/**
 * `Segmenter.load(url)` against a local stand-in for the Hugging Face hub (test/hub-server.ts):
 * CDN redirects, a pull-request revision, 401 / 404 with typed errors naming the file and status,
 * progress events, and downloads that break part-way (resumed with Range, or restarted when the
 * server ignores Range). Node's fetch and Dawn; the Cache API half is in test/e2e/library.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resumingFetch } from '../../src/checkpoint.ts';
import { DownloadError, WeightError } from '../../src/errors.ts';
import type { GpuContext } from '../../src/gpu/device.ts';
import { requestNodeGpu } from '../../src/gpu/node.ts';
import { Segmenter } from '../../src/segmenter.ts';
import type { LoadProgress } from '../../src/weights/safetensors.ts';
import { FIXTURES, readTensors } from '../fixture-files.ts';
import { GATED_TOKEN, startFakeHub, testRepos, type FakeHub } from '../hub-server.ts';

const TINY = join(FIXTURES, 'mask2former/tiny');
const WEIGHTS = readFileSync(join(TINY, 'model.safetensors'));

let hub: FakeHub;
let gpu: GpuContext;

beforeAll(async () => {
  hub = await startFakeHub(testRepos(TINY));
  gpu = await requestNodeGpu();
});
afterAll(async () => {
  await hub.close();
  gpu.dispose();
});

/** The requests made since `from`, as `origin METHOD status range`. */
function since(from: number): string[] {
  return hub.requests.slice(from).map((r) => `${r.origin} ${r.method} ${r.status}${r.range ? ` ${r.range}` : ''}`);
}

async function readBack(buffer: GPUBuffer): Promise<Float32Array> {
  const staging = gpu.device.createBuffer({ label: 'hub-test readback', size: buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = gpu.device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
  gpu.device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return out;
}

/** Every F32 weight in GPU memory equals the fixture file's bytes (a resumed download is the file). */
async function expectWeightsEqualFile(seg: Segmenter): Promise<void> {
  const ref = await readTensors(join(TINY, 'model.safetensors'));
  let compared = 0;
  let maxAbs = 0;
  for (const key of seg.model.weights.keys()) {
    const want = ref.get(key);
    if (!want || want.dtype !== 'F32' || key.startsWith('criterion.')) continue;
    const got = (await readBack(seg.model.weights.buffer(key))).subarray(0, want.data.length);
    for (let i = 0; i < got.length; i++) maxAbs = Math.max(maxAbs, Math.abs((got[i] as number) - (want.data[i] as number)));
    compared++;
  }
  console.log(`weights compared: ${compared} F32 tensors, max abs difference ${maxAbs}`);
  expect(compared).toBeGreaterThan(50);
  expect(maxAbs).toBe(0);
}

async function loadError(url: string, fetchFn?: typeof fetch): Promise<unknown> {
  return Segmenter.load(url, { gpu, ...(fetchFn ? { fetch: fetchFn } : {}) }).then(
    (s) => {
      s.dispose();
      return new Error('loaded');
    },
    (e: unknown) => e,
  );
}

describe('Segmenter.load from a hub-like server', () => {
  it('a pull-request revision (refs%2Fpr%2F1), weights through the CDN redirect, with progress events', async () => {
    const from = hub.requests.length;
    const events: LoadProgress[] = [];
    const seg = await Segmenter.load(hub.folder('test/tiny', 'refs/pr/1'), { gpu, onProgress: (p) => events.push({ ...p }) });
    try {
      console.log(`requests: ${since(from).join(', ')}`);
      expect(since(from)).toEqual(['hub GET 200', 'hub GET 200', 'hub HEAD 302', 'cdn HEAD 200', 'hub GET 302', 'cdn GET 200']);
      expect(events.length).toBeGreaterThan(1);
      const last = events[events.length - 1] as LoadProgress;
      console.log(`progress: ${events.length} events, last ${last.loaded}/${last.total} of ${last.file}`);
      expect(last).toMatchObject({ loaded: WEIGHTS.length, total: WEIGHTS.length });
      expect(last.file).toMatch(/refs%2Fpr%2F1\/model\.safetensors$/);
      for (let i = 1; i < events.length; i++) expect((events[i] as LoadProgress).loaded).toBeGreaterThanOrEqual((events[i - 1] as LoadProgress).loaded);
      await expectWeightsEqualFile(seg);
    } finally {
      seg.dispose();
    }
  });

  it('the same revision written plainly (resolve/refs/pr/1/)', async () => {
    const seg = await Segmenter.load(`${hub.url}test/tiny/resolve/refs/pr/1/`, { gpu });
    expect(seg.model.weights.count).toBeGreaterThan(50);
    seg.dispose();
  });

  it('a revision with pickle weights only: WeightError (pickle), before any weight is downloaded', async () => {
    const from = hub.requests.length;
    const e = await loadError(hub.folder('test/tiny', 'main'));
    expect(e).toBeInstanceOf(WeightError);
    expect((e as WeightError).reason).toBe('pickle');
    expect(since(from).filter((r) => r.startsWith('cdn GET'))).toEqual([]);
  });

  it('a gated repository: DownloadError 401 naming config.json; with a token it loads', async () => {
    const e = await loadError(hub.folder('test/gated'));
    console.log(String(e));
    expect(e).toBeInstanceOf(DownloadError);
    expect((e as DownloadError).status).toBe(401);
    expect((e as DownloadError).file).toBe(`${hub.folder('test/gated')}config.json`);
    expect((e as Error).message).toMatch(/config\.json: HTTP 401 Unauthorized: the repository is gated or private/);
    const withToken: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${GATED_TOKEN}`);
      return fetch(input, { ...init, headers });
    };
    const seg = await Segmenter.load(hub.folder('test/gated'), { gpu, fetch: withToken });
    expect(seg.model.weights.count).toBeGreaterThan(50);
    seg.dispose();
  });

  it('missing repository, revision, config and weights: DownloadError naming the file and status', async () => {
    const cases = [
      { url: hub.folder('test/nope'), file: 'config.json', status: 401, text: /gated or private, or does not exist/ },
      { url: hub.folder('test/ok', 'v9'), file: 'config.json', status: 404, text: /HTTP 404 Not Found: revision not found/ },
      { url: hub.folder('test/no-config'), file: 'config.json', status: 404, text: /HTTP 404 Not Found: file not found in this revision/ },
      { url: hub.folder('test/no-weights'), file: 'model.safetensors', status: 404, text: /HTTP 404 Not Found: file not found in this revision/ },
    ];
    for (const c of cases) {
      const e = await loadError(c.url);
      console.log(`${c.url}: ${String(e)}`);
      expect(e).toBeInstanceOf(DownloadError);
      expect(e).toMatchObject({ status: c.status, file: `${c.url}${c.file}` });
      expect((e as Error).message).toMatch(c.text);
    }
  });

  it('a connection that breaks at 40%: resumed with Range (206), the weights equal the file, progress never goes back', async () => {
    const from = hub.requests.length;
    const events: LoadProgress[] = [];
    const seg = await Segmenter.load(hub.folder('test/flaky'), { gpu, onProgress: (p) => events.push({ ...p }) });
    try {
      const cdn = since(from).filter((r) => r.startsWith('cdn GET'));
      console.log(`CDN requests: ${cdn.join(', ')}`);
      expect(cdn).toEqual(['cdn GET 200', `cdn GET 206 bytes=${Math.floor(WEIGHTS.length * 0.4)}-`]);
      for (let i = 1; i < events.length; i++) expect((events[i] as LoadProgress).loaded).toBeGreaterThanOrEqual((events[i - 1] as LoadProgress).loaded);
      expect(events[events.length - 1]).toMatchObject({ loaded: WEIGHTS.length, total: WEIGHTS.length });
      await expectWeightsEqualFile(seg);
    } finally {
      seg.dispose();
    }
  });

  it('a server that ignores Range: the download restarts and skips what was already read', async () => {
    const from = hub.requests.length;
    const seg = await Segmenter.load(hub.folder('test/flaky-norange'), { gpu });
    try {
      const cdn = since(from).filter((r) => r.startsWith('cdn GET'));
      console.log(`CDN requests: ${cdn.join(', ')}`);
      expect(cdn).toEqual(['cdn GET 200', `cdn GET 200 bytes=${Math.floor(WEIGHTS.length * 0.5)}-`]);
      await expectWeightsEqualFile(seg);
    } finally {
      seg.dispose();
    }
  });

  it('a connection that keeps breaking: DownloadError naming the file and how far it got', async () => {
    const e = await loadError(hub.folder('test/broken'));
    console.log(String(e));
    expect(e).toBeInstanceOf(DownloadError);
    expect(e).toMatchObject({ status: 0 });
    expect((e as DownloadError).file).toMatch(/test\/broken\/resolve\/main\/model\.safetensors$/);
    expect((e as Error).message).toMatch(new RegExp(`download interrupted after ${Math.floor(WEIGHTS.length * 0.2)} of ${WEIGHTS.length} bytes: 3 attempts to resume failed`));
  });
});

describe('resumingFetch', () => {
  it('two breaks in a row, the second before any byte: the body is the file, byte for byte', async () => {
    const from = hub.requests.length;
    const res = await resumingFetch()(`${hub.folder('test/flaky-twice')}model.safetensors`);
    const got = new Uint8Array(await res.arrayBuffer());
    console.log(`requests: ${since(from).join(', ')}`);
    const cut = Math.floor(WEIGHTS.length * 0.3);
    expect(since(from)).toEqual(['hub GET 302', 'cdn GET 200', `hub GET 302 bytes=${cut}-`, `cdn GET 206 bytes=${cut}-`, `hub GET 302 bytes=${cut}-`, `cdn GET 206 bytes=${cut}-`]);
    expect(got.length).toBe(WEIGHTS.length);
    expect(Buffer.compare(Buffer.from(got), WEIGHTS)).toBe(0);
  });
});
