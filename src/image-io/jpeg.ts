/**
 * JPEG files to RGBA8 exactly as Pillow decodes them (what Hugging Face's image processors
 * receive): libjpeg-turbo compiled to WebAssembly (the `@cwasm/jpeg-turbo` package's module,
 * driven through its TurboJPEG exports) with TurboJPEG's defaults, which are Pillow's: the
 * accurate integer IDCT (JDCT_ISLOW) and fancy (triangular) chroma upsampling.
 *
 * - Greyscale JPEGs come out as R = G = B (Pillow: mode L, then convert("RGB") copies).
 * - 4-channel JPEGs (CMYK / YCCK) are decoded to CMYK, inverted (Pillow reads every CMYK JPEG
 *   as "CMYK;I", assuming Adobe's convention) and converted with Pillow's cmyk2rgb formula.
 * - The header (our own marker walk) is checked against the pixel limit before the decoder
 *   sees the file; a file that ends before its EOI marker is refused as truncated (Pillow
 *   raises "image file is truncated" there too).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ImageError } from '../errors.ts';
import type { RgbaImage } from '../image.ts';
import { checkPixelLimit } from './limits.ts';

export const isJpeg = (b: Uint8Array): boolean => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

export interface JpegHeader {
  readonly width: number;
  readonly height: number;
  readonly components: number;
  /** SOF marker: 0xc0 baseline, 0xc1 extended, 0xc2 progressive, ... */
  readonly sof: number;
  readonly progressive: boolean;
  /** The TIFF bytes of the first APP1 "Exif" segment, if any. */
  readonly exif?: Uint8Array;
  /** The file ends with an EOI marker (after the last scan). */
  readonly complete: boolean;
}

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/**
 * Walks the marker segments up to the first scan: frame size and components, EXIF; then checks
 * that the file ends with EOI. Throws an ImageError naming what is wrong and the byte offset.
 */
