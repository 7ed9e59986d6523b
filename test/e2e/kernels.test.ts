/**
 * Kernels in a real browser: builds test/e2e/kernels with Vite, serves it on 127.0.0.1, opens it
 * in headless Chromium (WebGPU on SwiftShader where there is no GPU) and checks every case the
 * page ran against its CPU reference. Also checks that requestGpu() fails with a typed error in
 * a browser without WebGPU.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPage, launchChromium, serveStatic, type StaticServer } from './browser.ts';
import type { E2eResults } from './kernels/main.ts';

const CONFIG = fileURLToPath(new URL('./vite.e2e.config.ts', import.meta.url));
const OUT = fileURLToPath(new URL('../../out/e2e-kernels', import.meta.url));
/** SwiftShader compiles every pipeline on the CPU: allow minutes, not seconds. */
const PAGE_TIMEOUT_MS = 420_000;

let server: StaticServer | undefined;

beforeAll(async () => {
  const t0 = performance.now();
  await buildPage(CONFIG);
  server = await serveStatic(OUT);
  console.log(`built ${OUT} in ${((performance.now() - t0) / 1000).toFixed(1)} s, serving at ${server.url}`);
});
afterAll(async () => {
  await server?.close();
});

function url(query = ''): string {
  if (!server) throw new Error('server not started');
  return `${server.url}index.html${query}`;
}

describe('kernels in Chromium (WebGPU)', () => {
  it('every case matches its CPU reference, no console errors', async () => {
    const t0 = performance.now();
    const browser = await launchChromium();
    try {
      console.log(`chromium flags: ${browser.args.join(' ')}`);
      const { page, errors, console: messages } = await browser.open(url());
      await page.waitForFunction(() => window.__done === true || window.__error !== undefined, undefined, {
        timeout: PAGE_TIMEOUT_MS,
        polling: 250,
      });
      const error = await page.evaluate(() => window.__error);
      const results = await page.evaluate(() => window.__results);
      if (error !== undefined) console.log(`page console:\n${messages.join('\n')}`);
      expect(error, 'window.__error').toBeUndefined();
      expect(results).toBeDefined();
      const r = results as E2eResults;
      console.log(`adapter: ${r.adapter} (isFallbackAdapter ${r.isFallback}), seed ${r.seed}`);
      for (const c of r.cases) {
        console.log(
          `${c.pass ? 'PASS' : 'FAIL'} ${c.name}: max abs ${c.maxAbs.toExponential(2)} (rel ${c.maxRel.toExponential(2)}), tol ${c.tol.toExponential(2)}, ${c.ms.toFixed(0)} ms`,
        );
      }
      console.log(`page done in ${((performance.now() - t0) / 1000).toFixed(1)} s (launch + compile + run)`);
      expect(r.cases.length).toBeGreaterThanOrEqual(10);
      expect(r.cases.filter((c) => !c.pass).map((c) => `${c.name}: ${c.maxAbs} > ${c.tol}`)).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe('requestGpu() without WebGPU', () => {
  it('rejects with NoAdapterError or NoWebGpuError when Chromium runs without --enable-unsafe-webgpu', async () => {
    const browser = await launchChromium({ webgpu: false });
    try {
      const { page } = await browser.open(url('?probe'));
      await page.waitForFunction(() => typeof window.__probe === 'function', undefined, { timeout: 30_000 });
      const name = await page.evaluate(() => (window.__probe as () => Promise<string>)());
      console.log(`requestGpu() without WebGPU: ${name}`);
      expect(['NoAdapterError', 'NoWebGpuError']).toContain(name);
    } finally {
      await browser.close();
    }
  });
});
