/**
 * OneFormer task_inputs from the checkpoint's CLIP tokenizer vs HF's OneFormerProcessor
 * (test/fixtures/oneformer/swin-tiny, tiny 564-token vocabulary) and the real 49,408-token CLIP
 * vocabulary (test/fixtures/tokenizers/clip). Ids must be identical.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClipTokenizer, ONEFORMER_TASKS, taskPrompt } from '../../src/models/oneformer/tokenizer.ts';
import { WeightError } from '../../src/errors.ts';
import { FIXTURES, readJson, readTensors } from '../fixture-files.ts';
import { checkpointFromDir } from '../../src/cli/node-io.ts';
import { checkpointFromUrl } from '../../src/checkpoint.ts';
import { existsSync } from 'node:fs';

const CASE = join(FIXTURES, 'oneformer', 'swin-tiny');
const CLIP = join(FIXTURES, 'tokenizers', 'clip');

function fromDir(dir: string, withConfig = true): ClipTokenizer {
  return ClipTokenizer.fromFiles({
    vocab: readJson(join(dir, 'vocab.json')),
    merges: readFileSync(join(dir, 'merges.txt'), 'utf8'),
    ...(withConfig ? { tokenizerConfig: readJson(join(dir, 'tokenizer_config.json')) } : {}),
    name: dir,
  });
}

/** The real 49,408-token vocabulary takes seconds to load on a busy CPU: once per file. */
let clipTok: ClipTokenizer | undefined;
const clip = (): ClipTokenizer => (clipTok ??= fromDir(CLIP, false));

