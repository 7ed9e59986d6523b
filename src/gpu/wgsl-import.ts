/**
 * WGSL imports: a kernel file takes a shared helper with a line of its own,
 * `// #import common/reduce`, and `defineKernel` replaces that line with the helper's text. No
 * WGSL is assembled in TS: the helper is a plain .wgsl file and the directive names it. Two kinds
 * of helper: utilities (shaders/common/: workgroup reductions) and algorithm bodies written once
 * for the kernels that differ only in an element type (shaders/matmul/body/, shaders/conv/body/:
 * the f32 and f16-weight variants; each kernel declares its bindings and a one-line accessor such
 * as `fn loadB(i: u32) -> f32 { return f32(b[i]); }`, the body calls it).
 * Checked: unknown names, the same helper imported twice, malformed directives, imports inside a
 * helper, helpers that declare what belongs to the kernel (`override`, `struct Params`, bindings,
 * an entry point), and what a helper requires of its importer, one `// #requires` line each:
 * `// #requires override WG` (the kernel declares `override WG: u32`), `// #requires fn loadB` (a
 * function, declared by the kernel or by another helper it imports), `// #requires var b` (a
 * module-scope variable such as a binding or `P`). Since helpers declare no `override`,
 * `struct Params` or bindings, the unit test that compares each kernel's WGSL with its TS
 * declaration reads the resolved text unchanged.
 */
import reduceCode from '../../shaders/common/reduce.wgsl?raw';
import matmulEpilogueCode from '../../shaders/matmul/body/epilogue.wgsl?raw';
import matmulRegisterCode from '../../shaders/matmul/body/register.wgsl?raw';
import matmulTiledCode from '../../shaders/matmul/body/tiled.wgsl?raw';
import matmulVec4Code from '../../shaders/matmul/body/vec4.wgsl?raw';
import convGemmCode from '../../shaders/conv/body/gemm.wgsl?raw';
import { GpuError } from '../errors.ts';

/** The helpers kernels may import, by the name used in the directive (path under shaders/, no extension). */
export const WGSL_MODULES: Readonly<Record<string, string>> = Object.freeze({
  'common/reduce': reduceCode,
  'matmul/body/epilogue': matmulEpilogueCode,
  'matmul/body/register': matmulRegisterCode,
  'matmul/body/tiled': matmulTiledCode,
  'matmul/body/vec4': matmulVec4Code,
  'conv/body/gemm': convGemmCode,
});

