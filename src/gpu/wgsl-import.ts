/**
 * WGSL imports: a kernel file takes a shared helper (shaders/common/) with a line of its own,
 * `// #import common/reduce`, and `defineKernel` replaces that line with the helper's text. No
 * WGSL is assembled in TS: the helper is a plain .wgsl file and the directive names it. Checked:
 * unknown names, the same helper imported twice, malformed directives, imports inside a helper,
 * and what a helper requires of its importer (`// #requires override WG`: the kernel declares
 * `override WG`). Helpers declare no `override`, `struct Params` or bindings, so the unit test
 * that compares each kernel's WGSL with its TS declaration reads the resolved text unchanged.
 */
import reduceCode from '../../shaders/common/reduce.wgsl?raw';
import { GpuError } from '../errors.ts';

/** The helpers kernels may import, by the name used in the directive (path under shaders/, no extension). */
export const WGSL_MODULES: Readonly<Record<string, string>> = Object.freeze({
  'common/reduce': reduceCode,
});

/** A directive line: `// #import <name>`, leading whitespace allowed. */
const DIRECTIVE = /^\s*\/\/\s*#\s*import(.*)$/;
const NAME = /^\s+([A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*)\s*$/;
/** A helper's requirement: `// #requires override <Name>`. */
const REQUIRES = String.raw`^\s*\/\/\s*#\s*requires\s+override\s+(\w+)\s*$`;

/**
 * `code` with every `// #import <name>` line replaced by the helper's text (between begin / end
 * marker comments, so compiler messages can be traced to the helper). Throws a GpuError naming the
 * kernel, the line and the problem. Note: compiler line numbers count the pasted lines.
 */
export function resolveImports(kernel: string, code: string, modules: Readonly<Record<string, string>> = WGSL_MODULES): string {
  const seen = new Set<string>();
  const lines = code.split('\n');
  const out = lines.map((line, i) => {
    const m = DIRECTIVE.exec(line);
    if (!m) return line;
    const where = `kernel ${kernel}, line ${i + 1}`;
    const name = NAME.exec(m[1] ?? '')?.[1];
    if (name === undefined) throw new GpuError(where, `malformed import directive '${line.trim()}' (expected '// #import <name>', e.g. '// #import common/reduce')`);
    const text = Object.hasOwn(modules, name) ? modules[name] : undefined;
    if (text === undefined) throw new GpuError(where, `unknown WGSL import '${name}' (known: ${Object.keys(modules).sort().join(', ')})`);
    if (seen.has(name)) throw new GpuError(where, `WGSL import '${name}' appears twice`);
    seen.add(name);
    if (text.split('\n').some((l) => DIRECTIVE.test(l))) throw new GpuError(where, `WGSL helper '${name}' imports another helper; helpers must be self-contained`);
    for (const req of text.matchAll(new RegExp(REQUIRES, 'gm'))) {
      const o = req[1] as string;
      if (!new RegExp(`^override\\s+${o}\\s*:`, 'm').test(code)) {
        throw new GpuError(where, `WGSL helper '${name}' requires the kernel to declare 'override ${o}: u32'`);
      }
    }
    return `// ---- begin ${name} (shaders/${name}.wgsl) ----\n${text.trimEnd()}\n// ---- end ${name} ----`;
  });
  return out.join('\n');
}
