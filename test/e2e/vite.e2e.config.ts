/**
 * Builds the browser kernel page (test/e2e/kernels) into out/e2e-kernels/: a static site with
 * the WGSL inlined (`?raw`) and the CPU references bundled. Used by test/e2e/kernels.test.ts
 * through `buildPage()`; also `npx vite build --config test/e2e/vite.e2e.config.ts`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root: `${here}kernels`,
  base: './',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: `${repo}out/e2e-kernels`,
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    sourcemap: true,
    reportCompressedSize: false,
  },
});
