/**
 * A local stand-in for the Hugging Face hub's `/<repo>/resolve/<revision>/<file>` endpoint and its
 * file CDN, for tests of `Segmenter.load(url)` without a network (Node and Chromium):
 *
 * - small files are served by the hub origin; `model.safetensors` (an LFS file on the hub) is a 302
 *   to a second origin (the CDN) with a signed-looking query, as the hub does;
 * - revisions: `main` and the pull request `refs/pr/1`, written `refs%2Fpr%2F1` (as the hub's own
 *   links do) or plain; an unknown revision is a 404 `RevisionNotFound`, a missing file a 404
 *   `EntryNotFound`, an unknown repository a 401 `RepoNotFound` (the hub answers anonymous
 *   requests for missing repositories with 401);
 * - `test/gated` answers 401 `GatedRepo` unless `Authorization: Bearer <GATED_TOKEN>`;
 * - the CDN honours `Range: bytes=N-` with 206 and an ETag, and can break the connection part-way
 *   through a file (`interrupt`), or ignore Range (answer 200 with the whole file);
 * - CORS headers everywhere (the page that loads runs on a third origin), preflights included.
 *
 * Every request is logged (`requests`) so tests can tell a cached load (no request) from a fresh one.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const GATED_TOKEN = 'hf_test_token';

export interface HubFile {
  readonly bytes: Uint8Array;
  /** Served through the CDN redirect (LFS). */
  readonly lfs: boolean;
}

export interface HubRepo {
  /** revision -> file name -> file */
  readonly revisions: Readonly<Record<string, Readonly<Record<string, HubFile>>>>;
  readonly gated?: boolean;
  /** CDN behaviour for this repo's LFS files. */
  readonly cdn?: {
    /** Break the connection after this fraction of the file, on the first `breaks` full or ranged GETs. */
    readonly interruptAt?: number;
    readonly breaks?: number;
    /** Answer Range requests with 200 and the whole file. */
    readonly ignoreRange?: boolean;
  };
}

export interface LoggedRequest {
  readonly origin: 'hub' | 'cdn';
  readonly method: string;
  readonly path: string;
  readonly range: string | undefined;
  readonly status: number;
}

export interface FakeHub {
  /** `http://127.0.0.1:<port>/` of the hub origin. */
  readonly url: string;
  readonly cdnUrl: string;
  readonly requests: LoggedRequest[];
  /** `<hub>/<repo>/resolve/<revision>/` */
  folder(repo: string, revision?: string): string;
  close(): Promise<void>;
}

/** The files of a checkpoint folder (config.json, preprocessor_config.json, model.safetensors). */
export function checkpointFiles(dir: string, names: readonly string[] = ['config.json', 'preprocessor_config.json', 'model.safetensors']): Record<string, HubFile> {
  return Object.fromEntries(names.map((n) => [n, { bytes: new Uint8Array(readFileSync(join(dir, n))), lfs: n.endsWith('.safetensors') || n.endsWith('.bin') }]));
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'x-error-code, etag, content-range, content-length, accept-ranges, x-linked-size, x-linked-etag',
};

function etagOf(bytes: Uint8Array): string {
  let h = 2166136261;
  for (let i = 0; i < bytes.length; i += 97) h = Math.imul(h ^ (bytes[i] ?? 0), 16777619) >>> 0;
  return `"${bytes.length.toString(16)}-${h.toString(16)}"`;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

function close(server: Server): Promise<void> {
  return new Promise<void>((ok, fail) => {
    server.closeAllConnections();
    server.close((e) => (e ? fail(e) : ok()));
  });
}

function preflight(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'OPTIONS') return false;
  res.writeHead(204, { ...CORS, 'access-control-allow-methods': 'GET, HEAD', 'access-control-allow-headers': 'authorization, range', 'access-control-max-age': '600' }).end();
  return true;
}

