/**
 * Narrowing helpers for config JSON (`unknown` in, typed values out).
 *
 * Every failure throws `ConfigError(file, key, detail)` with the dotted key path
 * (`backbone_config.window_size`) and a detail of the form `expected X, got Y`.
 */

import { ConfigError, UnsupportedError } from '../errors.ts';

/** A JSON object (after `JSON.parse`): string keys, unknown values. */
export type JsonObject = { readonly [key: string]: unknown };

/** Where a value sits: the file, and the dotted path of the object being read ('' = top level). */
export interface Where {
  readonly file: string;
  readonly path: string;
}

/** Dotted key for `key` inside `where` (`backbone_config` + `depths` -> `backbone_config.depths`). */
export function keyOf(where: Where, key: string): string {
  return where.path === '' ? key : `${where.path}.${key}`;
}

/** The object at `key` as a new `Where` (for nested reads). */
export function child(where: Where, key: string): Where {
  return { file: where.file, path: keyOf(where, key) };
}

/** Short printable form of a JSON value for error messages. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing (key missing)';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function configError(where: Where, key: string, expected: string, got: unknown): ConfigError {
  return new ConfigError(where.file, keyOf(where, key), `expected ${expected}, got ${show(got)}`);
}

/** UnsupportedError with the same `file: key: detail` shape as ConfigError. */
export function unsupported(where: Where, key: string, detail: string): UnsupportedError {
  return new UnsupportedError(`${where.file}: ${keyOf(where, key)}: ${detail}`);
}

/** `json` must be a JSON object (the top level of a config file). */
export function asObject(json: unknown, where: Where, key: string): JsonObject {
  if (!isObject(json)) throw configError(where, key, 'a JSON object', json);
  return json;
}

/** `null` and a missing key both mean "not set" (HF writes `None` as `null`). */
export function isUnset(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

function intWhat(min: number): string {
  if (min === 1) return 'a positive integer';
  if (min === 0) return 'a non-negative integer';
  return min <= Number.MIN_SAFE_INTEGER ? 'an integer' : `an integer >= ${min}`;
}

function readInt(value: unknown, where: Where, key: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw configError(where, key, intWhat(min), value);
  }
  return value;
}

/** An integer >= `min` at `obj[key]`; `fallback` when unset (undefined fallback = required). */
export function intAt(obj: JsonObject, key: string, where: Where, fallback: number | undefined, min = 1): number {
  const value = obj[key];
  if (isUnset(value)) {
    if (fallback === undefined) throw configError(where, key, intWhat(min), value);
    return fallback;
  }
  return readInt(value, where, key, min);
}

/** An optional integer >= `min`: `undefined` when unset. */
export function optIntAt(obj: JsonObject, key: string, where: Where, min: number): number | undefined {
  const value = obj[key];
  return isUnset(value) ? undefined : readInt(value, where, key, min);
}

/** A finite number > 0 (or >= 0 with `allowZero`) at `obj[key]`, `fallback` when unset. */
export function positiveNumberAt(
  obj: JsonObject,
  key: string,
  where: Where,
  fallback: number | undefined,
  allowZero = false,
): number {
  const value = obj[key];
  if (isUnset(value)) {
    if (fallback === undefined) throw configError(where, key, 'a positive number', value);
    return fallback;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (value === 0 && !allowZero)) {
    throw configError(where, key, allowZero ? 'a non-negative number' : 'a positive number', value);
  }
  return value;
}

/** A boolean at `obj[key]`, `fallback` when unset. */
export function boolAt(obj: JsonObject, key: string, where: Where, fallback: boolean): boolean {
  const value = obj[key];
  if (isUnset(value)) return fallback;
  if (typeof value !== 'boolean') throw configError(where, key, 'true or false', value);
  return value;
}

/** A string at `obj[key]`, `fallback` when unset. */
export function stringAt(obj: JsonObject, key: string, where: Where, fallback: string): string {
  const value = obj[key];
  if (isUnset(value)) return fallback;
  if (typeof value !== 'string') throw configError(where, key, 'a string', value);
  return value;
}

/** An optional string: `undefined` when unset. */
export function optStringAt(obj: JsonObject, key: string, where: Where): string | undefined {
  const value = obj[key];
  if (isUnset(value)) return undefined;
  if (typeof value !== 'string') throw configError(where, key, 'a string', value);
  return value;
}

/** An array of integers >= `min`, optionally of fixed `length`; `fallback` when unset. */
export function intListAt(
  obj: JsonObject,
  key: string,
  where: Where,
  fallback: readonly number[] | undefined,
  opts: { readonly min?: number; readonly length?: number } = {},
): readonly number[] {
  const value = obj[key];
  const min = opts.min ?? 1;
  const what = `${opts.length === undefined ? 'a list' : `a list of ${opts.length}`} ${
    min === 1 ? 'positive' : min === 0 ? 'non-negative' : `>= ${min}`
  } integers`;
  if (isUnset(value)) {
    if (fallback === undefined) throw configError(where, key, what, value);
    return [...fallback];
  }
  if (!Array.isArray(value) || (opts.length !== undefined && value.length !== opts.length)) {
    throw configError(where, key, what, value);
  }
  const out: number[] = [];
  for (const item of value as readonly unknown[]) {
    if (typeof item !== 'number' || !Number.isSafeInteger(item) || item < min) throw configError(where, key, what, value);
    out.push(item);
  }
  return out;
}

/** Deep `Object.freeze` for plain data (objects and arrays). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
