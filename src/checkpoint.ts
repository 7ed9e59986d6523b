/**
 * Hugging Face checkpoint folders as they are on the hub: config.json, preprocessor_config.json,
 * model.safetensors. From a folder URL (the hub's `https://huggingface.co/<repo>/resolve/<rev>/`
 * layout included: redirects to its file CDN, pull-request revisions, gated repositories), from
 * File objects (picker / drag and drop), or from buffers. URL downloads resume after a broken
 * connection and can be kept in the Cache API.
 */
import { DownloadError, WeightError } from './errors.ts';
import type { SafetensorsSource } from './weights/safetensors.ts';

export interface CheckpointSource {
  readonly config: unknown;
  readonly preprocessor?: unknown;
  readonly weights: SafetensorsSource;
  /** For messages. */
  readonly name: string;
  /**
   * Other small files of the folder, as text by file name (OneFormer: its CLIP tokenizer's
   * tokenizer.json / vocab.json / merges.txt / tokenizer_config.json and its class_info file).
   * Absent files are absent keys.
   */
  readonly files?: Readonly<Record<string, string>>;
}

/** The tokenizer files OneFormer's processor reads from a checkpoint folder. */
export const TOKENIZER_FILES = ['tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json'] as const;

/**
 * The extra files a checkpoint of this config needs: OneFormer's tokenizer files and its class_info
 * file (the one `class_info_file` names, else class_info.json); nothing for other families.
 */
export function extraFilesFor(config: unknown, preprocessor: unknown): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(config) || config['model_type'] !== 'oneformer') return [];
  const named = isObj(preprocessor) && typeof preprocessor['class_info_file'] === 'string' ? preprocessor['class_info_file'] : undefined;
  // Only a plain file name: class_info_file may name a file of another repository.
  const classInfo = named !== undefined && /^[\w.-]+\.json$/.test(named) ? named : 'class_info.json';
  return [...TOKENIZER_FILES, classInfo];
}

export interface FetchOptions {
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
}

const WEIGHTS = 'model.safetensors';

function pickleError(where: string): WeightError {
  return new WeightError(where, undefined, 'only pickle weights (pytorch_model.bin) found: maskgpu reads model.safetensors only (never unpickles); convert the checkpoint or use a revision that has model.safetensors', 'pickle');
}

/** What a failed status means on the Hugging Face hub (`X-Error-Code` when the server exposes it). */
function explainStatus(status: number, errorCode: string | null): string {
  if (status === 401) return 'the repository is gated or private, or does not exist: accept its conditions on the hub and send a token (load(url, { fetch }) with a fetch that adds an Authorization header)';
  if (status === 403) return 'forbidden: the token has no access to this repository, or the download link expired';
  if (status === 404) {
    if (errorCode === 'RevisionNotFound') return 'revision not found';
    if (errorCode === 'RepoNotFound') return 'repository not found';
    if (errorCode === 'EntryNotFound') return 'file not found in this revision';
    return 'not found';
  }
  if (status === 429) return 'rate limited: retry later';
  return status >= 500 ? 'server error: retry later' : 'request refused';
}

/** A typed error for a non-2xx response to `url`: file, status and what it means. */
export function httpError(url: string, res: Response): DownloadError {
  const text = res.statusText === '' ? '' : ` ${res.statusText}`;
  return new DownloadError(url, res.status, `HTTP ${res.status}${text}: ${explainStatus(res.status, res.headers.get('x-error-code'))}`);
}

