import { gelu } from './matmul.ts';
import { at, checkLength } from './util.ts';

export type UnaryOp = 'relu' | 'gelu' | 'sigmoid' | 'copy';

/** y = op(x) elementwise; gelu is the exact (erf) form. */
export function unaryRef(op: UnaryOp, x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = at(x, i);
    switch (op) {
      case 'relu':
        out[i] = v > 0 ? v : 0;
        break;
      case 'gelu':
        out[i] = gelu(v);
        break;
      case 'sigmoid':
        out[i] = 1 / (1 + Math.exp(-v));
        break;
      case 'copy':
        out[i] = v;
        break;
    }
  }
  return out;
}

export type BinaryOp = 'add' | 'mul';

/**
 * y[i] = a[i] op b[floor(i / bInner) % bLen]: b broadcast along a's layout. Examples for a [R, C]:
 * a per-column vector is bInner 1, bLen C; a per-row vector is bInner C, bLen R; same shape is bInner 1, bLen a.length.
 */
export function binaryRef(
  op: BinaryOp,
  a: Float32Array,
  b: Float32Array,
  bInner: number,
  bLen: number,
): Float32Array {
  checkLength('binaryRef', 'b', b, bLen);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const bv = at(b, Math.floor(i / bInner) % bLen);
    out[i] = op === 'add' ? at(a, i) + bv : at(a, i) * bv;
  }
  return out;
}

/** torch.permute(x, perm).contiguous(): output dim d is input dim perm[d]. */
export function permuteRef(x: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  if (perm.length !== rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
    throw new Error(`permuteRef: perm [${perm.join(',')}] is not a permutation of rank ${rank}`);
  }
  const size = shape.reduce((p, s) => p * s, 1);
  checkLength('permuteRef', 'x', x, size);
  const outShape = perm.map((p) => at(shape, p));
  // input strides, row-major
  const inStride = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) inStride[d] = at(inStride, d + 1) * at(shape, d + 1);
  const out = new Float32Array(size);
  const idx = new Array<number>(rank).fill(0); // output multi-index
  for (let o = 0; o < size; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += at(idx, d) * at(inStride, at(perm, d));
    out[o] = at(x, src);
    // advance the output multi-index, last dim fastest
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = at(idx, d) + 1;
      if (at(idx, d) < at(outShape, d)) break;
      idx[d] = 0;
    }
  }
  return out;
}
