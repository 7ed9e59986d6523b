/** The family registry: model_type picks the family; unknown or contradicting configs are UnsupportedError naming the supported families. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, UnsupportedError, WeightError } from '../../src/errors.ts';
import { FAMILIES, resolveModel, supportedFamilies } from '../../src/models/registry.ts';
import { FIXTURES } from '../fixture-files.ts';

const tiny = JSON.parse(readFileSync(join(FIXTURES, 'mask2former', 'tiny', 'config.json'), 'utf8')) as Record<string, unknown>;

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('family registry', () => {
  it('picks Mask2Former from model_type, and from architectures alone', () => {
    expect(resolveModel(tiny).family).toBe('mask2former');
    const { model_type: _, ...noType } = tiny;
    expect(resolveModel(noType).family).toBe('mask2former');
    expect(resolveModel(tiny).post.family).toBe('mask2former');
  });

  it('lists every family with model_type keys, OneFormer included', () => {
    expect(Object.keys(FAMILIES).sort()).toEqual(['mask2former', 'maskformer', 'oneformer']);
    expect(supportedFamilies()).toContain('mask2former');
  });

  it('refuses an unknown model_type with an UnsupportedError naming the supported families', () => {
    for (const t of ['detr', 'constructor', 'toString']) {
      const e = thrown(() => resolveModel({ ...tiny, model_type: t }, 'x/config.json'));
      expect(e).toBeInstanceOf(UnsupportedError);
      expect(String((e as Error).message)).toContain(`"${t}"`);
      expect(String((e as Error).message)).toContain(supportedFamilies());
      expect(String((e as Error).message)).toContain('x/config.json');
    }
  });

  it('refuses architectures that contradict model_type', () => {
    const e = thrown(() => resolveModel({ ...tiny, architectures: ['MaskFormerForInstanceSegmentation'] }));
    expect(e).toBeInstanceOf(UnsupportedError);
    expect((e as Error).message).toMatch(/MaskFormer class.*contradicts model_type "mask2former"/);
    const e2 = thrown(() => resolveModel({ ...tiny, architectures: ['BertModel'] }));
    expect(e2).toBeInstanceOf(UnsupportedError);
    const e3 = thrown(() => resolveModel({ ...tiny, model_type: undefined, architectures: ['BertModel'] }));
    expect(e3).toBeInstanceOf(UnsupportedError);
  });

  it('resolves OneFormer; a loaded OneFormer checkpoint must bring its tokenizer files', () => {
    const one = JSON.parse(readFileSync(join(FIXTURES, 'oneformer', 'swin-tiny', 'config.json'), 'utf8')) as Record<string, unknown>;
    const spec = resolveModel(one);
    expect(spec.family).toBe('oneformer');
    expect(spec.post.family).toBe('oneformer');
    expect(supportedFamilies()).toContain('oneformer (OneFormer)');
    const e = thrown(() => resolveModel(one, 'config.json', { config: one, weights: new Uint8Array(0), name: 'ckpt' }));
    expect(e).toBeInstanceOf(WeightError);
    expect((e as Error).message).toMatch(/ckpt\/: OneFormer needs the checkpoint's CLIP tokenizer/);
    // Without a task a pass cannot be fed.
    expect(thrown(() => spec.feeds?.({ task: undefined, batch: 1 }))).toBeInstanceOf(ConfigError);
  });

  it('malformed model_type / architectures are ConfigErrors', () => {
    expect(thrown(() => resolveModel({ ...tiny, model_type: 3 }))).toBeInstanceOf(ConfigError);
    expect(thrown(() => resolveModel({ ...tiny, architectures: 'Mask2FormerModel' }))).toBeInstanceOf(ConfigError);
    expect(thrown(() => resolveModel([]))).toBeInstanceOf(ConfigError);
  });
});
