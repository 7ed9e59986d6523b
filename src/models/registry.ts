/**
 * The family registry: config.json's `model_type` picks the family (MaskFormer, Mask2Former,
 * OneFormer). An unknown `model_type`, or `architectures` that belong to another family, is an
 * UnsupportedError naming the supported families.
 */
import { asObject, isUnset, show } from '../config/validate.ts';
import { ConfigError, UnsupportedError } from '../errors.ts';
import type { FamilyId, ModelFamily, ModelSpec } from './family.ts';
import type { CheckpointSource } from '../checkpoint.ts';
import { MASK2FORMER } from './mask2former/model.ts';
import { ONEFORMER } from './oneformer/model.ts';
import { MASKFORMER } from './maskformer/model.ts';

/** Every family maskgpu knows, by config.json `model_type`. */
export const FAMILIES: Readonly<Record<FamilyId, ModelFamily>> = {
  mask2former: MASK2FORMER,
  maskformer: MASKFORMER,
  oneformer: ONEFORMER,
};

/** The families that can be loaded today, for messages: 'mask2former (Mask2Former), ...'. */
export function supportedFamilies(): string {
  return Object.values(FAMILIES)
    .filter((f) => f.parse !== undefined)
    .map((f) => `${f.id} (${f.displayName})`)
    .join(', ');
}

function familyOfArchitecture(arch: string): ModelFamily | undefined {
  return Object.values(FAMILIES).find((f) => f.architectures.includes(arch));
}

/**
 * The family of a config.json and its parsed config. `model_type` decides; without it, the
 * `architectures` entry does.
 *
 * @throws UnsupportedError unknown / not implemented model_type, or architectures of another family or model
 * @throws ConfigError      a malformed model_type / architectures, or any error of the family's parser
 */
export function resolveModel(json: unknown, file = 'config.json', source?: CheckpointSource): ModelSpec {
  const obj = asObject(json, { file, path: '' }, '(root)');
  const rawType = obj['model_type'];
  const rawArch = obj['architectures'];
  let archs: string[] = [];
  if (!isUnset(rawArch)) {
    if (!Array.isArray(rawArch) || !rawArch.every((a): a is string => typeof a === 'string')) {
      throw new ConfigError(file, 'architectures', `expected a list of class names, got ${show(rawArch)}`);
    }
    archs = rawArch;
  }
  let family: ModelFamily | undefined;
  if (!isUnset(rawType)) {
    if (typeof rawType !== 'string') throw new ConfigError(file, 'model_type', `expected a string, got ${show(rawType)}`);
    family = Object.hasOwn(FAMILIES, rawType) ? (FAMILIES as Readonly<Record<string, ModelFamily>>)[rawType] : undefined;
    if (!family) throw new UnsupportedError(`${file}: model_type ${show(rawType)} is not a supported model family; supported: ${supportedFamilies()}`);
  } else {
    const guesses = new Set(archs.map(familyOfArchitecture));
    const [only] = guesses;
    if (guesses.size !== 1 || !only) {
      throw new UnsupportedError(`${file}: no model_type, and architectures ${show(rawArch)} name no single supported family; supported: ${supportedFamilies()}`);
    }
    family = only;
  }
  for (const arch of archs) {
    if (family.architectures.includes(arch)) continue;
    const other = familyOfArchitecture(arch);
    throw new UnsupportedError(
      `${file}: architectures lists ${show(arch)}${other ? ` (a ${other.displayName} class)` : ''}, which contradicts model_type ${show(family.id)} ` +
        `(expected one of ${family.architectures.join(', ')}); supported: ${supportedFamilies()}`,
    );
  }
  if (!family.parse) throw new UnsupportedError(`${file}: ${family.displayName} (model_type "${family.id}") is not supported yet; supported: ${supportedFamilies()}`);
  return family.parse(json, file, source);
}
