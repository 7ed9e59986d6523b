/**
 * The WGSL import resolver (src/gpu/wgsl-import.ts), the kernels that import the shared reduction,
 * and the f32 / f16-weight kernel pairs that import one algorithm body.
 */
import { describe, expect, it } from 'vitest';
import { resolveImports, WGSL_MODULES } from '../../src/gpu/wgsl-import.ts';
import { GpuError } from '../../src/errors.ts';
import { kernels } from '../../src/ops/index.ts';
import groupNormSource from '../../shaders/norm/group-norm.wgsl?raw';
import matmulSource from '../../shaders/matmul/matmul.wgsl?raw';
import matmulF16Source from '../../shaders/matmul/matmul-f16.wgsl?raw';
import tiledSource from '../../shaders/matmul/matmul-tiled.wgsl?raw';
import tiledF16Source from '../../shaders/matmul/matmul-tiled-f16.wgsl?raw';
import vec4Source from '../../shaders/matmul/matmul-vec4.wgsl?raw';
import vec4F16Source from '../../shaders/matmul/matmul-vec4-f16.wgsl?raw';
import gemmSource from '../../shaders/conv/conv2d-gemm.wgsl?raw';
import gemmF16Source from '../../shaders/conv/conv2d-gemm-f16.wgsl?raw';

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
  it('#requires fn / var: declared by the kernel or by another helper it imports, at module scope, not in a comment', () => {
    const body = '// #requires var P\n// #requires var b\n// #requires fn loadB\n// #requires fn store\nfn run() { store(loadB(0u) + f32(P.n)); }\n';
    const store = 'fn store(v: f32) { out[0] = v; }\n';
    const mods = { 'k/body': body, 'k/store': store };
    const decl = 'struct Params { n: u32 }\n@group(0) @binding(0) var<uniform> P: Params;\n@group(0) @binding(1) var<storage, read> b: array<f32>;\n@group(0) @binding(2) var<storage, read_write> out: array<f32>;\n';
    const accessor = 'fn loadB(i: u32) -> f32 { return b[i]; }\n';
    const main = '@compute @workgroup_size(1)\nfn main() { run(); }\n';
    const ok = resolveImports('k', `${decl}${accessor}// #import k/store\n// #import k/body\n${main}`, mods);
    expect(ok).toContain('fn run()');
    expect(ok).toContain('fn store(');
    // The accessor missing, or only in a comment, or the function from the other helper missing.
    expect(thrown(() => resolveImports('k', `${decl}// #import k/store\n// #import k/body\n${main}`, mods)).message).toMatch(/kernel k, line 6: WGSL helper 'k\/body' requires the kernel to declare 'fn loadB\(\.\.\.\)'/);
    expect(thrown(() => resolveImports('k', `${decl}// fn loadB(i: u32) -> f32\n// #import k/store\n// #import k/body\n${main}`, mods)).message).toMatch(/'fn loadB/);
    expect(thrown(() => resolveImports('k', `${decl}${accessor}// #import k/body\n${main}`, mods)).message).toMatch(/requires the kernel to declare 'fn store\(\.\.\.\)' \(itself or in another helper it imports\)/);
    // A binding missing; a function-local variable of that name does not count.
    const noB = decl.replace(/^.*var<storage, read> b.*\n/m, '');
    const localB = `${noB}fn loadB(i: u32) -> f32 { var b: f32 = 1.0; return b; }\n// #import k/store\n// #import k/body\n${main}`;
    expect(thrown(() => resolveImports('k', localB, mods)).message).toMatch(/requires the kernel to declare the module-scope variable 'b'/);
    // Malformed requirement lines in a helper.
    for (const bad of ['// #requires loadB', '// #requires function loadB', '// #requires fn', '// #requires fn loadB(']) {
      expect(thrown(() => resolveImports('k', `${decl}${accessor}// #import h\n${main}`, { h: `${bad}\n` })).message).toMatch(/helper 'h' has a malformed requirement/);
    }
  });
  it('helpers declare no override, struct Params, binding or entry point (those are the kernel\'s); comments may name them', () => {
    const k = kernel('// #import h');
    for (const [bad, what] of [
      ['override TM: u32;', "an 'override'"],
      ['struct Params { n: u32 }', "'struct Params'"],
      ['@group(0) @binding(1) var<storage, read> b: array<f32>;', 'a binding'],
      ['@compute @workgroup_size(1) fn other() {}', 'an entry point'],
    ] as const) {
      expect(thrown(() => resolveImports('k', k, { h: `${bad}\n` })).message).toMatch(new RegExp(`helper 'h' declares ${what.replace(/[()']/g, '.')}; that belongs to the importing kernel`));
    }
    expect(resolveImports('k', k, { h: '// The kernel declares `override WG: u32`, struct Params and @binding(1).\nfn h() {}\n' })).toContain('fn h()');
  });
  it('each f32 / f16-weight kernel pair imports one body and differs only in enable f16, the weight binding and its accessors', () => {
    const pairs = [
      ['matmul', matmulSource, matmulF16Source, 'matmul/body/register', 'matmulRegister'],
      ['matmul-tiled', tiledSource, tiledF16Source, 'matmul/body/tiled', 'matmulTiled'],
      ['matmul-vec4', vec4Source, vec4F16Source, 'matmul/body/vec4', 'matmulVec4'],
      ['conv2d-gemm', gemmSource, gemmF16Source, 'conv/body/gemm', 'conv2dGemm'],
    ] as const;
    // Code lines (comments and blank lines dropped) of the f32 file that the f16 file lacks, and back.
    const code = (src: string): string[] => src.split('\n').map((l) => l.replace(/\/\/(?!\s*#).*$/, '').trimEnd()).filter((l) => l.length > 0);
    for (const [name, f32, f16, body, fn] of pairs) {
      for (const src of [f32, f16]) {
        expect(src, name).toContain(`// #import ${body}`);
        expect(src, name).not.toContain(`fn ${fn}(`);
        // The entry point only calls the body.
        expect(src.slice(src.indexOf('fn main(')), name).toMatch(new RegExp(`^fn main\\(.*\\) \\{\\n  ${fn}\\(lid, wg, nwg\\);\\n\\}\\n$`));
      }
      const a = code(f32);
      const b = code(f16);
      const onlyF32 = a.filter((l) => !b.includes(l));
      const onlyF16 = b.filter((l) => !a.includes(l));
      expect(onlyF16.every((l) => l === 'enable f16;' || /@binding\(2\).*array<(?:f16|vec4<f16>)>;$|^fn load[BW]4?\(/.test(l)), `${name}: ${onlyF16.join(' | ')}`).toBe(true);
      expect(onlyF32.length, `${name}: ${onlyF32.join(' | ')}`).toBe(onlyF16.length - 1);
      expect(onlyF32.every((l) => /@binding\(2\)|^fn load[BW]4?\(/.test(l)), `${name}: ${onlyF32.join(' | ')}`).toBe(true);
      // The resolved kernels carry the body once.
      for (const k of kernels.filter((x) => x.name === name || x.name === `${name}-f16`)) {
        expect(k.code.split(`fn ${fn}(`).length, k.name).toBe(2);
      }
    }
    expect(kernels.filter((k) => k.code.includes('// ---- begin matmul/body/epilogue')).map((k) => k.name).sort()).toEqual(
      ['matmul', 'matmul-f16', 'matmul-linear-vec4', 'matmul-tiled', 'matmul-tiled-f16', 'matmul-vec4', 'matmul-vec4-f16'],
    );
  });
});
