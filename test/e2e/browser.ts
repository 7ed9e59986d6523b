/**
 * Helpers for browser tests: build a Vite page, serve it from 127.0.0.1 (a secure context, so
 * `navigator.gpu` exists), and drive Debian's Chromium with playwright-core (never a downloaded
 * browser). See /work/shared/WEBGPU-CPU.md for why these flags.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';

/** Runs `vite build` with the given config file (programmatically, no child process). */
export async function buildPage(configPath: string): Promise<void> {
  await build({ configFile: resolve(configPath), logLevel: 'warn' });
}

const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.wgsl': 'text/plain; charset=utf-8',
  '.safetensors': 'application/octet-stream',
};

export interface StaticServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `dir` read-only on 127.0.0.1 with an OS-assigned port. GET/HEAD only; `/` and
 * directories serve their index.html; paths that resolve outside `dir` get 403.
 */
export async function serveStatic(dir: string): Promise<StaticServer> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      let pathname: string;
      try {
        pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
      } catch {
        res.writeHead(400).end('bad request');
        return;
      }
      if (pathname.includes('\0')) {
        res.writeHead(400).end('bad request');
        return;
      }
      let file = resolve(root, `.${pathname}`);
      const rel = relative(root, file);
      if (rel.startsWith('..') || isAbsolute(rel)) {
        res.writeHead(403).end('forbidden');
        return;
      }
      try {
        let st = await stat(file);
        if (st.isDirectory()) {
          file = join(file, 'index.html');
          st = await stat(file);
        }
        if (!st.isFile()) throw new Error('not a file');
        res.writeHead(200, {
          'content-type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
          'content-length': st.size,
          'cache-control': 'no-store',
        });
        if (req.method === 'HEAD') {
          res.end();
          return;
        }
        createReadStream(file).on('error', () => res.destroy()).pipe(res);
      } catch {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found');
      }
    })();
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((ok, fail) => {
        server.closeAllConnections();
        server.close((e) => (e ? fail(e) : ok()));
      }),
  };
}

/**
 * Flags that give headless Debian Chromium a WebGPU adapter (SwiftShader on a machine without a GPU).
 * `MASKGPU_WEBGPU_FLAGS` (space-separated) replaces them, e.g. for a real GPU in bench/gpu.sh.
 */
export const WEBGPU_FLAGS: readonly string[] = process.env.MASKGPU_WEBGPU_FLAGS
  ? process.env.MASKGPU_WEBGPU_FLAGS.split(/\s+/).filter((f) => f !== '')
  : ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader'];

/** Flags for running as root on a machine without network. */
export const BASE_FLAGS: readonly string[] = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface LaunchOptions {
  /** Pass the WebGPU flags (default true); false gives a browser where requestAdapter() is null. */
  readonly webgpu?: boolean;
  readonly extraArgs?: readonly string[];
}

export interface OpenedPage {
  readonly page: Page;
  /** Console errors and uncaught page errors seen so far (filled as they arrive). */
  readonly errors: string[];
  /** Every console message, `type: text`, for diagnostics. */
  readonly console: string[];
}

export interface Chromium {
  readonly browser: Browser;
  readonly args: readonly string[];
  /** Opens `url` in a new page, recording console errors from before the first script runs. */
  open(url: string): Promise<OpenedPage>;
  close(): Promise<void>;
}

/** Launches headless Chromium (`CHROMIUM_PATH`, default /usr/bin/chromium). */
export async function launchChromium(options: LaunchOptions = {}): Promise<Chromium> {
  const args = [...BASE_FLAGS, ...(options.webgpu === false ? [] : WEBGPU_FLAGS), ...(options.extraArgs ?? [])];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args,
  });
  return {
    browser,
    args,
    async open(url) {
      const page = await browser.newPage();
      const errors: string[] = [];
      const messages: string[] = [];
      page.on('console', (m) => {
        messages.push(`${m.type()}: ${m.text()}`);
        if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('requestfailed', (r) => errors.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
      await page.goto(url);
      return { page, errors, console: messages };
    },
    close: () => browser.close(),
  };
}
