/**
 * Draws segmentation results on a <canvas> through its WebGPU context: the overlay is composed
 * on the GPU (Segmenter.overlayBuffer) and presented through a view transform (fit / zoom /
 * pan), with no mask readback. Names at segment centres and the legend are drawn by
 * `drawLabels` / `legendEntries` on a 2D canvas or DOM layer above it.
 */
import code from '../../shaders/render/present.wgsl?raw';
import type { GpuContext } from '../gpu/device.ts';
import { GpuError } from '../errors.ts';
import type { CompiledGraph } from '../graph/runner.ts';
import type { OverlayStyle, SegmentationResult, SegmentInfo, Segmenter } from '../segmenter.ts';
import { cssColour } from './palette.ts';
import { ViewTransform } from './view.ts';

export class SegmentationView {
  readonly view = new ViewTransform();
  private readonly context: GPUCanvasContext;
  private readonly format: GPUTextureFormat;
  private readonly pipeline: GPURenderPipeline;
  private readonly uniforms: GPUBuffer;
  private current: { graph: CompiledGraph; name: string; width: number; height: number } | undefined;
  private disposed = false;
  background: [number, number, number, number] = [0.08, 0.09, 0.11, 1];

  constructor(
    private readonly gpu: GpuContext,
    readonly canvas: HTMLCanvasElement | OffscreenCanvas,
  ) {
    const ctx = canvas.getContext('webgpu') as GPUCanvasContext | null;
    if (!ctx) throw new GpuError('SegmentationView', 'canvas.getContext("webgpu") returned null');
    this.context = ctx;
    this.format = typeof navigator !== 'undefined' && navigator.gpu ? navigator.gpu.getPreferredCanvasFormat() : 'bgra8unorm';
    this.context.configure({ device: gpu.device, format: this.format, alphaMode: 'opaque' });
    const module = gpu.device.createShaderModule({ label: 'maskgpu:present', code });
    this.pipeline = gpu.device.createRenderPipeline({
      label: 'maskgpu:present',
      layout: 'auto',
      vertex: { module, entryPoint: 'vs_main' },
      fragment: { module, entryPoint: 'fs_main', targets: [{ format: this.format }] },
      primitive: { topology: 'triangle-list' },
    });
    this.uniforms = gpu.device.createBuffer({ label: 'maskgpu:present:view', size: 80, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  }

  /** Composes the result's overlay on the GPU and draws it; fits the view when the size changes. */
  async show(segmenter: Segmenter, result: SegmentationResult, style: OverlayStyle = {}): Promise<void> {
    const seg = { task: result.task, width: result.width, height: result.height, segments: result.segments, background: result.background, gpu: result.gpuBuffer, labelMap: result.labelMap, isStale: result.isStale };
    const next = await segmenter.overlayBuffer(seg, result.image, result.segments, style);
    const resized = !this.current || this.current.width !== next.width || this.current.height !== next.height;
    this.current = next;
    if (resized) this.view.fit(next.width, next.height, this.canvas.width, this.canvas.height);
    this.draw();
  }

  /** Redraws with the current view (after zoom / pan / canvas resize). */
  draw(): void {
    if (this.disposed || !this.current) return;
    const { device } = this.gpu;
    const { buffer } = this.current.graph.outputBuffer(this.current.name);
    const u = new ArrayBuffer(80);
    new Float32Array(u, 0, 12).set(this.view.inverseColumns());
    new Float32Array(u, 48, 4).set(this.background);
    new Uint32Array(u, 64, 2).set([this.current.width, this.current.height]);
    device.queue.writeBuffer(this.uniforms, 0, u);
    const bind = device.createBindGroup({
      label: 'maskgpu:present',
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: this.uniforms } },
        { binding: 1, resource: { buffer, offset: this.current.graph.outputBuffer(this.current.name).byteOffset, size: this.current.width * this.current.height * 4 } },
      ],
    });
    const encoder = device.createCommandEncoder({ label: 'maskgpu:present' });
    const pass = encoder.beginRenderPass({
      colorAttachments: [{ view: this.context.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: { r: this.background[0], g: this.background[1], b: this.background[2], a: 1 } }],
    });
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bind);
    pass.draw(3);
    pass.end();
    device.queue.submit([encoder.finish()]);
  }

  /** Forgets the shown result (before its segmenter is disposed); the canvas shows the background. */
  clear(): void {
    this.current = undefined;
    if (this.disposed) return;
    const encoder = this.gpu.device.createCommandEncoder({ label: 'maskgpu:present:clear' });
    const [r, g, b] = this.background;
    encoder.beginRenderPass({ colorAttachments: [{ view: this.context.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: { r, g, b, a: 1 } }] }).end();
    this.gpu.device.queue.submit([encoder.finish()]);
  }

  /** Label-map pixel under a canvas pixel, or undefined outside the image. */
  toImage(canvasX: number, canvasY: number): [number, number] | undefined {
    if (!this.current) return undefined;
    const [x, y] = this.view.screenToImage(canvasX, canvasY);
    return x >= 0 && y >= 0 && x < this.current.width && y < this.current.height ? [x, y] : undefined;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.uniforms.destroy();
    this.context.unconfigure();
  }
}

/** Names at segment centres, on a 2D canvas laid over the WebGPU one (same pixel size). */
export function drawLabels(c2d: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D, view: ViewTransform, segments: readonly SegmentInfo[], highlight?: number): void {
  c2d.clearRect(0, 0, c2d.canvas.width, c2d.canvas.height);
  c2d.font = `${Math.round(12 * (globalThis.devicePixelRatio ?? 1))}px system-ui, sans-serif`;
  c2d.textAlign = 'center';
  c2d.textBaseline = 'middle';
  const seen = new Set<number>();
  for (const s of segments) {
    if (seen.has(s.id) || !(s.area > 0) || Number.isNaN(s.cx)) continue;
    seen.add(s.id);
    const [x, y] = view.imageToScreen(s.cx + 0.5, s.cy + 0.5);
    const text = Number.isNaN(s.score) ? s.label : `${s.label} ${s.score.toFixed(2)}`;
    const w = c2d.measureText(text).width + 8;
    c2d.fillStyle = s.id === highlight ? 'rgba(255,255,255,0.92)' : 'rgba(0,0,0,0.6)';
    c2d.fillRect(x - w / 2, y - 9, w, 18);
    c2d.fillStyle = s.id === highlight ? '#000' : cssColour(s.labelId);
    c2d.fillText(text, x, y);
  }
}

/** One legend row per label present: colour, name, number of segments, total area. */
export function legendEntries(segments: readonly SegmentInfo[]): { labelId: number; label: string; colour: string; count: number; area: number }[] {
  const rows = new Map<number, { labelId: number; label: string; colour: string; count: number; area: number }>();
  const ids = new Set<string>();
  for (const s of segments) {
    const r = rows.get(s.labelId) ?? { labelId: s.labelId, label: s.label, colour: cssColour(s.labelId), count: 0, area: 0 };
    if (!ids.has(`${s.labelId}:${s.id}`)) {
      ids.add(`${s.labelId}:${s.id}`);
      r.count++;
      r.area += s.area;
    }
    rows.set(s.labelId, r);
  }
  return [...rows.values()].sort((a, b) => a.labelId - b.labelId);
}
