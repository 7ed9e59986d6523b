/** The WGSL import resolver (src/gpu/wgsl-import.ts) and the kernels that import the shared reduction. */
import { describe, expect, it } from 'vitest';
import { resolveImports, WGSL_MODULES } from '../../src/gpu/wgsl-import.ts';
import { GpuError } from '../../src/errors.ts';
import { kernels } from '../../src/ops/index.ts';
import groupNormSource from '../../shaders/norm/group-norm.wgsl?raw';

const HELPER = '// #requires override WG\nvar<workgroup> scratch: array<f32, WG>;\nfn helper() -> f32 { return scratch[0]; }\n';
const modules = { 'common/h': HELPER, 'common/other': 'fn other() {}\n' };
const kernel = (body: string): string => `override WG: u32;\n${body}\n@compute @workgroup_size(WG)\nfn main() {}\n`;

function thrown(fn: () => unknown): GpuError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GpuError) return e;
    throw e;
  }
  throw new Error('expected a GpuError');
}

describe('resolveImports', () => {
  it('replaces the directive line with the helper text between markers, leaves the rest alone', () => {
    const src = kernel('// #import common/h');
    const out = resolveImports('k', src, modules);
    expect(out).toBe(src.replace('// #import common/h', `// ---- begin common/h (shaders/common/h.wgsl) ----\n${HELPER.trimEnd()}\n// ---- end common/h ----`));
    // Two different helpers, indented directive.
    const two = resolveImports('k', kernel('  // #import common/h\n//#import common/other'), modules);
    expect(two).toContain('fn helper()');
    expect(two).toContain('fn other()');
    // Code without directives is returned as it is.
    expect(resolveImports('k', kernel(''), modules)).toBe(kernel(''));
  });
  it('unknown name, double import, malformed directive, nested import, missing override: GpuError naming kernel and line', () => {
    const unknown = thrown(() => resolveImports('my-kernel', kernel('// #import common/nope'), modules));
    expect(unknown.message).toMatch(/kernel my-kernel, line 2: unknown WGSL import 'common\/nope' \(known: common\/h, common\/other\)/);
    expect(thrown(() => resolveImports('k', kernel('// #import common/h\n// #import common/h'), modules)).message).toMatch(/line 3: WGSL import 'common\/h' appears twice/);
    for (const bad of ['// #import', '// #import common/h extra', '// #imports common/h', '// #import "common/h"', '// #import common/h;']) {
      expect(thrown(() => resolveImports('k', kernel(bad), modules)).message).toMatch(/malformed import directive/);
    }
    expect(thrown(() => resolveImports('k', kernel('// #import a'), { a: '// #import b\n', b: '' })).message).toMatch(/helper 'a' imports another helper/);
    expect(thrown(() => resolveImports('k', '// #import common/h\nfn main() {}\n', modules)).message).toMatch(/requires the kernel to declare 'override WG: u32'/);
    // Names are looked up as own keys only.
    expect(thrown(() => resolveImports('k', kernel('// #import constructor'), modules)).message).toMatch(/unknown WGSL import 'constructor'/);
  });
  it('the shipped reduction helper: no Params, bindings, overrides or directives of its own', () => {
    const reduce = WGSL_MODULES['common/reduce'] as string;
    expect(reduce).toMatch(/fn workgroupSum\(/);
    expect(reduce).not.toMatch(/struct Params|@binding|^override/m);
    expect(reduce.split('\n').some((l) => /^\s*\/\/\s*#\s*import/.test(l))).toBe(false);
  });
  it('kernels that import common/reduce carry it once, resolved (no directive left in any kernel)', () => {
    const importing = kernels.filter((k) => k.code.includes('// ---- begin common/reduce')).map((k) => k.name).sort();
    expect(importing).toEqual(['attention', 'count-nonfinite', 'group-norm', 'layer-norm', 'plane-stats', 'softmax']);
    for (const k of kernels) {
      expect(k.code.split('\n').some((l) => /^\s*\/\/\s*#\s*import/.test(l))).toBe(false);
      expect(k.code.split('fn workgroupSum(').length).toBeLessThanOrEqual(2);
    }
    // The source file keeps the directive; the kernel carries the helper in its place.
    expect(groupNormSource).toContain('// #import common/reduce');
    expect(groupNormSource).not.toContain('fn workgroupSum(');
  });
});