/** Fetches `url`; a network failure becomes a DownloadError (status 0) naming the file. */
async function request(f: typeof fetch, url: string, init: RequestInit): Promise<Response> {
  try {
    return await f(url, init);
  } catch (e) {
    if (init.signal?.aborted || e instanceof WeightError) throw e;
    throw new DownloadError(url, 0, `network error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A text file of the checkpoint folder; undefined when the server answers 404. */
async function fetchText(url: string, f: typeof fetch, signal: AbortSignal | undefined): Promise<string | undefined> {
  const res = await request(f, url, signal ? { signal } : {});
  if (res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw httpError(url, res);
  }
  return res.text();
}

async function fetchJson(url: string, f: typeof fetch, signal: AbortSignal | undefined, optional: boolean): Promise<unknown> {
  const res = await request(f, url, signal ? { signal } : {});
  if (!res.ok) {
    await res.body?.cancel();
    if (optional && res.status === 404) return undefined;
    throw httpError(url, res);
  }
  try {
    return (await res.json()) as unknown;
  } catch (e) {
    throw new WeightError(url, undefined, `not valid JSON: ${e instanceof Error ? e.message : String(e)}`, 'invalid-json');
  }
}

/**
 * A folder URL ending in '/' (hub: https://huggingface.co/<repo>/resolve/<revision>/, where the
 * revision is a branch, a tag, a commit or a pull request as `refs%2Fpr%2F<n>`). Weights stream later.
 * Failures are a DownloadError naming the file and the HTTP status.
 */
export async function checkpointFromUrl(folder: string, o: FetchOptions = {}): Promise<CheckpointSource> {
  const base = folder.endsWith('/') ? folder : `${folder}/`;
  const f = o.fetch ?? globalThis.fetch.bind(globalThis);
  const config = await fetchJson(`${base}config.json`, f, o.signal, false);
  const preprocessor = await fetchJson(`${base}preprocessor_config.json`, f, o.signal, true);
  // HEAD bodies are read (empty) so browsers do not log the probes as aborted requests.
  const head = await request(f, `${base}${WEIGHTS}`, { method: 'HEAD', ...(o.signal ? { signal: o.signal } : {}) });
  await head.arrayBuffer();
  if (head.status === 404) {
    const bin = await request(f, `${base}pytorch_model.bin`, { method: 'HEAD', ...(o.signal ? { signal: o.signal } : {}) });
    await bin.arrayBuffer();
    if (bin.ok) throw pickleError(base);
  }
  if (!head.ok) throw httpError(`${base}${WEIGHTS}`, head);
  const files: Record<string, string> = {};
  for (const name of extraFilesFor(config, preprocessor)) {
    // tokenizer.json makes the slow-tokenizer files unnecessary.
    if ((name === 'vocab.json' || name === 'merges.txt') && files['tokenizer.json'] !== undefined) continue;
    const text = await fetchText(`${base}${name}`, f, o.signal);
    if (text !== undefined) files[name] = text;
  }
  return { config, ...(preprocessor === undefined ? {} : { preprocessor }), weights: `${base}${WEIGHTS}`, name: base, ...(Object.keys(files).length > 0 ? { files } : {}) };
}

export interface ResumeOptions {
  /** Re-requests after a broken connection, per break (default 3). */
  readonly retries?: number;
  /** Bodies with a smaller Content-Length are passed through as they are (default 1 MiB). */
  readonly minBytes?: number;
}

function urlOf(input: RequestInfo | URL): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

/** Drops the first `skip` bytes of a stream (a restarted download, where the server ignored Range). */
function skipBytes(reader: ReadableStreamDefaultReader<Uint8Array>, skip: number): ReadableStreamDefaultReader<Uint8Array> {
  let left = skip;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return c.close();
        if (left >= value.byteLength) {
          left -= value.byteLength;
          continue;
        }
        c.enqueue(left > 0 ? value.subarray(left) : value);
        left = 0;
        return;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }).getReader();
}

/**
 * A fetch whose GET bodies survive broken connections: when the stream fails mid-way it asks
 * again for the rest (`Range: bytes=<received>-`, the request that failed, so a hub redirect is
 * followed afresh) and continues on a 206; a server that answers 200 instead is read from the
 * start with the bytes already delivered skipped (a restarted download). The caller sees one
 * uninterrupted body; bodies under `minBytes` (configs) pass through untouched. A changed ETag,
 * an error status or `retries` failed attempts in a row end the body with a DownloadError naming
 * the URL and how far it got.
 */
export function resumingFetch(base: typeof fetch = globalThis.fetch.bind(globalThis), options: ResumeOptions = {}): typeof fetch {
  const retries = options.retries ?? 3;
  const minBytes = options.minBytes ?? 2 ** 20;
  return async (input, init) => {
    const res = await base(input, init);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const coding = res.headers.get('content-encoding');
    const ranged = new Headers(init?.headers).has('range') || (input instanceof Request && input.headers.has('range'));
    const lengthHeader = res.headers.get('content-length');
    const total = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    if (method !== 'GET' || res.status !== 200 || !res.body || ranged || (coding !== null && coding !== '' && coding !== 'identity')) return res;
    // Small files (configs) are not worth resuming: a broken one fails as it is.
    if (total !== undefined && total < minBytes) return res;
    const url = urlOf(input);
    const etag = res.headers.get('etag');
    const signal = init?.signal ?? undefined;
    let reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
    let received = 0;
    let failures = 0;
    const broken = (detail: string, status = 0): DownloadError =>
      new DownloadError(url, status, `download interrupted after ${received}${total === undefined ? '' : ` of ${total}`} bytes: ${detail}`);
    const reopen = async (cause: unknown): Promise<void> => {
      if (++failures > retries) throw broken(`${retries} attempts to resume failed (last: ${cause instanceof Error ? cause.message : String(cause)})`);
      const headers = new Headers(init?.headers);
      headers.set('range', `bytes=${received}-`);
      let again: Response;
      try {
        again = await base(input, { ...init, headers });
      } catch (e) {
        if (signal?.aborted) throw e;
        return reopen(e);
      }
      const tag = again.headers.get('etag');
      if (etag !== null && tag !== null && tag !== etag) {
        await again.body?.cancel();
        throw broken(`the file changed on the server (ETag ${etag} -> ${tag})`);
      }
      if (again.status === 206 && again.body) {
        const start = /^bytes (\d+)-/.exec(again.headers.get('content-range') ?? '')?.[1];
        if (start !== undefined && Number(start) !== received) {
          await again.body.cancel();
          throw broken(`the server resumed at byte ${start}`);
        }
        reader = again.body.getReader();
      } else if (again.status === 200 && again.body) {
        reader = skipBytes(again.body.getReader(), received);
      } else {
        await again.body?.cancel();
        throw broken(httpError(url, again).detail, again.status);
      }
    };
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        for (;;) {
          let chunk: ReadableStreamReadResult<Uint8Array>;
          try {
            chunk = await reader.read();
          } catch (e) {
            if (signal?.aborted) throw e;
            await reopen(e);
            continue;
          }
          if (chunk.done) {
            if (total !== undefined && received < total) {
              await reopen(new Error(`the connection closed at byte ${received}`));
              continue;
            }
            c.close();
            return;
          }
          if (chunk.value.byteLength === 0) continue;
          received += chunk.value.byteLength;
          failures = 0;
          c.enqueue(chunk.value);
          return;
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

/**
 * A fetch that answers from (and fills) the Cache API under `cacheName`, so files download once:
 * a GET is stored as it streams (its body ends once the copy is stored; a failed download stores
 * nothing), and a HEAD for a stored file is answered from the stored headers. Keys are URLs: pin a
 * commit revision where `main` may move. Without the Cache API (Node) it is `base`.
 */
export function cachingFetch(cacheName: string, base: typeof fetch = globalThis.fetch.bind(globalThis)): typeof fetch {
  return async (input, init) => {
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    if (typeof caches === 'undefined' || (method !== 'GET' && method !== 'HEAD')) return base(input, init);
    const cache = await caches.open(cacheName);
    const key = urlOf(input);
    const hit = await cache.match(key);
    if (hit) {
      if (method === 'GET') return hit;
      await hit.body?.cancel();
      return new Response(null, { status: hit.status, statusText: hit.statusText, headers: hit.headers });
    }
    const res = await base(input, init);
    if (method !== 'GET' || res.status !== 200 || !res.body) return res;
    const [mine, theirs] = res.body.tee();
    const stored = cache.put(key, new Response(mine, { status: res.status, statusText: res.statusText, headers: res.headers })).then(
      () => undefined,
      () => undefined, // nothing stored; the caller sees the download's own error on its branch
    );
    const body = theirs.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ flush: () => stored }));
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

/** The fetch a URL checkpoint loads through: resuming broken downloads, and cached when asked. */
export function checkpointFetch(options: { readonly fetch?: typeof fetch; readonly cacheName?: string | undefined; readonly retries?: number }): typeof fetch {
  const resuming = resumingFetch(options.fetch, options.retries === undefined ? {} : { retries: options.retries });
  return options.cacheName === undefined ? resuming : cachingFetch(options.cacheName, resuming);
}

/** Files picked or dropped by a user (a folder's contents; extra files are ignored). */
export async function checkpointFromFiles(files: Iterable<File>): Promise<CheckpointSource> {
  const byName = new Map<string, File>();
  for (const file of files) byName.set(file.name.split('/').pop() ?? file.name, file);
  const cfg = byName.get('config.json');
  const weights = byName.get(WEIGHTS) ?? [...byName.values()].find((x) => x.name.endsWith('.safetensors'));
  if (!weights) {
    if ([...byName.keys()].some((n) => n.endsWith('.bin') || n.endsWith('.pt') || n.endsWith('.pth'))) throw pickleError('selected files');
    throw new WeightError('selected files', undefined, `no ${WEIGHTS} among: ${[...byName.keys()].join(', ') || 'nothing'}`, 'missing');
  }
  if (!cfg) throw new WeightError('selected files', undefined, 'no config.json among the files', 'missing');
  const parse = async (file: File): Promise<unknown> => {
    try {
      return JSON.parse(await file.text()) as unknown;
    } catch (e) {
      throw new WeightError(file.name, undefined, `not valid JSON: ${e instanceof Error ? e.message : String(e)}`, 'invalid-json');
    }
  };
  const pre = byName.get('preprocessor_config.json');
  const config = await parse(cfg);
  const preprocessor = pre ? await parse(pre) : undefined;
  const extra: Record<string, string> = {};
  for (const name of extraFilesFor(config, preprocessor)) {
    const file = byName.get(name);
    if (file) extra[name] = await file.text();
  }
  return { config, ...(preprocessor === undefined ? {} : { preprocessor }), weights, name: weights.name, ...(Object.keys(extra).length > 0 ? { files: extra } : {}) };
}
