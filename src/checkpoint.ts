/**
 * Hugging Face checkpoint folders as they are on the hub: config.json, preprocessor_config.json,
 * model.safetensors. From a folder URL (the hub's `https://huggingface.co/<repo>/resolve/<rev>/`
 * layout included), from File objects (picker / drag and drop), or from buffers.
 */
import { WeightError } from './errors.ts';
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

async function fetchText(url: string, f: typeof fetch, signal: AbortSignal | undefined): Promise<string | undefined> {
  const res = await f(url, signal ? { signal } : {});
  if (res.status === 404) {
    await res.arrayBuffer();
    return undefined;
  }
  if (!res.ok) throw new WeightError(url, undefined, `HTTP ${res.status} ${res.statusText}`, 'http');
  return res.text();
}

async function fetchJson(url: string, f: typeof fetch, signal: AbortSignal | undefined, optional: boolean): Promise<unknown> {
  const res = await f(url, signal ? { signal } : {});
  if (!res.ok) {
    if (optional && res.status === 404) return undefined;
    throw new WeightError(url, undefined, `HTTP ${res.status} ${res.statusText}`, 'http');
  }
  try {
    return (await res.json()) as unknown;
  } catch (e) {
    throw new WeightError(url, undefined, `not valid JSON: ${e instanceof Error ? e.message : String(e)}`, 'invalid-json');
  }
}

/** A folder URL ending in '/' (hub: https://huggingface.co/<repo>/resolve/main/). Weights stream later. */
export async function checkpointFromUrl(folder: string, o: FetchOptions = {}): Promise<CheckpointSource> {
  const base = folder.endsWith('/') ? folder : `${folder}/`;
  const f = o.fetch ?? globalThis.fetch.bind(globalThis);
  const config = await fetchJson(`${base}config.json`, f, o.signal, false);
  const preprocessor = await fetchJson(`${base}preprocessor_config.json`, f, o.signal, true);
  // HEAD bodies are read (empty) so browsers do not log the probes as aborted requests.
  const head = await f(`${base}${WEIGHTS}`, { method: 'HEAD', ...(o.signal ? { signal: o.signal } : {}) });
  await head.arrayBuffer();
  if (head.status === 404) {
    const bin = await f(`${base}pytorch_model.bin`, { method: 'HEAD', ...(o.signal ? { signal: o.signal } : {}) });
    await bin.arrayBuffer();
    if (bin.ok) throw pickleError(base);
    throw new WeightError(`${base}${WEIGHTS}`, undefined, 'not found (HTTP 404)', 'http');
  }
  const files: Record<string, string> = {};
  for (const name of extraFilesFor(config, preprocessor)) {
    // tokenizer.json makes the slow-tokenizer files unnecessary.
    if ((name === 'vocab.json' || name === 'merges.txt') && files['tokenizer.json'] !== undefined) continue;
    const text = await fetchText(`${base}${name}`, f, o.signal);
    if (text !== undefined) files[name] = text;
  }
  return { config, ...(preprocessor === undefined ? {} : { preprocessor }), weights: `${base}${WEIGHTS}`, name: base, ...(Object.keys(files).length > 0 ? { files } : {}) };
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
