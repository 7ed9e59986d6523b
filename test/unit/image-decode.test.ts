/**
 * Image files as Hugging Face sees them: JPEG pixels equal to Pillow's (libjpeg-turbo, ISLOW
 * IDCT, fancy upsampling) for every file in test/fixtures/jpeg, EXIF orientation ignored by
 * default and applied on request, and decode limits checked from the header before anything
 * large is allocated (issue 8: a 69-byte PNG claiming 20000x20000, a zlib bomb).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../../src/errors.ts';
import { decodeImage, DEFAULT_MAX_PIXELS, JpegDecoder } from '../../src/image-io/index.ts';
import type { RgbaImage } from '../../src/image.ts';
import { FIXTURES } from '../fixture-files.ts';

const DIR = join(FIXTURES, 'jpeg');
interface Case { file: string; pillow_pixels: string; jpeg_mode: string; size: [number, number] }
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as { cases: Case[] };
const bytesOf = (f: string): Uint8Array => new Uint8Array(readFileSync(join(DIR, f)));
const pillow = (f: string): RgbaImage => {
  const p = PNG.sync.read(readFileSync(join(DIR, f)));
  return { width: p.width, height: p.height, data: new Uint8Array(p.data) };
};

/** Max |difference| over R, G, B and the number of differing channel values. */
function compareRgb(a: RgbaImage, b: RgbaImage): { max: number; mean: number; differ: number } {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let max = 0;
  let sum = 0;
  let differ = 0;
  for (let i = 0; i < a.width * a.height; i++) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs((a.data[i * 4 + c] as number) - (b.data[i * 4 + c] as number));
      if (d > max) max = d;
      sum += d;
      if (d) differ++;
    }
  }
  return { max, mean: sum / (a.width * a.height * 3), differ };
}

describe('JPEG decoding equals Pillow (libjpeg-turbo, islow IDCT, fancy upsampling)', () => {
  const jpeg = JpegDecoder.load();
  for (const c of manifest.cases) {
    it(`${c.file} (${c.jpeg_mode}, ${c.size[0]}x${c.size[1]}): tolerance 0 per channel`, () => {
      const got = decodeImage(bytesOf(c.file), c.file, { jpeg });
      const ref = pillow(c.pillow_pixels);
      const e = compareRgb(got, ref);
      console.log(`${c.file}: max |diff| ${e.max}/255, mean ${e.mean.toFixed(4)}, ${e.differ} channel values differ`);
      expect(got.format).toBe('jpeg');
      expect(e.max).toBe(0);
      for (let i = 3; i < got.data.length; i += 4) if (got.data[i] !== 255) throw new Error(`alpha ${got.data[i]} at pixel ${(i - 3) / 4}`);
    });
  }
});

// Independent formulation of the eight orientations: compositions of a clockwise quarter turn
// and a left-right mirror (EXIF spec, Pillow's exif_transpose: 2 mirror, 3 180, 4 flip,
// 5 transpose, 6 cw, 7 transverse, 8 ccw).
function cw(img: RgbaImage): RgbaImage {
  const { width: W, height: H } = img;
  const out = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out.set(img.data.subarray((y * W + x) * 4, (y * W + x) * 4 + 4), ((x * H) + (H - 1 - y)) * 4);
  return { width: H, height: W, data: out };
}
function mirror(img: RgbaImage): RgbaImage {
  const { width: W, height: H } = img;
  const out = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out.set(img.data.subarray((y * W + x) * 4, (y * W + x) * 4 + 4), (y * W + (W - 1 - x)) * 4);
  return { width: W, height: H, data: out };
}
const VIEWED: Record<number, (i: RgbaImage) => RgbaImage> = {
  1: (i) => i, 2: mirror, 3: (i) => cw(cw(i)), 4: (i) => mirror(cw(cw(i))),
  5: (i) => mirror(cw(i)), 6: cw, 7: (i) => mirror(cw(cw(cw(i)))), 8: (i) => cw(cw(cw(i))),
};

/** The exif-orientation-6 file with its orientation value rewritten (the tag's bytes located by search). */
function withOrientation(src: Uint8Array, o: number): Uint8Array {
  const b = src.slice();
  for (let i = 0; i + 10 < b.length; i++) {
    // IFD entry: tag 0x0112, type 3 (SHORT), count 1, in either byte order.
    if (b[i] === 0x12 && b[i + 1] === 0x01 && b[i + 2] === 3 && b[i + 3] === 0 && b[i + 4] === 1) { b[i + 8] = o; return b; }
    if (b[i] === 0x01 && b[i + 1] === 0x12 && b[i + 2] === 0 && b[i + 3] === 3 && b[i + 7] === 1) { b[i + 9] = o; return b; }
  }
  throw new Error('orientation tag not found');
}

