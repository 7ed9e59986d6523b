/**
 * `maskgpu segment` arguments: parsed and checked completely before a GPU is requested or a
 * model loaded, so a typo costs nothing. Pure (no file system) apart from listing --images.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { MaskgpuError } from '../errors.ts';
import { DEFAULT_MAX_PIXELS } from '../image-io/limits.ts';
import type { Task } from '../post/segment.ts';

export class UsageError extends MaskgpuError {
  override name = 'UsageError';
}

export const SEGMENT_USAGE = `usage: maskgpu segment (--image FILE [FILE ...] | --images DIR) [--out-dir DIR] [options]

  Segments each image with one loaded model (compiled GPU pipelines reused across images).
  PNG and JPEG; JPEG pixels equal Pillow's (what Hugging Face's processors see).

  --model DIR|URL         checkpoint folder or hub URL (default: the embedded shapes model)
  --image FILE [FILE ...] images (files after --image, or positional arguments)
  --images DIR            every .png / .jpg / .jpeg file in DIR (sorted, not recursive)
  --out-dir DIR           write per image NAME-overlay.png, NAME-labels.png, NAME-segments.json,
                          and COCO files for the batch: panoptic.json + panoptic/NAME.png
                          (panoptic, semantic) or instances.json (instance, RLE masks)
  --task T                panoptic (default), instance or semantic
  --threshold X           class score threshold, 0..1 (default 0.5)
  --mask-threshold X      mask probability threshold, 0..1 (default 0.5)
  --overlap X             overlap_mask_area_threshold, 0..1 (default 0.8)
  --fuse A,B              panoptic: label ids whose segments are fused (label_ids_to_fuse)
  --opacity X             overlay opacity, 0..1 (default 0.55)
  --max-pixels N          refuse images over N pixels, read from the header (default ${DEFAULT_MAX_PIXELS})
  --exif-orientation M    ignore (default: pixels as stored, as HF) or apply (as viewers show)
  --precision P           auto (default: linear weights f16 where the adapter has shader-f16)
                          or f32 (every weight f32: HF-exact results)
  --json                  JSON lines on stdout: one object per image, then a summary
  -h, --help              this text

  A bad image is reported and skipped. Exit code: 0 all images segmented, 2 some failed,
  1 usage or fatal error.`;

export interface SegmentArgs {
  readonly model: string | undefined;
  readonly images: readonly string[];
  readonly outDir: string | undefined;
  readonly task: Task;
  readonly threshold: number;
  readonly maskThreshold: number;
  readonly overlap: number;
  readonly fuse: readonly number[] | undefined;
  readonly opacity: number;
  readonly maxPixels: number;
  readonly exifOrientation: 'ignore' | 'apply';
  readonly precision: 'auto' | 'f32';
  readonly json: boolean;
  readonly help: boolean;
}

/** `--precision auto|f32` (the device's weight precision, see GpuOptions.precision). */
export function parsePrecision(v: string | undefined): 'auto' | 'f32' {
  const p = v ?? 'auto';
  if (p !== 'auto' && p !== 'f32') throw new UsageError(`--precision must be auto or f32, got '${p}'`);
  return p;
}

function unit(v: string | undefined, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got '${v}'`);
  if (n < 0 || n > 1) throw new UsageError(`--${flag} must be between 0 and 1, got ${v}`);
  return n;
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

/** Image files of a folder, sorted by name. */
export function listImages(dir: string): string[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new UsageError(`--images ${dir}: not a directory`);
    names = readdirSync(dir);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--images ${dir}: ${(e as { code?: string }).code === 'ENOENT' ? 'no such directory' : e instanceof Error ? e.message : String(e)}`);
  }
  const isFile = (p: string): boolean => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  const files = names.filter((n) => IMAGE_EXT.has(extname(n).toLowerCase())).sort().map((n) => join(dir, n)).filter(isFile);
  if (files.length === 0) throw new UsageError(`--images ${dir}: no .png, .jpg or .jpeg files`);
  return files;
}

export function parseSegmentArgs(args: readonly string[]): SegmentArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        model: { type: 'string' }, image: { type: 'string', multiple: true }, images: { type: 'string' }, 'out-dir': { type: 'string' },
        task: { type: 'string' }, threshold: { type: 'string' }, 'mask-threshold': { type: 'string' }, overlap: { type: 'string' },
        fuse: { type: 'string' }, opacity: { type: 'string' }, 'max-pixels': { type: 'string' }, 'exif-orientation': { type: 'string' },
        precision: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    // node:util's messages name the flag ("Unknown option '--x'. To specify a positional ..."):
    // keep its first sentence, on one line ("Option '--fuse' argument is ambiguous ... use '--fuse=-XYZ'").
    const m = e instanceof Error ? e.message : String(e);
    throw new UsageError(m.includes('ambiguous') ? m.replace(/\s*\n\s*/g, ' ') : (m.split(/\.( |\n)/)[0] ?? m));
  }
  const { values: v, positionals } = parsed;
  const task = v.task ?? 'panoptic';
  if (task !== 'panoptic' && task !== 'instance' && task !== 'semantic') throw new UsageError(`--task must be panoptic, instance or semantic, got '${task}'`);
  let fuse: number[] | undefined;
  if (v.fuse !== undefined) {
    fuse = v.fuse.split(',').map((x) => {
      const n = Number(x.trim());
      if (x.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`--fuse takes label ids (integers >= 0) separated by commas, got '${v.fuse}'`);
      return n;
    });
  }
  let maxPixels = DEFAULT_MAX_PIXELS;
  if (v['max-pixels'] !== undefined) {
    maxPixels = Number(v['max-pixels']);
    if (!Number.isSafeInteger(maxPixels) || maxPixels <= 0) throw new UsageError(`--max-pixels must be a positive integer, got '${v['max-pixels']}'`);
  }
  const exif = v['exif-orientation'] ?? 'ignore';
  if (exif !== 'ignore' && exif !== 'apply') throw new UsageError(`--exif-orientation must be ignore or apply, got '${exif}'`);
  const precision = parsePrecision(v.precision);
  const out: Omit<SegmentArgs, 'images'> = {
    model: v.model, outDir: v['out-dir'], task,
    threshold: unit(v.threshold, 'threshold', 0.5), maskThreshold: unit(v['mask-threshold'], 'mask-threshold', 0.5),
    overlap: unit(v.overlap, 'overlap', 0.8), fuse, opacity: unit(v.opacity, 'opacity', 0.55),
    maxPixels, exifOrientation: exif, precision, json: v.json, help: v.help,
  };
  if (v.help) return { ...out, images: [] };
  const listed = [...(v.image ?? []), ...positionals];
  if (v.images !== undefined && listed.length > 0) throw new UsageError('give either --image FILE ... or --images DIR, not both');
  const images = v.images !== undefined ? listImages(v.images) : listed;
  if (images.length === 0) throw new UsageError('no images: give --image FILE [FILE ...] or --images DIR');
  return { ...out, images };
}

/** Output names per image: the file name without extension, made unique when two collide. */
export function outputNames(images: readonly string[]): string[] {
  const stems = images.map((p) => basename(p, extname(p)));
  const count = new Map<string, number>();
  for (const s of stems) count.set(s, (count.get(s) ?? 0) + 1);
  const used = new Set<string>();
  return images.map((p, i) => {
    let name = (count.get(stems[i] as string) ?? 0) > 1 ? basename(p).replace(/\./g, '_') : (stems[i] as string);
    for (let k = 2; used.has(name); k++) name = `${stems[i]}_${k}`;
    used.add(name);
    return name;
  });
}
