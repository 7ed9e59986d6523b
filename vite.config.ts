import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// `vite build`              -> dist/maskgpu.js, the ES module library (WGSL inlined as strings)
// `vite build --mode demo`  -> demo-dist/, the static demo page (weights/ served beside it: ./shapes/...)
// `vite --mode demo`        -> dev server for the demo page with the embedded model
// `vite`                    -> dev server for the demo
export default defineConfig(({ mode }) =>
  mode === 'demo'
    ? {
        root: 'demo',
        base: './',
        publicDir: resolve(import.meta.dirname, 'weights'),
        // The model worker (demo/model-worker.ts, `?worker`) imports the library: an ES module worker.
        worker: { format: 'es' },
        build: {
          outDir: resolve(import.meta.dirname, 'demo-dist'),
          emptyOutDir: true,
          sourcemap: true,
        },
      }
    : {
        root: '.',
        server: { open: '/demo/index.html' },
        build: {
          outDir: 'dist',
          emptyOutDir: true,
          lib: {
            entry: { maskgpu: resolve(import.meta.dirname, 'src/index.ts'), node: resolve(import.meta.dirname, 'src/node.ts'), cli: resolve(import.meta.dirname, 'src/cli/main.ts') },
            formats: ['es'],
          },
          target: 'es2022',
          rollupOptions: { external: [/^node:/, 'webgpu', 'pngjs'] },
          minify: false,
          sourcemap: true,
        },
      },
);
