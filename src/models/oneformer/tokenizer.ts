/**
 * OneFormer's task prompt: `OneFormerProcessor` tokenises `"the task is <task>"` with the checkpoint's
 * CLIP tokenizer and feeds the ids, as float values, to `task_encoder`.
 *
 * Tokenisation is done by `@huggingface/tokenizers` (tokenizers.js). A checkpoint's `tokenizer.json`
 * is used as it is; a checkpoint with only the slow tokenizer files (`vocab.json` + `merges.txt`,
 * as OneFormer hub checkpoints have) gets the tokenizer.json that HF's `CLIPConverter` would build
 * from them: NFC, `\s+` -> `" "`, lower-case; CLIP's split pattern then byte-level; BPE with `</w>`
 * word ends; `<|startoftext|>` ... `<|endoftext|>` around the ids.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { ConfigError, WeightError } from '../../errors.ts';
import { isObject } from '../../config/validate.ts';

/** The three prompts one OneFormer checkpoint serves. */
export type OneFormerTask = 'semantic' | 'instance' | 'panoptic';
export const ONEFORMER_TASKS: readonly OneFormerTask[] = ['semantic', 'instance', 'panoptic'];

/** The text `OneFormerProcessor` tokenises for a task. */
export function taskPrompt(task: OneFormerTask): string {
  return `the task is ${task}`;
}

/** Tokenizer files of a checkpoint folder, as parsed JSON / text; `tokenizerJson` wins when present. */
export interface TokenizerFiles {
  /** `vocab.json`: token -> id. */
  readonly vocab?: unknown;
  /** `merges.txt` text (`#version` header allowed). */
  readonly merges?: string;
  /** `tokenizer.json` (fast tokenizer), used as it is. */
  readonly tokenizerJson?: unknown;
  /** `tokenizer_config.json` (bos/eos/unk token names). */
  readonly tokenizerConfig?: unknown;
  /** For messages (the folder or URL). */
  readonly name: string;
}

const SOT = '<|startoftext|>';
const EOT = '<|endoftext|>';
/** HF's CLIPConverter split pattern (Oniguruma syntax; tokenizers.js translates it). */
const CLIP_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";
/** Largest id that a float32 holds exactly (ids are fed to the model as floats). */
const MAX_EXACT_F32_INT = 2 ** 24;

function tokenName(config: unknown, key: string, fallback: string): string {
  if (!isObject(config)) return fallback;
  const v = config[key];
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v['content'] === 'string') return v['content'];
  return fallback;
}

function parseMerges(text: string, file: string): string[] {
  const out: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '' || (i === 0 && line.startsWith('#version'))) continue;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new WeightError(file, `line ${i + 1}`, `expected two symbols separated by one space, got ${JSON.stringify(line.slice(0, 60))}`, 'invalid-merges');
    }
    out.push(line);
  }
  return out;
}

function parseVocab(vocab: unknown, file: string): Record<string, number> {
  if (!isObject(vocab)) throw new WeightError(file, undefined, 'expected a JSON object token -> id', 'invalid-vocab');
  const out: Record<string, number> = {};
  for (const [token, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new WeightError(file, token, `expected a non-negative integer id, got ${JSON.stringify(id)}`, 'invalid-vocab');
    }
    out[token] = id;
  }
  return out;
}

