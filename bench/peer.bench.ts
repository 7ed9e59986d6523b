/**
 * maskgpu vs the peer, in one run: builds bench/peer, serves it with onnxruntime-web's dist, the
 * ONNX exports of ../shared/peer and the matching checkpoints, and runs both engines in one
 * headless Chromium page on the same adapter (SwiftShader where there is no GPU) with the same
 * pixel_values. Prints per-engine load, first-run and median times, the ratio, and each engine's
 * error against HF's logits.
 *
 *   npx vitest run --config bench/vitest.bench.config.ts bench/peer.bench.ts
 *   PEER_CASES=tiny,shapes PEER_RUNS=5 (defaults)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { buildPage, launchChromium, serveStatic } from '../test/e2e/browser.ts';
import type { BenchResult } from './peer/main.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(REPO, 'out', 'peer-bench');
const PEER = join(REPO, '..', 'shared', 'peer');
const CASES = (process.env.PEER_CASES ?? 'tiny,shapes').split(',');
const RUNS = Number(process.env.PEER_RUNS ?? 5);
/**
 * ../shared/peer/shapes.onnx (and its HF logits) was exported from the first release of the
 * embedded shapes model, whose weights were replaced by a retrained model later (same config):
 * none of today's weight tensors occur in the ONNX file, while 172 of 275 of the first release's
 * do. maskgpu runs that first release, read from this commit's tree, so both engines run one graph.
 */
const SHAPES_PEER_COMMIT = '2bb6fdd';

function link(target: string, path: string): void {
  if (!existsSync(target)) throw new Error(`missing ${target}`);
  symlinkSync(target, path);
}

it('maskgpu vs onnxruntime-web on the same graph, adapter and input', async () => {
  await buildPage(join(REPO, 'bench', 'peer', 'vite.config.ts'));
  link(join(REPO, 'node_modules', 'onnxruntime-web', 'dist'), join(OUT, 'ort'));
  link(PEER, join(OUT, 'peer'));
  mkdirSync(join(OUT, 'models'));
  mkdirSync(join(OUT, 'io'));
  link(join(REPO, 'test', 'fixtures', 'mask2former', 'tiny'), join(OUT, 'models', 'tiny'));
  link(join(REPO, 'test', 'fixtures', 'mask2former', 'tiny', 'expected.safetensors'), join(OUT, 'io', 'tiny.safetensors'));
  if (CASES.includes('shapes')) {
    const dir = join(OUT, 'models', 'shapes');
    mkdirSync(dir);
    for (const f of ['config.json', 'preprocessor_config.json']) link(join(REPO, 'weights', 'shapes', f), join(dir, f));
    const weights = execFileSync('git', ['show', `${SHAPES_PEER_COMMIT}:weights/shapes/model.safetensors`], { cwd: REPO, maxBuffer: 64 << 20 });
    writeFileSync(join(dir, 'model.safetensors'), weights);
  }
  link(join(PEER, 'shapes-io.safetensors'), join(OUT, 'io', 'shapes.safetensors'));
  const server = await serveStatic(OUT);
  const chromium = await launchChromium();
  try {
    for (const name of CASES) {
      const { page, console: messages } = await chromium.open(`${server.url}index.html?case=${name}&runs=${RUNS}`);
      await page.waitForFunction(() => window.__bench !== undefined || window.__error !== undefined, undefined, { timeout: 3_000_000, polling: 500 });
      const error = await page.evaluate(() => window.__error);
      if (error) console.log(messages.join('\n'));
      expect(error).toBeUndefined();
      const r = (await page.evaluate(() => window.__bench)) as BenchResult;
      const lines = [`case ${r.case}, input [${r.shape.join(', ')}], adapter ${r.adapter} (fallback ${r.isFallback}), ${RUNS} runs after one warm-up:`];
      lines.push('| engine | load / session ms | first run ms | median ms | max error vs HF (of max abs) |', '| --- | --- | --- | --- | --- |');
      for (const e of r.engines) lines.push(`| ${e.engine} | ${e.setupMs.toFixed(0)} | ${e.firstMs.toFixed(0)} | ${e.medianMs.toFixed(0)} | ${e.relErr.toExponential(2)} |`);
      const ours = r.engines[0]!;
      for (const e of r.engines.slice(1)) lines.push(`${e.engine} median / maskgpu median = ${(e.medianMs / ours.medianMs).toFixed(2)}`);
      console.log(lines.join('\n'));
      for (const e of r.engines) expect(e.relErr, `${e.engine} reproduces HF`).toBeLessThan(1e-4);
      await page.close();
    }
  } finally {
    await chromium.close();
    await server.close();
  }
});
