/**
 * Builds the library test page (test/e2e/library: Segmenter on the page and in a Web Worker) into
 * out/e2e-library/. Used by test/e2e/library.test.ts through `buildPage()`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root: `${here}library`,
  base: './',
  publicDir: false,
  logLevel: 'warn',
  worker: { format: 'es' },
  build: {
    outDir: `${repo}out/e2e-library`,
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    sourcemap: true,
    reportCompressedSize: false,
  },
});
