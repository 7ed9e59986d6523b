/**
 * What a browser does with the JPEG fixtures, for the README's "Images in the browser" note:
 * Chromium's pixels (createImageBitmap, drawn to a canvas) against Pillow's, and EXIF
 * orientation, which Chromium applies where HF (and maskgpu's Node decoder, by default) does not.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../fixture-files.ts';
import { launchChromium, serveStatic, type Chromium, type StaticServer } from './browser.ts';

const PAGE = `<!doctype html><meta charset="utf-8"><script>
window.decode = async (file, options) => {
  const bitmap = await createImageBitmap(await (await fetch(file)).blob(), options);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  g.drawImage(bitmap, 0, 0);
  const px = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
  let bin = '';
  for (let i = 0; i < px.length; i += 8192) bin += String.fromCharCode(...px.subarray(i, i + 8192));
  return { width: bitmap.width, height: bitmap.height, base64: btoa(bin) };
};
</script>`;

interface Case { file: string; pillow_pixels: string; size: [number, number] }
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'jpeg', 'manifest.json'), 'utf8')) as { cases: Case[] };

let chrome: Chromium;
let server: StaticServer;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'maskgpu-jpeg-'));
  cpSync(join(FIXTURES, 'jpeg'), dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), PAGE);
  server = await serveStatic(dir);
  chrome = await launchChromium({ webgpu: false });
});
afterAll(async () => {
  await chrome?.close();
  await server?.close();
});

describe('JPEG in Chromium vs Pillow', () => {
  it('same pixels for every fixture without an orientation tag; the orientation-6 file comes out rotated', async () => {
    const { page } = await chrome.open(`${server.url}index.html`);
    const version = chrome.browser.version();
    for (const c of manifest.cases) {
      const ref = PNG.sync.read(readFileSync(join(FIXTURES, 'jpeg', c.pillow_pixels)));
      for (const options of [{}, { imageOrientation: 'none' }]) {
        const r = await page.evaluate(([f, o]) => (window as unknown as { decode: (f: string, o: object) => Promise<{ width: number; height: number; base64: string }> }).decode(f, o), [c.file, options] as const);
        const got = { width: r.width, height: r.height, data: Buffer.from(r.base64, 'base64') };
        const how = `Chromium ${version} createImageBitmap(${JSON.stringify(options)})`;
        if (c.file.startsWith('exif-orientation-6')) {
          console.log(`${c.file}: ${how} gives ${got.width}x${got.height}; Pillow / HF: ${ref.width}x${ref.height} (stored order)`);
          expect([got.width, got.height]).toEqual([ref.height, ref.width]);
          continue;
        }
        expect([got.width, got.height]).toEqual([ref.width, ref.height]);
        let max = 0;
        for (let i = 0; i < got.width * got.height; i++) for (let k = 0; k < 3; k++) max = Math.max(max, Math.abs((got.data[i * 4 + k] as number) - (ref.data[i * 4 + k] as number)));
        console.log(`${c.file}: ${how}: max |diff| vs Pillow ${max}/255`);
        expect(max).toBe(0);
      }
    }
  });
});
