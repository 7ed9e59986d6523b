import { defineConfig } from 'vitest/config';

// Benchmarks, not tests: `npx vitest run --config bench/vitest.bench.config.ts`. Run as vitest
// files (not `vitest bench`) so that vite resolves the `?raw` WGSL imports; one fork, no
// parallelism (timings), long timeouts for SwiftShader.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 3_600_000,
    hookTimeout: 600_000,
    reporters: ['default'],
  },
});
