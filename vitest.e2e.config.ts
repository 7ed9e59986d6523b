import { defineConfig } from 'vitest/config';

// Browser tests: `npx vitest run --config vitest.e2e.config.ts`. Each file builds a page with
// Vite and drives Debian's Chromium (playwright-core); WebGPU there runs on SwiftShader, which
// compiles shaders on the CPU: long timeouts, one file at a time.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 600_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
