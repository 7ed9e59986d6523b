/**
 * Canvas view transform (gl-matrix): fit the image in the canvas, zoom about a point, pan, and
 * map screen <-> image coordinates for hit-testing. Screen = canvas pixels (CSS px * devicePixelRatio).
 */
import { mat3, vec2 } from 'gl-matrix';

export class ViewTransform {
  /** image -> screen */
  readonly matrix = mat3.create();
  private readonly inverse = mat3.create();

  constructor(
    public imageWidth = 1,
    public imageHeight = 1,
    public canvasWidth = 1,
    public canvasHeight = 1,
  ) {
    this.fit();
  }

  /** Scales the image to fit the canvas, centred (letterboxed). */
  fit(imageWidth = this.imageWidth, imageHeight = this.imageHeight, canvasWidth = this.canvasWidth, canvasHeight = this.canvasHeight): this {
    Object.assign(this, { imageWidth, imageHeight, canvasWidth, canvasHeight });
    const s = Math.min(canvasWidth / imageWidth, canvasHeight / imageHeight);
    mat3.fromTranslation(this.matrix, [(canvasWidth - imageWidth * s) / 2, (canvasHeight - imageHeight * s) / 2]);
    mat3.scale(this.matrix, this.matrix, [s, s]);
    return this.update();
  }

  /** Zooms by `factor` keeping the image point under screen (x, y) fixed. */
  zoom(factor: number, x: number, y: number): this {
    const m = mat3.fromTranslation(mat3.create(), [x, y]);
    mat3.scale(m, m, [factor, factor]);
    mat3.translate(m, m, [-x, -y]);
    mat3.multiply(this.matrix, m, this.matrix);
    return this.update();
  }

  pan(dx: number, dy: number): this {
    const m = mat3.fromTranslation(mat3.create(), [dx, dy]);
    mat3.multiply(this.matrix, m, this.matrix);
    return this.update();
  }

  screenToImage(x: number, y: number): [number, number] {
    const v = vec2.transformMat3(vec2.create(), [x, y], this.inverse);
    return [v[0], v[1]];
  }

  imageToScreen(x: number, y: number): [number, number] {
    const v = vec2.transformMat3(vec2.create(), [x, y], this.matrix);
    return [v[0], v[1]];
  }

  /** The screen -> image matrix as three vec4 columns (WGSL mat3x3 uniform layout). */
  inverseColumns(): Float32Array {
    const m = this.inverse;
    return new Float32Array([m[0], m[1], m[2], 0, m[3], m[4], m[5], 0, m[6], m[7], m[8], 0]);
  }

  private update(): this {
    mat3.invert(this.inverse, this.matrix);
    return this;
  }
}