describe('EXIF orientation', () => {
  const file = 'exif-orientation-6.jpg';
  const stored = pillow('exif-orientation-6.pillow.png');
  it('is reported but not applied by default (as HF / Pillow Image.open)', () => {
    const img = decodeImage(bytesOf(file), file);
    expect(img.orientation).toBe(6);
    expect(compareRgb(img, stored).max).toBe(0);
  });
  for (const o of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`orientation ${o} applied with exifOrientation: 'apply'`, () => {
      const img = decodeImage(withOrientation(bytesOf(file), o), file, { exifOrientation: 'apply' });
      expect(img.orientation).toBe(o);
      const want = (VIEWED[o] as (i: RgbaImage) => RgbaImage)(stored);
      expect([img.width, img.height]).toEqual([want.width, want.height]);
      expect(compareRgb(img, want).max).toBe(0);
    });
  }
});

/** A PNG from chunks, CRCs computed. */
function png(chunks: [string, Uint8Array][]): Uint8Array {
  const parts: Buffer[] = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];
  for (const [type, data] of chunks) {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    parts.push(head, Buffer.from(data), crc);
  }
  return new Uint8Array(Buffer.concat(parts));
}
function ihdr(w: number, h: number, depth: number, colour: number, interlace: number): Uint8Array {
  const b = Buffer.alloc(13);
  b.writeUInt32BE(w, 0);
  b.writeUInt32BE(h, 4);
  b[8] = depth; b[9] = colour; b[12] = interlace;
  return b;
}

describe('decode limits: the header is checked before anything large is allocated', () => {
  it('a 69-byte PNG that claims 20000x20000 is refused with the limit and how to raise it', () => {
    const tiny = png([['IHDR', ihdr(20000, 20000, 8, 6, 0)], ['IDAT', deflateSync(Buffer.alloc(1))], ['IEND', new Uint8Array(0)]]);
    console.log(`bomb PNG: ${tiny.length} bytes`);
    expect(tiny.length).toBeLessThan(80);
    const rss = process.memoryUsage().rss;
    expect(() => decodeImage(tiny, 'claims.png')).toThrow(ImageError);
    expect(() => decodeImage(tiny, 'claims.png')).toThrow(`claims.png: 20000x20000 PNG (400000000 pixels) is over the limit of ${DEFAULT_MAX_PIXELS} pixels; raise it with --max-pixels N (CLI) or { maxPixels } (readImage / decodeImage)`);
    const grew = (process.memoryUsage().rss - rss) / 2 ** 20;
    console.log(`RSS growth while refusing: ${grew.toFixed(1)} MiB`);
    expect(grew).toBeLessThan(64);
  });
  it('a zlib bomb (interlaced 64x64 PNG whose data inflates to 16 MiB) is refused without inflating it all', () => {
    // Interlaced images are the case pngjs inflates without an output bound.
    const bomb = png([['IHDR', ihdr(64, 64, 8, 0, 1)], ['IDAT', deflateSync(Buffer.alloc(16 * 2 ** 20), { level: 9 })], ['IEND', new Uint8Array(0)]]);
    console.log(`zlib bomb: ${bomb.length} bytes`);
    expect(() => decodeImage(bomb, 'bomb.png')).toThrow(/bomb\.png: PNG image data inflates past the \d+ bytes its 64x64 header implies/);
  });
  it('a non-interlaced zlib bomb (64x64 declared, 16 MiB of data) is refused, naming the cause', () => {
    const bomb = png([['IHDR', ihdr(64, 64, 8, 0, 0)], ['IDAT', deflateSync(Buffer.alloc(16 * 2 ** 20))], ['IEND', new Uint8Array(0)]]);
    const rss = process.memoryUsage().rss;
    expect(() => decodeImage(bomb, 'bomb2.png')).toThrow('bomb2.png: PNG image data inflates past the 4160 bytes its 64x64 header implies (a zlib bomb?)');
    const grew = (process.memoryUsage().rss - rss) / 2 ** 20;
    console.log(`non-interlaced zlib bomb (${bomb.length} bytes): RSS growth ${grew.toFixed(1)} MiB`);
    expect(grew).toBeLessThan(32);
  });
  it('a JPEG whose frame header declares 20000x20000 is refused before decoding', () => {
    const b = bytesOf('baseline-420-q90.jpg');
    const sof = b.findIndex((v, i) => v === 0xff && b[i + 1] === 0xc0);
    b[sof + 5] = 20000 >> 8; b[sof + 6] = 20000 & 255; b[sof + 7] = 20000 >> 8; b[sof + 8] = 20000 & 255;
    expect(() => decodeImage(b, 'big.jpg')).toThrow(`big.jpg: 20000x20000 JPEG (400000000 pixels) is over the limit of ${DEFAULT_MAX_PIXELS} pixels`);
  });
  it('maxPixels lowers and raises the limit', () => {
    expect(() => decodeImage(bytesOf('odd-size-101x67.jpg'), 'odd.jpg', { maxPixels: 6766 })).toThrow(/101x67 JPEG \(6767 pixels\) is over the limit of 6766 pixels/);
    expect(decodeImage(bytesOf('odd-size-101x67.jpg'), 'odd.jpg', { maxPixels: 6767 }).width).toBe(101);
    expect(() => decodeImage(bytesOf('odd-size-101x67.jpg'), 'odd.jpg', { maxPixels: 0 })).toThrow(/maxPixels must be a positive integer/);
  });
});