describe('OneFormer task_inputs (CLIP BPE)', () => {
  it('fixture task_inputs identical for all three tasks', async () => {
    const ref = await readTensors(join(CASE, 'expected.safetensors'));
    const tok = fromDir(CASE);
    for (const task of ONEFORMER_TASKS) {
      const want = ref.get(`${task}.task_inputs`);
      if (!want || !(want.data instanceof BigInt64Array)) throw new Error(`${task}.task_inputs missing`);
      expect(want.shape).toEqual([1, 77]);
      const got = tok.taskInputs(task, 77);
      const wantIds = [...want.data].map(Number);
      console.log(`${task}: ${JSON.stringify(wantIds.filter((x) => x !== 0))}`);
      expect([...got]).toEqual(wantIds);
    }
  });

  it('multi-token words of the tiny vocabulary', () => {
    const tok = fromDir(CASE);
    // "instance" splits into 5 tokens under this vocabulary's merge ranks (fixture README).
    expect(tok.encode(taskPrompt('instance'))).toEqual([562, 513, 516, 517, 526, 514, 77, 66, 324, 563]);
    // Upper case, tabs/newlines and repeated spaces are cleaned as HF does.
    expect(tok.encode('  The\tTASK \n is   Semantic ')).toEqual(tok.encode('the task is semantic'));
  });

  it('real CLIP vocabulary', () => {
    const tok = clip();
    expect(tok.bosId).toBe(49406);
    expect(tok.eosId).toBe(49407);
    expect(tok.encode('a photo of a cat')).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    // Punctuation is its own pre-token; contractions split as in CLIP's pattern.
    expect(tok.encode('A photo, of a CAT.')).toEqual([49406, 320, 1125, 267, 539, 320, 2368, 269, 49407]);
    for (const task of ONEFORMER_TASKS) {
      const row = tok.taskInputs(task, 77);
      const ids = [...row].filter((x) => x !== 0);
      console.log(`real CLIP ${task}: ${JSON.stringify(ids)}`);
      expect(ids[0]).toBe(49406);
      expect(ids[ids.length - 1]).toBe(49407);
      expect(row.length).toBe(77);
      expect(row.slice(ids.length).every((x) => x === 0)).toBe(true);
    }
  });

  it('truncation keeps SOT and EOT; padding is 0', () => {
    const tok = clip();
    const long = Array.from({ length: 100 }, () => 'cat').join(' ');
    const row = tok.textInputs(long, 77);
    expect(row[0]).toBe(49406);
    expect(row[76]).toBe(49407);
    expect(row[1]).toBe(2368);
    const short = tok.textInputs('a cat', 5);
    expect([...short]).toEqual([49406, 320, 2368, 49407, 0]);
  });

  it('missing or broken tokenizer files are WeightErrors naming the file', () => {
    expect(() => ClipTokenizer.fromFiles({ vocab: {}, name: 'ckpt' })).toThrow(WeightError);
    expect(() => ClipTokenizer.fromFiles({ vocab: {}, name: 'ckpt' })).toThrow(/merges\.txt missing/);
    expect(() => ClipTokenizer.fromFiles({ vocab: { a: 0 }, merges: '', name: 'ckpt' })).toThrow(/<\|startoftext\|>/);
    expect(() => ClipTokenizer.fromFiles({ vocab: { a: 'x' }, merges: '', name: 'ckpt' })).toThrow(/vocab\.json \[a\]/);
    expect(() => ClipTokenizer.fromFiles({ vocab: { a: 0 }, merges: '#version: 0.2\na b c', name: 'ckpt' })).toThrow(/merges\.txt \[line 2\]/);
  });

  it('tokenizer.json is used when present', () => {
    // Build the same tokenizer through the tokenizer.json path: an explicit fast-format file.
    const vocab = readJson(join(CASE, 'vocab.json')) as Record<string, number>;
    const merges = readFileSync(join(CASE, 'merges.txt'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const json = {
      added_tokens: [
        { id: 562, content: '<|startoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
        { id: 563, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
      ],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }] },
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" }, behavior: 'Removed', invert: true },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      },
      post_processor: { type: 'RobertaProcessing', sep: ['<|endoftext|>', 563], cls: ['<|startoftext|>', 562], trim_offsets: false, add_prefix_space: false },
      decoder: { type: 'ByteLevel' },
      model: { type: 'BPE', unk_token: '<|endoftext|>', continuing_subword_prefix: '', end_of_word_suffix: '</w>', fuse_unk: false, vocab, merges },
    };
    const tok = ClipTokenizer.fromFiles({ tokenizerJson: json, name: 'json' });
    expect(tok.encode(taskPrompt('instance'))).toEqual([562, 513, 516, 517, 526, 514, 77, 66, 324, 563]);
    // Without a post-processor SOT/EOT are not added: refused, not silently wrong.
    const bare = ClipTokenizer.fromFiles({ tokenizerJson: { ...json, post_processor: null }, name: 'json' });
    expect(() => bare.encode('the task is semantic')).toThrow(WeightError);
  });

  it('checkpoint folders carry the tokenizer and class_info files for OneFormer only', async () => {
    const ckpt = await checkpointFromDir(CASE);
    expect(Object.keys(ckpt.files ?? {}).sort()).toEqual(['class_info.json', 'merges.txt', 'tokenizer_config.json', 'vocab.json']);
    const tok = ClipTokenizer.fromCheckpoint(ckpt.files, ckpt.name);
    expect([...tok.taskInputs('panoptic', 77)].filter((x) => x !== 0)).toEqual([562, 513, 516, 517, 538, 563]);
    const m2f = await checkpointFromDir(join(FIXTURES, 'mask2former', 'tiny'));
    expect(m2f.files).toBeUndefined();
    expect(() => ClipTokenizer.fromCheckpoint(undefined, 'ckpt')).toThrow(/vocab\.json and merges\.txt missing/);
    expect(() => ClipTokenizer.fromCheckpoint({ 'vocab.json': '{', 'merges.txt': '' }, 'ckpt')).toThrow(/ckpt\/vocab\.json: not valid JSON/);
  });

  it('folder URLs fetch the tokenizer and class_info files for OneFormer (404s are absent files)', async () => {
    const asked: string[] = [];
    const fake = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input);
      asked.push(`${init?.method ?? 'GET'} ${url.replace('https://host/ckpt/', '')}`);
      const path = join(CASE, url.replace('https://host/ckpt/', ''));
      if (!existsSync(path)) return new Response('not found', { status: 404 });
      return new Response(init?.method === 'HEAD' ? null : readFileSync(path), { status: 200 });
    }) as typeof fetch;
    const ckpt = await checkpointFromUrl('https://host/ckpt/', { fetch: fake });
    expect(Object.keys(ckpt.files ?? {}).sort()).toEqual(['class_info.json', 'merges.txt', 'tokenizer_config.json', 'vocab.json']);
    expect(asked).toContain('GET tokenizer.json');
    const tok = ClipTokenizer.fromCheckpoint(ckpt.files, ckpt.name);
    expect([...tok.taskInputs('semantic', 77)].filter((x) => x !== 0)).toEqual([562, 513, 516, 517, 524, 563]);
  });
});
