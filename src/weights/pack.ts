/**
 * Packing nn.Linear weights for the vec4 matmul (policy.packedMatmul): a checkpoint tensor read
 * as rows [N, K] is stored K-major, [K, ld] with ld = N rounded up to 4 and zero padding, so the
 * kernel reads 4 consecutive output columns of one k with one aligned vec4 load. Done once on
 * the CPU while the tensor streams in; the GPU buffer grows by the padding columns only.
 */
import { WeightError } from '../errors.ts';
import type { PackedLayout } from '../graph/builder.ts';

/** The layout of `shape` (any rank, N * K elements) read as [N, K] rows; a typed error if it cannot be. */
export function packedLayout(file: string, key: string, shape: readonly number[], K: number): PackedLayout {
  const elements = shape.reduce((a, b) => a * b, 1);
  if (!Number.isInteger(K) || K <= 0 || elements % K !== 0) {
    throw new WeightError(file, key, `cannot pack [${shape.join(', ')}] as rows of ${K} (K-major for the vec4 matmul)`, 'shape');
  }
  const N = elements / K;
  return { kind: 'k-major', N, K, ld: Math.ceil(N / 4) * 4 };
}

/** rows [N, K] (row-major) -> K-major [K, ld], element (n, k) at k * ld + n, padding zero. */
export function packKMajor(rows: Float32Array, layout: PackedLayout): Float32Array<ArrayBuffer> {
  const { N, K, ld } = layout;
  if (rows.length !== N * K) throw new RangeError(`packKMajor: ${rows.length} values for [${N}, ${K}]`);
  const out = new Float32Array(K * ld);
  for (let n = 0; n < N; n++) {
    const src = n * K;
    for (let k = 0; k < K; k++) out[k * ld + n] = rows[src + k] as number;
  }
  return out;
}
