/**
 * Builds the peer benchmark page (bench/peer) into out/peer-bench/. bench/peer.bench.ts links
 * onnxruntime-web's dist, the ONNX exports and the checkpoints beside it and serves the folder.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  publicDir: false,
  logLevel: 'warn',
  build: { outDir: `${repo}out/peer-bench`, emptyOutDir: true, target: 'es2022', minify: false, reportCompressedSize: false },
});
