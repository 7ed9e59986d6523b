/**
 * count-nonfinite.wgsl against its plain-TS reference (test/ref/nonfinite.ts) on awkward sizes:
 * one element, a block one past the workgroup size, a partial last block, hundreds of blocks
 * (SwiftShader takes minutes for the 65536 workgroups of a fold test; folding is shared code), NaN / +-Inf among the largest finite floats, subnormals and -0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/ops/index.ts';
import { createHarness, type Harness } from '../gpu/harness.ts';
import { countNonFiniteRef } from '../ref/nonfinite.ts';
import { makeRng, randn } from '../ref/random.ts';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h?.dispose());

const SPECIALS = [NaN, Infinity, -Infinity, 3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -0, 0];

describe('count-nonfinite', () => {
  const seed = 1234;
  const cases: [string, number, number, number][] = [
    // name, n, chunk, offset (elements before x in its buffer)
    ['n=1 chunk=1', 1, 1, 0],
    ['n=257 chunk=256', 257, 256, 0],
    ['n=1000 chunk=300 off=5', 1000, 300, 5],
    ['n=5000 chunk=7 (715 blocks)', 5000, 7, 0],
    ['n=100003 chunk=16384', 100003, 16384, 3],
  ];
  for (const [name, n, chunk, off] of cases) {
    it(name, async () => {
      const rng = makeRng(seed + n);
      const all = randn(rng, n + off);
      // Sprinkle specials: about 1 in 50 elements, and always the first and last of x.
      for (let i = off; i < n + off; i++) if (rng() < 0.02 || i === off || i === n + off - 1) all[i] = SPECIALS[Math.floor(rng() * SPECIALS.length)] as number;
      const x = all.subarray(off);
      const expected = countNonFiniteRef(x, chunk);
      const out = await h.run((g) => {
        const whole = g.input('x', [n + off]);
        return { y: ops.countNonFinite(g, g.view(whole, off, [n]), chunk) };
      }, { x: all });
      const got = out.y as Uint32Array;
      const total = expected.reduce((a, b) => a + b, 0);
      let mismatches = 0;
      got.forEach((v, i) => (mismatches += v === expected[i] ? 0 : 1));
      console.log(`${name} seed=${seed + n}: ${expected.length} blocks, ${total} non-finite, ${mismatches} blocks differ (tolerance: exact)`);
      expect(got.length).toBe(expected.length);
      expect(mismatches).toBe(0);
    });
  }
});
