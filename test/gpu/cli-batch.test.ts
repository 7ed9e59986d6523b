/**
 * `maskgpu segment` on a batch (Dawn + SwiftShader, the tiny fixture checkpoint, small images):
 * one model load for all images with the compute pipelines compiled once (their count does not
 * grow after the first image), a bad image reported and skipped with exit code 2, the progress
 * bar on a terminal, JSON lines, per-image outputs, and COCO files that agree with the segments
 * (panoptic PNG ids / areas, instance RLE masks / areas).
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { Sinks } from '../../src/cli/progress.ts';
import { rleFromString } from '../../src/coco.ts';
import { FIXTURES } from '../fixture-files.ts';

const MODEL = join(FIXTURES, 'mask2former', 'tiny');

function capture(tty: boolean): Sinks & { stdout: string[]; stderr: string } {
  const s = { stdout: [] as string[], stderr: '', tty, now: () => performance.now(), out: (l: string) => void s.stdout.push(l), err: (t: string) => void (s.stderr += t) };
  return s;
}

interface ImageLine { type: 'image'; index: number; image: string; ok: boolean; error?: { name: string; message: string }; segments?: { id: number; labelId: number; label: string; area: number }[]; outputs?: string[]; pipelines?: number; width?: number; height?: number }

describe('maskgpu segment, batch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'maskgpu-batch-'));
  const images = join(dir, 'in');
  const out = join(dir, 'out');

  it('panoptic: 2 good images + 1 broken, --json on a terminal: exit 2, outputs and panoptic.json agree', async () => {
    // Sizes differ (120x90 PNG, 101x67 JPEG): one model, pipelines shared by shape-free caching.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(images, { recursive: true });
    copyFileSync(join(MODEL, 'image0.png'), join(images, 'a.png'));
    copyFileSync(join(FIXTURES, 'jpeg', 'odd-size-101x67.jpg'), join(images, 'b.jpg'));
    writeFileSync(join(images, 'c.jpg'), 'not a jpeg');
    const s = capture(true);
    const t0 = performance.now();
    const rc = await main(['segment', '--model', MODEL, '--images', images, '--out-dir', out, '--json'], s);
    console.log(`batch of 3 in ${((performance.now() - t0) / 1000).toFixed(1)} s, exit ${rc}`);
    console.log(s.stdout.join('\n'));
    expect(rc).toBe(2);
    const lines = s.stdout.map((l) => JSON.parse(l) as ImageLine | { type: 'summary'; images: number; ok: number; failed: number; pipelines: number; imagesPerSecond: number });
    expect(lines.map((l) => l.type)).toEqual(['image', 'image', 'image', 'summary']);
    const [a, b, c, summary] = lines as [ImageLine, ImageLine, ImageLine, { images: number; ok: number; failed: number; pipelines: number }];
    expect([a.ok, b.ok, c.ok]).toEqual([true, true, false]);
    expect(c.error?.name).toBe('ImageError');
    expect(c.error?.message).toContain('c.jpg: not a PNG or JPEG file');
    expect([summary.images, summary.ok, summary.failed]).toEqual([3, 2, 1]);
    // Pipelines compiled for the first image serve the second (another size) and the summary.
    console.log(`compute pipelines after image 1: ${a.pipelines}, after image 2: ${b.pipelines}, at the end: ${summary.pipelines}`);
    expect(b.pipelines).toBe(a.pipelines);
    expect(summary.pipelines).toBe(a.pipelines);
    // The progress bar went to stderr (terminal), with rate and ETA.
    expect(s.stderr).toMatch(/\[=+>? *\] 2\/3 {2}[\d.]+ img\/s {2}ETA (\d+h)?(\d+m)?[\d.]+s {2}c\.jpg/);
    expect(s.stderr).toContain('\r\u001b[2K');

    for (const [line, name, size] of [[a, 'a', [120, 90]], [b, 'b', [101, 67]]] as const) {
      expect([line.width, line.height]).toEqual(size);
      for (const f of [`${name}-overlay.png`, `${name}-labels.png`, `${name}-segments.json`, `panoptic/${name}.png`]) expect(existsSync(join(out, f)), f).toBe(true);
    }
    const pan = JSON.parse(readFileSync(join(out, 'panoptic.json'), 'utf8')) as {
      images: { id: number; file_name: string; width: number; height: number }[];
      annotations: { image_id: number; file_name: string; segments_info: { id: number; category_id: number; area: number; bbox: number[] }[] }[];
      categories: { id: number; name: string }[];
    };
    expect(pan.images.map((i) => [i.id, i.width, i.height])).toEqual([[1, 120, 90], [2, 101, 67]]);
    expect(pan.categories.map((c) => c.name)).toEqual(['class_0', 'class_1', 'class_2', 'class_3', 'class_4']);
    for (const [k, line] of [a, b].entries()) {
      const ann = pan.annotations[k] as (typeof pan.annotations)[number];
      const png = PNG.sync.read(readFileSync(join(out, 'panoptic', ann.file_name)));
      const area = new Map<number, number>();
      for (let p = 0; p < png.width * png.height; p++) {
        const id = (png.data[p * 4] as number) + 256 * (png.data[p * 4 + 1] as number) + 65536 * (png.data[p * 4 + 2] as number);
        area.set(id, (area.get(id) ?? 0) + 1);
      }
      const segs = (line.segments ?? []).filter((sg) => sg.area > 0);
      console.log(`${line.image}: ${segs.length} segments; panoptic PNG ids ${[...area.keys()].sort().join(',')}`);
      expect(ann.segments_info.map((i) => [i.id, i.category_id, i.area])).toEqual(segs.map((sg) => [sg.id, sg.labelId, sg.area]));
      for (const i of ann.segments_info) expect(area.get(i.id)).toBe(i.area);
      const covered = ann.segments_info.reduce((n, i) => n + i.area, 0);
      expect(area.get(0) ?? 0).toBe(png.width * png.height - covered);
    }
  });

  it('instance, plain lines (not a terminal): instances.json RLE masks decode to the segment areas', async () => {
    const s = capture(false);
    const rc = await main(['segment', '--model', MODEL, '--image', join(images, 'a.png'), '--task', 'instance', '--threshold', '0', '--out-dir', join(dir, 'inst')], s);
    console.log(s.stdout.join('\n'));
    expect(rc).toBe(0);
    expect(s.stderr).toBe('');
    expect(s.stdout.some((l) => /^\[1\/1\] .*a\.png \(120x90\): \d+ segment\(s\)/.test(l))).toBe(true);
    expect(s.stdout.some((l) => /^1 image\(s\): 1 segmented, 0 failed, .* img\/s\), \d+ compute pipelines compiled once and reused$/.test(l))).toBe(true);
    const segs = (JSON.parse(readFileSync(join(dir, 'inst', 'a-segments.json'), 'utf8')) as { segments: { labelId: number; area: number; score: number }[] }).segments.filter((sg) => sg.area > 0);
    const inst = JSON.parse(readFileSync(join(dir, 'inst', 'instances.json'), 'utf8')) as { image_id: number; category_id: number; score: number; area: number; segmentation: { size: [number, number]; counts: string } }[];
    expect(inst.length).toBe(segs.length);
    expect(inst.length).toBeGreaterThan(0);
    inst.forEach((r, k) => {
      const counts = rleFromString(r.segmentation.counts);
      const ones = counts.reduce((n, c, i) => (i % 2 ? n + c : n), 0);
      expect(r.segmentation.size).toEqual([90, 120]);
      expect(counts.reduce((n, c) => n + c, 0)).toBe(90 * 120);
      expect([r.image_id, r.category_id, r.score, ones, r.area]).toEqual([1, segs[k]?.labelId, segs[k]?.score, segs[k]?.area, segs[k]?.area]);
    });
    console.log(`instance: ${inst.length} RLE masks, areas equal the segments'`);
  });
});
