/**
 * Browser frames (ImageBitmap, VideoFrame, HTMLVideoElement) straight to the GPU with
 * `copyExternalImageToTexture` (no canvas, no getImageData): the frame is copied into a texture
 * when segment() is called (so a later frame cannot replace it while the call waits its turn),
 * then, in the model's command encoder, into the model's RGBA8 input buffer (u32 [h, w]).
 */
import { GpuError, ImageError } from '../errors.ts';
import type { GpuContext } from './device.ts';

export type ExternalImage = ImageBitmap | VideoFrame | HTMLVideoElement;

/** Sources that go to the GPU without a canvas readback (in a browser with WebGPU). */
export function isExternalImage(src: unknown): src is ExternalImage {
  return (
    (typeof ImageBitmap !== 'undefined' && src instanceof ImageBitmap) ||
    (typeof VideoFrame !== 'undefined' && src instanceof VideoFrame) ||
    (typeof HTMLVideoElement !== 'undefined' && src instanceof HTMLVideoElement)
  );
}

/** One frame on the GPU, as RGBA8 (sRGB, not premultiplied), until dispose(). */
export class GpuImage {
  private disposed = false;

  private constructor(
    readonly width: number,
    readonly height: number,
    private readonly texture: GPUTexture,
    private readonly ctx: GpuContext,
  ) {}

  /** Copies the source's current frame into a new texture (queued now). */
  static fromExternal(ctx: GpuContext, src: ExternalImage): GpuImage {
    const [width, height] =
      typeof VideoFrame !== 'undefined' && src instanceof VideoFrame ? [src.displayWidth, src.displayHeight]
      : typeof HTMLVideoElement !== 'undefined' && src instanceof HTMLVideoElement ? [src.videoWidth, src.videoHeight]
      : [(src as ImageBitmap).width, (src as ImageBitmap).height];
    if (!width || !height) throw new ImageError(`image source has size ${width}x${height} (not loaded yet?)`);
    const max = ctx.device.limits.maxTextureDimension2D;
    if (width > max || height > max) throw new ImageError(`image ${width}x${height}: larger than the adapter's ${max}-pixel texture limit`);
    const texture = ctx.device.createTexture({
      label: 'maskgpu:frame',
      size: [width, height],
      format: 'rgba8unorm',
      usage: GPUTextureUsage.COPY_DST | GPUTextureUsage.COPY_SRC | GPUTextureUsage.RENDER_ATTACHMENT,
    });
    try {
      ctx.device.queue.copyExternalImageToTexture({ source: src, flipY: false }, { texture, colorSpace: 'srgb', premultipliedAlpha: false }, [width, height]);
    } catch (e) {
      texture.destroy();
      throw new ImageError(`copyExternalImageToTexture of a ${width}x${height} frame failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    return new GpuImage(width, height, texture, ctx);
  }

  /**
   * Records the copy of the pixels into `target` (u32 [height, width], offset 0). Rows of a
   * texture copy are 256-byte aligned: a width whose rows are not goes through a padded buffer
   * (freed once the submitted copy has run).
   */
  encodeInto(encoder: GPUCommandEncoder, target: GPUBuffer): void {
    if (this.disposed) throw new GpuError('GpuImage', 'used after dispose()');
    const row = this.width * 4;
    const size = [this.width, this.height] as const;
    if (row % 256 === 0) {
      encoder.copyTextureToBuffer({ texture: this.texture }, { buffer: target, bytesPerRow: row, rowsPerImage: this.height }, size);
      return;
    }
    const padded = Math.ceil(row / 256) * 256;
    const tmp = this.ctx.device.createBuffer({ label: 'maskgpu:frame-rows', size: padded * this.height, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
    encoder.copyTextureToBuffer({ texture: this.texture }, { buffer: tmp, bytesPerRow: padded, rowsPerImage: this.height }, size);
    for (let y = 0; y < this.height; y++) encoder.copyBufferToBuffer(tmp, y * padded, target, y * row, row);
    this.scratch.push(tmp);
  }

  private readonly scratch: GPUBuffer[] = [];

  /** Frees the texture and row buffers (work already submitted still completes). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.texture.destroy();
    for (const b of this.scratch) b.destroy();
    this.scratch.length = 0;
  }
}