describe('PNG eXIf orientation', () => {
  it('is reported, ignored by default and applied on request', () => {
    // 3x2 RGB: row 0 = red, green, blue; row 1 = white, black, grey. eXIf: big-endian TIFF, orientation 6.
    const rows = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 255, 255, 255, 0, 0, 0, 128, 128, 128]);
    const tiff = Buffer.from([0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]);
    const file = png([['IHDR', ihdr(3, 2, 8, 2, 0)], ['eXIf', tiff], ['IDAT', deflateSync(rows)], ['IEND', new Uint8Array(0)]]);
    const stored = decodeImage(file, 'o6.png');
    expect([stored.width, stored.height, stored.orientation, stored.format]).toEqual([3, 2, 6, 'png']);
    const viewed = decodeImage(file, 'o6.png', { exifOrientation: 'apply' });
    expect([viewed.width, viewed.height]).toEqual([2, 3]);
    expect(compareRgb(viewed, cw(stored)).max).toBe(0);
    // Rotated clockwise: the top row is (white, red), the bottom row (grey, blue).
    expect([...viewed.data.subarray(0, 8)]).toEqual([255, 255, 255, 255, 255, 0, 0, 255]);
  });
});

describe('damaged files get a typed one-line error that says what is wrong', () => {
  it('PNG with a bad CRC names the chunk', () => {
    const good = png([['IHDR', ihdr(2, 2, 8, 2, 0)], ['IDAT', deflateSync(Buffer.alloc(2 * 7))], ['IEND', new Uint8Array(0)]]);
    expect(decodeImage(good, 'ok.png').width).toBe(2);
    const bad = good.slice();
    bad[8 + 8 + 13] = (bad[8 + 8 + 13] as number) ^ 0xff; // IHDR's CRC
    expect(() => decodeImage(bad, 'bad.png')).toThrow('bad.png: PNG chunk IHDR at byte 8: CRC mismatch (the file is damaged)');
  });
  it('truncated PNG and JPEG', () => {
    const good = png([['IHDR', ihdr(2, 2, 8, 2, 0)], ['IDAT', deflateSync(Buffer.alloc(2 * 7))], ['IEND', new Uint8Array(0)]]);
    expect(() => decodeImage(good.subarray(0, good.length - 12), 'cut.png')).toThrow('cut.png: PNG truncated (no IEND chunk)');
    const j = bytesOf('baseline-420-q90.jpg');
    expect(() => decodeImage(j.subarray(0, j.length >> 1), 'cut.jpg')).toThrow('cut.jpg: JPEG truncated (the file ends without an EOI marker)');
    expect(() => decodeImage(j.subarray(0, 100), 'head.jpg')).toThrow(/head\.jpg: JPEG truncated/);
  });
  it('corrupt JPEG entropy data is an ImageError, and the next decode still works', () => {
    const jpeg = JpegDecoder.load();
    const j = bytesOf('baseline-444-q95.jpg');
    const sos = j.findIndex((v, i) => v === 0xff && j[i + 1] === 0xda);
    const bad = j.slice();
    // A marker that cannot occur inside a scan (SOF in the middle of entropy-coded data).
    bad.set([0xff, 0xc0, 0x00, 0x02], sos + 400);
    let err: unknown;
    try {
      decodeImage(bad, 'bad.jpg', { jpeg });
    } catch (e) {
      err = e;
    }
    console.log(`corrupt JPEG: ${err instanceof Error ? `${err.name}: ${err.message}` : 'decoded (libjpeg warning only)'}`);
    if (err !== undefined) expect(err).toBeInstanceOf(ImageError);
    const ok = decodeImage(j, 'good.jpg', { jpeg });
    expect(compareRgb(ok, pillow('baseline-444-q95.pillow.png')).max).toBe(0);
  });
  it('neither PNG nor JPEG', () => {
    expect(() => decodeImage(new TextEncoder().encode('GIF89a....'), 'x.gif')).toThrow('x.gif: not a PNG or JPEG file (starts with 47 49 46 38)');
    expect(() => decodeImage(new Uint8Array(0), 'empty.png')).toThrow('empty.png: not a PNG or JPEG file (empty)');
  });
});