export function readJpegHeader(bytes: Uint8Array, name: string): JpegHeader {
  if (!isJpeg(bytes)) throw new ImageError(`${name}: not a JPEG file (no SOI marker)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 2;
  let frame: Omit<JpegHeader, 'exif' | 'complete'> | undefined;
  let exif: Uint8Array | undefined;
  for (;;) {
    // Fill bytes (0xff runs) may precede a marker.
    while (pos < bytes.length && bytes[pos] === 0xff && bytes[pos + 1] === 0xff) pos++;
    if (pos + 4 > bytes.length) throw new ImageError(`${name}: JPEG truncated at byte ${pos} (before the first scan)`);
    if (bytes[pos] !== 0xff) throw new ImageError(`${name}: JPEG marker expected at byte ${pos}, found 0x${(bytes[pos] as number).toString(16)}`);
    const marker = bytes[pos + 1] as number;
    const len = view.getUint16(pos + 2);
    if (len < 2 || pos + 2 + len > bytes.length) throw new ImageError(`${name}: JPEG truncated: segment 0x${marker.toString(16)} at byte ${pos} declares ${len} bytes`);
    const body = bytes.subarray(pos + 4, pos + 2 + len);
    if (SOF_MARKERS.has(marker)) {
      if (body.length < 6) throw new ImageError(`${name}: JPEG frame header at byte ${pos} is too short`);
      const d = new DataView(body.buffer, body.byteOffset, body.byteLength);
      frame = { height: d.getUint16(1), width: d.getUint16(3), components: body[5] as number, sof: marker, progressive: marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce };
      if ((body[0] as number) !== 8) throw new ImageError(`${name}: ${body[0]}-bit JPEG samples are not supported (8-bit only)`);
    } else if (marker === 0xe1 && exif === undefined && body.length > 6 && String.fromCharCode(...body.subarray(0, 6)) === 'Exif\0\0') {
      exif = body.subarray(6);
    } else if (marker === 0xda) {
      break;
    } else if (marker === 0xd9) {
      throw new ImageError(`${name}: JPEG ends (EOI at byte ${pos}) before any scan`);
    }
    pos += 2 + len;
  }
  if (!frame) throw new ImageError(`${name}: JPEG has a scan but no frame header (SOF) before it`);
  if (frame.height === 0) throw new ImageError(`${name}: JPEG declares height 0 (DNL-defined heights are not supported)`);
  // Entropy-coded data never contains 0xFF 0xD9 (0xFF is stuffed as 0xFF 0x00), so an EOI anywhere
  // after the first scan means the data was not cut off (bytes after EOI, e.g. trailers, are fine).
  let complete = false;
  for (let i = bytes.indexOf(0xff, pos + 2); i >= 0 && i + 1 < bytes.length; i = bytes.indexOf(0xff, i + 1)) {
    if (bytes[i + 1] === 0xd9) {
      complete = true;
      break;
    }
  }
  return { ...frame, ...(exif ? { exif } : {}), complete };
}

// TurboJPEG constants (turbojpeg.h).
const TJPF_RGBA = 7;
const TJPF_CMYK = 11;

interface TurboExports {
  readonly memory: WebAssembly.Memory;
  malloc(n: number): number;
  free(p: number): void;
  tjInitDecompress(): number;
  tjDestroy(h: number): number;
  tjDecompressHeader3(h: number, src: number, n: number, w: number, ht: number, subsamp: number, colorspace: number): number;
  tjDecompress2(h: number, src: number, n: number, dst: number, w: number, pitch: number, ht: number, pf: number, flags: number): number;
}

/** libjpeg's error exit, raised through the longjmp import. */
class LibjpegError extends Error {}

/** Pillow's cmyk2rgb on inverted ("CMYK;I") samples: c' = 255 - c, then nk - c'*nk/255 (rounded as MULDIV255). */
export function pillowCmykToRgba(cmyk: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const nk = cmyk[i * 4 + 3] as number; // 255 - (255 - k)
    for (let c = 0; c < 3; c++) {
      const t = (255 - (cmyk[i * 4 + c] as number)) * nk + 128;
      const v = nk - (((t >> 8) + t) >> 8);
      out[i * 4 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    out[i * 4 + 3] = 255;
  }
  return out;
}

/**
 * The compiled libjpeg-turbo module. Each decode runs in a fresh instance (its memory is
 * released with it, so memory does not grow across images, and a libjpeg error, which unwinds
 * through the module's stack, can never leave a damaged instance behind).
 */
export class JpegDecoder {
  private constructor(private readonly module: WebAssembly.Module) {}

  /** Compiles the WebAssembly module shipped by `@cwasm/jpeg-turbo` (a few ms). */
  static load(): JpegDecoder {
    const require = createRequire(import.meta.url);
    let path: string;
    try {
      path = require.resolve('@cwasm/jpeg-turbo/jpeg-turbo.wasm');
    } catch {
      throw new ImageError('the JPEG decoder (npm package @cwasm/jpeg-turbo) is not installed: run npm install');
    }
    return new JpegDecoder(new WebAssembly.Module(readFileSync(path)));
  }

  private instance(): TurboExports {
    let memory: WebAssembly.Memory | undefined;
    const unsupported = (): number => 52; // WASI ENOSYS: the library never needs files
    const imports = {
      // TurboJPEG's setjmp returns 0 (go on); libjpeg's error exit longjmps, which we turn into a throw.
      env: { setjmp: () => 0, longjmp: () => { throw new LibjpegError('libjpeg-turbo error exit'); } },
      wasi_snapshot_preview1: {
        // getenv() (TurboJPEG reads a few tuning variables) sees an empty environment.
        environ_sizes_get: (count: number, size: number): number => {
          if (memory) new Uint32Array(memory.buffer).fill(0, count >> 2, (count >> 2) + 1).fill(0, size >> 2, (size >> 2) + 1);
          return 0;
        },
        environ_get: (): number => 0,
        proc_exit: unsupported, fd_close: unsupported, fd_seek: unsupported, fd_write: unsupported,
      },
    };
    const exports = new WebAssembly.Instance(this.module, imports).exports as unknown as TurboExports;
    memory = exports.memory;
    return exports;
  }

  /** Decodes to RGBA8 (Pillow's pixels); `header` from readJpegHeader (size already checked). */
  decode(bytes: Uint8Array, name: string, header: JpegHeader): RgbaImage {
    if (!header.complete) throw new ImageError(`${name}: JPEG truncated (the file ends without an EOI marker)`);
    const e = this.instance();
    const alloc = (n: number): number => {
      const p = e.malloc(n);
      if (p === 0) throw new ImageError(`${name}: JPEG decoder out of memory allocating ${n} bytes (WebAssembly memory is limited to 4 GiB)`);
      return p;
    };
    try {
      const src = alloc(bytes.length);
      new Uint8Array(e.memory.buffer, src, bytes.length).set(bytes);
      const h = e.tjInitDecompress();
      if (h === 0) throw new ImageError(`${name}: could not create a JPEG decompressor`);
      const meta = alloc(16);
      if (e.tjDecompressHeader3(h, src, bytes.length, meta, meta + 4, meta + 8, meta + 12) !== 0) throw new ImageError(`${name}: libjpeg-turbo cannot read the JPEG header`);
      const [w, ht, , colourspace] = new Int32Array(e.memory.buffer, meta, 4) as unknown as [number, number, number, number];
      if (w !== header.width || ht !== header.height) throw new ImageError(`${name}: JPEG size ${w}x${ht} from libjpeg-turbo disagrees with the frame header's ${header.width}x${header.height}`);
      const cmyk = colourspace === 3 || colourspace === 4; // TJCS_CMYK, TJCS_YCCK
      const n = w * ht;
      const dst = alloc(n * 4);
      // Returns -1 without throwing on a libjpeg warning (e.g. extraneous bytes): the pixels are
      // complete then, and Pillow accepts such files too.
      e.tjDecompress2(h, src, bytes.length, dst, w, 0, ht, cmyk ? TJPF_CMYK : TJPF_RGBA, 0);
      const pixels = new Uint8Array(e.memory.buffer, dst, n * 4);
      return { width: w, height: ht, data: cmyk ? pillowCmykToRgba(pixels, n) : pixels.slice() };
    } catch (err) {
      if (err instanceof LibjpegError) throw new ImageError(`${name}: corrupt JPEG data: libjpeg-turbo stopped with an error (damaged entropy-coded data or an unsupported variant)`);
      throw err;
    }
  }
}
