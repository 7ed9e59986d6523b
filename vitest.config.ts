import { defineConfig } from 'vitest/config';

// Node tests: unit (pure TS), gpu (Dawn + SwiftShader), parity (fixtures), robustness (limits, misuse, device loss). Dawn is a native
// addon: run files in forked processes, one at a time per fork, with long timeouts because
// SwiftShader compiles and runs shaders on the CPU.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/gpu/**/*.test.ts', 'test/parity/**/*.test.ts', 'test/robustness/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