/** The tokenizer.json HF's `CLIPConverter` builds from a slow CLIP tokenizer's files. */
function clipTokenizerJson(vocab: Record<string, number>, merges: string[], names: { bos: string; eos: string; unk: string }, where: string): object {
  const idOf = (t: string): number => {
    const id = vocab[t];
    if (id === undefined) throw new WeightError(`${where}vocab.json`, t, 'special token missing from the vocabulary (CLIP needs <|startoftext|> and <|endoftext|>)', 'missing');
    return id;
  };
  const special = (t: string) => ({ id: idOf(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
  const specials = [...new Set([names.bos, names.eos, names.unk])];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map(special),
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_PATTERN }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [names.eos, idOf(names.eos)],
      cls: [names.bos, idOf(names.bos)],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: names.unk,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** A checkpoint's CLIP tokenizer, reduced to what OneFormer's processor needs. */
export class ClipTokenizer {
  private constructor(
    private readonly tok: Tokenizer,
    readonly bosId: number,
    readonly eosId: number,
    readonly name: string,
  ) {}

  /** From a checkpoint folder's tokenizer files; a `WeightError` names the missing or broken file. */
  static fromFiles(files: TokenizerFiles): ClipTokenizer {
    const where = files.name === '' || files.name.endsWith('/') ? files.name : `${files.name}/`;
    const names = {
      bos: tokenName(files.tokenizerConfig, 'bos_token', SOT),
      eos: tokenName(files.tokenizerConfig, 'eos_token', EOT),
      unk: tokenName(files.tokenizerConfig, 'unk_token', EOT),
    };
    let json: object;
    if (files.tokenizerJson === undefined) {
      if (files.vocab === undefined || files.merges === undefined) {
        const missing = [files.vocab === undefined ? 'vocab.json' : '', files.merges === undefined ? 'merges.txt' : ''].filter(Boolean).join(' and ');
        throw new WeightError(where, undefined, `OneFormer needs the checkpoint's CLIP tokenizer for its task prompt: no tokenizer.json, and ${missing} missing`, 'missing');
      }
      json = clipTokenizerJson(parseVocab(files.vocab, `${where}vocab.json`), parseMerges(files.merges, `${where}merges.txt`), names, where);
    } else if (isObject(files.tokenizerJson)) {
      json = files.tokenizerJson;
    } else {
      throw new WeightError(`${where}tokenizer.json`, undefined, 'expected a JSON object', 'invalid-json');
    }
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(json, isObject(files.tokenizerConfig) ? files.tokenizerConfig : {});
    } catch (e) {
      throw new WeightError(`${where}${files.tokenizerJson === undefined ? 'vocab.json/merges.txt' : 'tokenizer.json'}`, undefined, `tokenizer not usable: ${e instanceof Error ? e.message : String(e)}`, 'invalid-tokenizer');
    }
    const bosId = tok.token_to_id(names.bos);
    const eosId = tok.token_to_id(names.eos);
    if (bosId === undefined || eosId === undefined) {
      throw new WeightError(where, bosId === undefined ? names.bos : names.eos, 'special token missing from the tokenizer vocabulary', 'missing');
    }
    for (const id of [bosId, eosId]) {
      if (id >= MAX_EXACT_F32_INT) throw new WeightError(where, undefined, `token id ${id} is not exact as a float32 (task_inputs are fed as floats)`, 'invalid-vocab');
    }
    return new ClipTokenizer(tok, bosId, eosId, where);
  }

  /** From a checkpoint's extra files (`CheckpointSource.files`: text by file name). */
  static fromCheckpoint(files: Readonly<Record<string, string>> | undefined, name: string): ClipTokenizer {
    const where = name === '' || name.endsWith('/') ? name : `${name}/`;
    const json = (file: string): unknown => {
      const text = files?.[file];
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch (e) {
        throw new WeightError(`${where}${file}`, undefined, `not valid JSON: ${e instanceof Error ? e.message : String(e)}`, 'invalid-json');
      }
    };
    const tokenizerJson = json('tokenizer.json');
    const vocab = json('vocab.json');
    const tokenizerConfig = json('tokenizer_config.json');
    const merges = files?.['merges.txt'];
    return ClipTokenizer.fromFiles({
      name,
      ...(tokenizerJson === undefined ? {} : { tokenizerJson }),
      ...(vocab === undefined ? {} : { vocab }),
      ...(merges === undefined ? {} : { merges }),
      ...(tokenizerConfig === undefined ? {} : { tokenizerConfig }),
    });
  }

  /** `[SOT, ids..., EOT]`, as HF's CLIPTokenizer with special tokens. */
  encode(text: string): number[] {
    const ids = this.tok.encode(text, { add_special_tokens: true }).ids;
    // A tokenizer.json without a post-processor would skip SOT/EOT: refuse rather than feed wrong ids.
    if (ids[0] !== this.bosId || ids[ids.length - 1] !== this.eosId) {
      throw new WeightError(this.name, undefined, `tokenizer did not add ${SOT}/${EOT} around ${JSON.stringify(text)}`, 'invalid-tokenizer');
    }
    return ids;
  }

  /**
   * OneFormer's `task_inputs` row: tokenised with `padding="max_length", truncation=True`, then
   * multiplied by the attention mask, so padding is 0 and the real end token keeps its id.
   * Longer prompts are cut as HF cuts them (words dropped, SOT/EOT kept). Float32, ids exact.
   */
  taskInputs(task: OneFormerTask, seqLen: number): Float32Array {
    return this.textInputs(taskPrompt(task), seqLen);
  }

  textInputs(text: string, seqLen: number): Float32Array {
    if (!Number.isInteger(seqLen) || seqLen < 2) throw new ConfigError('config.json', 'task_seq_len', `expected an integer >= 2, got ${seqLen}`);
    let ids = this.encode(text);
    if (ids.length > seqLen) ids = [...ids.slice(0, seqLen - 1), this.eosId];
    const out = new Float32Array(seqLen);
    out.set(ids);
    for (const id of ids) {
      if (id >= MAX_EXACT_F32_INT) throw new WeightError(this.name, undefined, `token id ${id} is not exact as a float32 (task_inputs are fed as floats)`, 'invalid-vocab');
    }
    return out;
  }
}