export async function startFakeHub(repos: Readonly<Record<string, HubRepo>>): Promise<FakeHub> {
  const requests: LoggedRequest[] = [];
  const log = (origin: LoggedRequest['origin'], req: IncomingMessage, status: number): void => {
    requests.push({ origin, method: req.method ?? '', path: req.url ?? '', range: req.headers.range, status });
  };
  // CDN objects by id, and how many times each was broken so far.
  const objects = new Map<string, { file: HubFile; repo: HubRepo; name: string }>();
  const broken = new Map<string, number>();
  let cdnUrl = '';

  const cdn = createServer((req, res) => {
    if (preflight(req, res)) return log('cdn', req, 204);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const id = path.split('/')[2] ?? '';
    const obj = objects.get(id);
    if (!obj || (req.method !== 'GET' && req.method !== 'HEAD')) {
      log('cdn', req, 404);
      res.writeHead(404, CORS).end('NoSuchKey');
      return;
    }
    const { bytes } = obj.file;
    const behaviour = obj.repo.cdn ?? {};
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range && !behaviour.ignoreRange ? Number(range[1]) : 0;
    if (start > bytes.length) {
      log('cdn', req, 416);
      res.writeHead(416, { ...CORS, 'content-range': `bytes */${bytes.length}` }).end();
      return;
    }
    const status = start > 0 || (range && !behaviour.ignoreRange) ? 206 : 200;
    log('cdn', req, status);
    const headers: Record<string, string | number> = {
      ...CORS, 'content-type': 'application/octet-stream', 'content-length': bytes.length - start, etag: etagOf(bytes), 'accept-ranges': 'bytes', 'cache-control': 'no-store',
    };
    if (status === 206) headers['content-range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();
    const body = bytes.subarray(start);
    const times = broken.get(id) ?? 0;
    if (behaviour.interruptAt !== undefined && times < (behaviour.breaks ?? 1)) {
      broken.set(id, times + 1);
      // Part of the file, then the connection drops (Content-Length promised more).
      const cut = Math.min(body.length, Math.floor(bytes.length * behaviour.interruptAt) - start);
      if (cut > 0) res.write(body.subarray(0, cut), () => setTimeout(() => res.destroy(), 20));
      else (res.flushHeaders(), setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(body);
  });

  const hub = createServer((req, res) => {
    if (preflight(req, res)) return log('hub', req, 204);
    const fail = (status: number, code: string, message: string): void => {
      log('hub', req, status);
      res.writeHead(status, { ...CORS, 'content-type': 'application/json', 'x-error-code': code }).end(JSON.stringify({ error: message }));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'MethodNotAllowed', 'GET or HEAD');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const m = /^\/([^/]+\/[^/]+)\/resolve\/(.+)$/.exec(path);
    if (!m) return fail(404, 'EntryNotFound', 'not a resolve URL');
    const [, name = '', rest = ''] = m;
    const repo = repos[name];
    if (!repo) return fail(401, 'RepoNotFound', `Repository Not Found for url: ${path}.`);
    if (repo.gated && req.headers.authorization !== `Bearer ${GATED_TOKEN}`) return fail(401, 'GatedRepo', `Access to model ${name} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
    const decoded = decodeURIComponent(rest);
    const revision = Object.keys(repo.revisions).find((r) => decoded.startsWith(`${r}/`));
    if (revision === undefined) return fail(404, 'RevisionNotFound', `Invalid rev id: ${decoded.split('/')[0] ?? ''}`);
    const fileName = decoded.slice(revision.length + 1);
    const file = repo.revisions[revision]?.[fileName];
    if (!file) return fail(404, 'EntryNotFound', `${fileName} does not exist on "${revision}"`);
    if (file.lfs) {
      const id = `${name.replace('/', '--')}--${revision.replaceAll('/', '-')}--${fileName}`;
      objects.set(id, { file, repo, name: fileName });
      log('hub', req, 302);
      res.writeHead(302, {
        ...CORS, location: `${cdnUrl}repos/${id}/${fileName}?X-Amz-Signature=test&Expires=9999999999`,
        'x-linked-size': file.bytes.length, 'x-linked-etag': etagOf(file.bytes),
      }).end();
      return;
    }
    log('hub', req, 200);
    res.writeHead(200, { ...CORS, 'content-type': fileName.endsWith('.json') ? 'application/json' : 'application/octet-stream', 'content-length': file.bytes.length, etag: etagOf(file.bytes) });
    res.end(req.method === 'HEAD' ? undefined : file.bytes);
  });

  cdnUrl = await listen(cdn);
  const url = await listen(hub);
  return {
    url,
    cdnUrl,
    requests,
    folder: (repo, revision = 'main') => `${url}${repo}/resolve/${encodeURIComponent(revision)}/`,
    close: async () => {
      await close(hub);
      await close(cdn);
    },
  };
}

/** The repositories the hub tests use, all backed by one small checkpoint folder. */
export function testRepos(dir: string): Record<string, HubRepo> {
  const all = checkpointFiles(dir);
  const { 'model.safetensors': weights, ...json } = all;
  if (!weights) throw new Error(`${dir}: no model.safetensors`);
  const pickle = { 'pytorch_model.bin': { bytes: new Uint8Array(64), lfs: true } };
  return {
    // main has pickle weights only; the safetensors conversion is the pull request refs/pr/1.
    'test/tiny': { revisions: { main: { ...json, ...pickle }, 'refs/pr/1': all } },
    'test/ok': { revisions: { main: all } },
    'test/gated': { revisions: { main: all }, gated: true },
    'test/no-config': { revisions: { main: { 'model.safetensors': weights } } },
    'test/no-weights': { revisions: { main: json } },
    'test/flaky': { revisions: { main: all }, cdn: { interruptAt: 0.4, breaks: 1 } },
    'test/flaky-twice': { revisions: { main: all }, cdn: { interruptAt: 0.3, breaks: 2 } },
    'test/flaky-norange': { revisions: { main: all }, cdn: { interruptAt: 0.5, breaks: 1, ignoreRange: true } },
    'test/broken': { revisions: { main: all }, cdn: { interruptAt: 0.2, breaks: 1000 } },
  };
}
