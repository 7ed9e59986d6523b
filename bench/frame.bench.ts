/**
 * The per-frame path in Node (Dawn): one Segmenter on the tiny fixture checkpoint, `FRAMES`
 * (default 12) panoptic segment() + overlay() calls on image0.png (120x90) after a warm-up:
 * median and min wall time of segment(), of overlay(), and of the pair. Uses only the public
 * API, so the same file measures any version of the engine.
 */
import { it } from 'vitest';
import { join } from 'node:path';
import { requestNodeGpu } from '../src/gpu/node.ts';
import { Segmenter } from '../src/segmenter.ts';
import { checkpointFromDir, readImage } from '../src/cli/node-io.ts';

it('per-frame segment() + overlay()', async () => {
  const gpu = await requestNodeGpu();
  const dir = join(process.cwd(), 'test', 'fixtures', 'mask2former', 'tiny');
  const seg = await Segmenter.load(await checkpointFromDir(dir), { gpu });
  const img = readImage(join(dir, 'image0.png'));
  for (let i = 0; i < 2; i++) await (await seg.segment(img)).overlay();
  const frames = Number(process.env.FRAMES ?? 12);
  const s: number[] = [];
  const o: number[] = [];
  for (let i = 0; i < frames; i++) {
    const t0 = performance.now();
    const r = await seg.segment(img);
    const t1 = performance.now();
    await r.overlay();
    s.push(t1 - t0);
    o.push(performance.now() - t1);
  }
  const stat = (a: number[]): string => {
    const b = [...a].sort((x, y) => x - y);
    return `median ${(b[Math.floor(b.length / 2)] as number).toFixed(1)} ms, min ${(b[0] as number).toFixed(1)} ms`;
  };
  console.log(`adapter: ${gpu.adapterName}; ${frames} frames, tiny fixture 120x90 panoptic`);
  console.log(`segment(): ${stat(s)}; overlay(): ${stat(o)}; both: ${stat(s.map((x, i) => x + (o[i] as number)))}`);
  seg.dispose();
  gpu.dispose();
});
