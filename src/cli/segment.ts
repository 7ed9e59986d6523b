/**
 * `maskgpu segment`: one model, many images. The model is loaded once and its compiled
 * pipelines serve every image; each image is decoded (Pillow's pixels), segmented and its
 * outputs written atomically; a bad image is reported and skipped; COCO files for the batch
 * are written at the end. Returns the exit code: 0 all ok, 2 some images failed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CocoCategory, CocoInstance, CocoSegmentInfo } from '../coco.ts';
import { DeviceLostError, MaskgpuError } from '../errors.ts';
import { requestNodeGpu } from '../gpu/node.ts';
import { JpegDecoder, readImage } from '../image-io/index.ts';
import { Segmenter, type SegmentationResult } from '../segmenter.ts';
import { outputNames, type SegmentArgs } from './args.ts';
import { checkpointFromDir, ensureWritableDir, writeFileAtomic, writePng } from './node-io.ts';
import { fmtSeconds, jsonLine, printable, Progress, type Sinks } from './progress.ts';

/** The embedded default model: weights/shapes beside dist/ (package) or beside src/ (repository). */
export function defaultModel(): string {
  const built = fileURLToPath(new URL(/* @vite-ignore */ '../weights/shapes/', import.meta.url));
  return existsSync(join(built, 'config.json')) ? built : fileURLToPath(new URL(/* @vite-ignore */ '../../weights/shapes/', import.meta.url));
}

