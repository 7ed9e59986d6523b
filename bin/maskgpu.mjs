#!/usr/bin/env node
// The maskgpu CLI; the code is the Vite-built dist/cli.js (WGSL kernels inlined).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error(`maskgpu: ${fileURLToPath(cli)} is missing: build the CLI with \`npm run build:lib\` in ${fileURLToPath(new URL('..', import.meta.url))}`);
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