/** A directive line: `// #import <name>`, leading whitespace allowed. */
const DIRECTIVE = /^\s*\/\/\s*#\s*import(.*)$/;
const NAME = /^\s+([A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*)\s*$/;
/** A helper's requirement line: `// #requires <override|fn|var> <Name>`. */
const REQUIRES_LINE = /^\s*\/\/\s*#\s*requires\b(.*)$/;
const REQUIREMENT = /^\s+(override|fn|var)\s+([A-Za-z_]\w*)\s*$/;

type RequirementKind = 'override' | 'fn' | 'var';

/** How each kind of requirement is declared (searched at module scope, comments removed). */
const DECLARED: Readonly<Record<RequirementKind, (name: string) => RegExp>> = {
  override: (n) => new RegExp(`^\\s*override\\s+${n}\\s*:`, 'm'),
  fn: (n) => new RegExp(`\\bfn\\s+${n}\\s*\\(`),
  var: (n) => new RegExp(`\\bvar(?:\\s*<[^>]*>)?\\s+${n}\\s*:`),
};
const SPELLED: Readonly<Record<RequirementKind, (name: string) => string>> = {
  override: (n) => `'override ${n}: u32'`,
  fn: (n) => `'fn ${n}(...)' (itself or in another helper it imports)`,
  var: (n) => `the module-scope variable '${n}' (a binding, or 'var<uniform> ${n}')`,
};

/** What belongs to the kernel, never to a helper (one kernel = one interface, one entry point). */
const KERNEL_ONLY: readonly (readonly [RegExp, string])[] = [
  [/^\s*override\s/m, "an 'override'"],
  [/\bstruct\s+Params\b/, "'struct Params'"],
  [/@binding\s*\(/, 'a binding'],
  [/@(?:compute|vertex|fragment)\b/, 'an entry point'],
];

const stripComments = (code: string): string => code.replace(/\/\/.*$/gm, '');

/** Module scope only: comments removed, and everything inside braces (function and struct bodies). */
function moduleScope(code: string): string {
  let depth = 0;
  let out = '';
  for (const ch of stripComments(code)) {
    if (ch === '{') depth++;
    else if (ch === '}') depth = Math.max(0, depth - 1);
    else if (depth === 0) out += ch;
  }
  return out;
}

/**
 * `code` with every `// #import <name>` line replaced by the helper's text (between begin / end
 * marker comments, so compiler messages can be traced to the helper). Throws a GpuError naming the
 * kernel, the line and the problem. Note: compiler line numbers count the pasted lines.
 */
export function resolveImports(kernel: string, code: string, modules: Readonly<Record<string, string>> = WGSL_MODULES): string {
  const lines = code.split('\n');
  const imports: { line: number; name: string; text: string; where: string }[] = [];
  lines.forEach((line, i) => {
    const m = DIRECTIVE.exec(line);
    if (!m) return;
    const where = `kernel ${kernel}, line ${i + 1}`;
    const name = NAME.exec(m[1] ?? '')?.[1];
    if (name === undefined) throw new GpuError(where, `malformed import directive '${line.trim()}' (expected '// #import <name>', e.g. '// #import common/reduce')`);
    const text = Object.hasOwn(modules, name) ? modules[name] : undefined;
    if (text === undefined) throw new GpuError(where, `unknown WGSL import '${name}' (known: ${Object.keys(modules).sort().join(', ')})`);
    if (imports.some((x) => x.name === name)) throw new GpuError(where, `WGSL import '${name}' appears twice`);
    if (text.split('\n').some((l) => DIRECTIVE.test(l))) throw new GpuError(where, `WGSL helper '${name}' imports another helper; helpers must be self-contained`);
    const body = stripComments(text);
    for (const [re, what] of KERNEL_ONLY) {
      if (re.test(body)) throw new GpuError(where, `WGSL helper '${name}' declares ${what}; that belongs to the importing kernel`);
    }
    imports.push({ line: i, name, text, where });
  });
  if (imports.length === 0) return code;

  const kernelCode = moduleScope(lines.filter((l) => !DIRECTIVE.test(l)).join('\n'));
  for (const { name, text, where } of imports) {
    // What the importer offers this helper: the kernel's own code and the other helpers it imports.
    const offered = [kernelCode, ...imports.filter((x) => x.name !== name).map((x) => moduleScope(x.text))].join('\n');
    for (const l of text.split('\n')) {
      const r = REQUIRES_LINE.exec(l);
      if (!r) continue;
      const req = REQUIREMENT.exec(r[1] ?? '');
      if (!req) throw new GpuError(where, `WGSL helper '${name}' has a malformed requirement '${l.trim()}' (expected '// #requires override|fn|var <name>')`);
      const kind = req[1] as RequirementKind;
      const what = req[2] as string;
      const source = kind === 'override' ? kernelCode : offered;
      if (!DECLARED[kind](what).test(source)) throw new GpuError(where, `WGSL helper '${name}' requires the kernel to declare ${SPELLED[kind](what)}`);
    }
  }
  const byLine = new Map(imports.map((x) => [x.line, x]));
  return lines
    .map((line, i) => {
      const x = byLine.get(i);
      return x ? `// ---- begin ${x.name} (shaders/${x.name}.wgsl) ----\n${x.text.trimEnd()}\n// ---- end ${x.name} ----` : line;
    })
    .join('\n');
}