const fmtMs = (ms: number): string => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`);

interface PanopticBatch {
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: { image_id: number; file_name: string; segments_info: CocoSegmentInfo[] }[];
  categories: CocoCategory[];
}

/** Per-image output files written for one result; returns their paths. */
async function writeOutputs(dir: string, name: string, file: string, r: SegmentationResult, args: SegmentArgs, labels: Readonly<Record<number, string>>): Promise<string[]> {
  const paths = [join(dir, `${name}-overlay.png`), join(dir, `${name}-labels.png`), join(dir, `${name}-segments.json`)];
  writeFileAtomic(paths[0] as string, writePng(await r.overlay({ opacity: args.opacity })));
  writeFileAtomic(paths[1] as string, writePng(await r.labelImage()));
  const json = { image: file, task: r.task, width: r.width, height: r.height, background: r.background, labels, segments: r.segments, timings: r.timings };
  writeFileAtomic(paths[2] as string, `${jsonLine(json)}\n`);
  return paths;
}

export async function runSegment(args: SegmentArgs, sinks: Sinks): Promise<number> {
  const modelPath = args.model ?? defaultModel();
  // Everything that can be checked without the GPU is checked first.
  if (args.outDir !== undefined) ensureWritableDir(args.outDir);
  const source = /^https?:\/\//.test(modelPath) ? modelPath : await checkpointFromDir(modelPath);
  const jpeg = JpegDecoder.load();
  const names = outputNames(args.images);
  const say = (text: string): void => {
    if (!args.json) sinks.out(text);
  };

  const gpu = await requestNodeGpu({ precision: args.precision });
  try {
    const t0 = sinks.now();
    const segmenter = await Segmenter.load(source, { gpu, profile: process.env.MASKGPU_PROFILE === '1' });
    try {
      const labels = segmenter.labels;
      say(`adapter: ${printable(gpu.adapterName)}`);
      say(`model: ${printable(modelPath)} (${segmenter.model.weights.count} tensors, ${(segmenter.model.weights.bytes / 2 ** 20).toFixed(1)} MiB), loaded in ${fmtMs(sinks.now() - t0)}`);
      const progress = new Progress(sinks, args.images.length);
      const panoptic: PanopticBatch = { images: [], annotations: [], categories: [] };
      const instances: CocoInstance[] = [];
      const failed: { image: string; error: string }[] = [];
      const written: string[] = [];
      progress.start();
      for (const [i, file] of args.images.entries()) {
        const name = names[i] as string;
        progress.begin(file);
        const ti = sinks.now();
        try {
          const image = readImage(file, { maxPixels: args.maxPixels, exifOrientation: args.exifOrientation, jpeg });
          const r = await segmenter.segment(image, {
            task: args.task, threshold: args.threshold, mask_threshold: args.maskThreshold, overlap_mask_area_threshold: args.overlap,
            ...(args.fuse ? { label_ids_to_fuse: args.fuse } : {}),
          });
          const outputs: string[] = [];
          if (args.outDir !== undefined) {
            outputs.push(...(await writeOutputs(args.outDir, name, file, r, args, labels)));
            const coco = await r.toCOCO({ imageId: i + 1, fileName: `${name}.png`, ...(args.fuse ? { stuffIds: args.fuse } : {}) });
            if (coco.kind === 'panoptic') {
              const png = join(args.outDir, 'panoptic', coco.annotation.file_name);
              writeFileAtomic(png, writePng(coco.png));
              outputs.push(png);
              panoptic.images.push({ ...coco.image, file_name: file });
              panoptic.annotations.push(coco.annotation);
              panoptic.categories = coco.categories;
            } else {
              instances.push(...coco.annotations);
              panoptic.images.push({ ...coco.image, file_name: file });
              panoptic.categories = coco.categories;
            }
            written.push(...outputs);
          }
          const seconds = (sinks.now() - ti) / 1000;
          if (args.json) {
            sinks.out(jsonLine({ type: 'image', index: i + 1, image: file, ok: true, task: r.task, width: r.width, height: r.height, segments: r.segments, timings: r.timings, outputs, pipelines: gpu.pipelines.size }));
          } else {
            progress.line(`[${i + 1}/${args.images.length}] ${printable(file)} (${image.width}x${image.height}): ${r.segments.length} segment(s), ${fmtSeconds(seconds)}`);
            if (args.images.length === 1) {
              for (const s of r.segments) {
                progress.line(`  id ${String(s.id).padStart(3)}  ${printable(s.label).padEnd(16)} ${Number.isNaN(s.score) ? '     ' : s.score.toFixed(3)}  area ${s.area}${s.wasFused ? ' (fused)' : ''}`);
              }
              progress.line(`  timings: ${Object.entries(r.timings).map(([k, v]) => `${k} ${fmtMs(v)}`).join(', ')}`);
            }
          }
        } catch (e) {
          if (e instanceof DeviceLostError || !(e instanceof MaskgpuError)) throw e;
          const msg = `${e.name}: ${e.message.split('\n')[0]}`;
          failed.push({ image: file, error: msg });
          if (args.json) sinks.out(jsonLine({ type: 'image', index: i + 1, image: file, ok: false, error: { name: e.name, message: e.message } }));
          else progress.warn(`[${i + 1}/${args.images.length}] skipped: ${printable(msg)}`);
        }
        progress.end();
      }
      const elapsed = progress.elapsed();
      progress.finish();
      if (args.outDir !== undefined && panoptic.images.length > 0) {
        if (args.task === 'instance') {
          const path = join(args.outDir, 'instances.json');
          writeFileAtomic(path, `${jsonLine(instances)}\n`);
          writeFileAtomic(join(args.outDir, 'images.json'), `${jsonLine({ images: panoptic.images, categories: panoptic.categories })}\n`);
          written.push(path, join(args.outDir, 'images.json'));
        } else {
          const path = join(args.outDir, 'panoptic.json');
          writeFileAtomic(path, `${jsonLine(panoptic)}\n`);
          written.push(path);
        }
      }
      const ok = args.images.length - failed.length;
      const rate = elapsed > 0 ? ok / elapsed : 0;
      if (args.json) {
        sinks.out(jsonLine({ type: 'summary', images: args.images.length, ok, failed: failed.length, failures: failed, seconds: elapsed, imagesPerSecond: rate, model: modelPath, adapter: gpu.adapterName, pipelines: gpu.pipelines.size, outDir: args.outDir ?? null }));
      } else {
        sinks.out(`${args.images.length} image(s): ${ok} segmented, ${failed.length} failed, ${fmtSeconds(elapsed)} (${rate.toFixed(2)} img/s), ${gpu.pipelines.size} compute pipelines compiled once and reused`);
        for (const f of failed) sinks.out(`  failed: ${printable(f.error)}`);
        if (args.outDir !== undefined) sinks.out(`wrote ${written.length} file(s) under ${printable(args.outDir)}`);
      }
      return failed.length > 0 ? 2 : 0;
    } finally {
      segmenter.dispose();
    }
  } finally {
    gpu.dispose();
  }
}
