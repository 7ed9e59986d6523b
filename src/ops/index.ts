/** The op registry: every op function and every kernel, in one place. */
import { attention, attentionKernel, attentionRowsKernel, attentionTiledKernel } from './attention.ts';
import { batchNorm, batchNormKernel } from './batch-norm.ts';
import { conv2d, conv2dGemmF16Kernel, conv2dGemmKernel, conv2dKernel } from './conv2d.ts';
import { countNonFinite, countNonFiniteKernel } from './count-nonfinite.ts';
import { maxPool2d, maxPoolKernel } from './max-pool.ts';
import { binary, elementwiseKernel, maskFromLogits, unary } from './elementwise.ts';
import { imageToTensor, imageToTensorKernel } from './image-to-tensor.ts';
import { groupNorm, groupNormKernel } from './group-norm.ts';
import { layerNorm, layerNormKernel, layerNormRowsKernel } from './layer-norm.ts';
import { linear, maskEinsum, matmul, matmulF16Kernel, matmulKernel, matmulLinearVec4Kernel, matmulTiledF16Kernel, matmulTiledKernel, matmulVec4F16Kernel, matmulVec4Kernel } from './matmul.ts';
import { msDeformAttn, msDeformAttnKernel } from './ms-deform-attn.ts';
import { bilinearKernel, pilResampleKernel, pilResize, resizeBilinear, resizeNearest } from './resize.ts';
import { overlay, overlayKernel } from './overlay.ts';
import { nearestLabels, nearestLabelsKernel, paintInstances, paintKernel, planeStats, planeStatsKernel, remap, resizeArgmax, resizeArgmaxKernel, rowReduceKernel } from './post.ts';
import { softmax, softmaxKernel, softmaxRowsKernel } from './softmax.ts';
import { levelToTokens, permute, repeatLeading, stridedCopyKernel, tokensToLevel, writeSlice } from './strided-copy.ts';
import {
  patchMergeGather, patchMergeKernel, relativePositionBias, relativePositionBiasKernel,
  windowPartition, windowPartitionKernel, windowReverse, windowReverseKernel,
} from './swin.ts';
import type { KernelDef } from '../gpu/kernel.ts';

export const ops = {
  matmul, linear, maskEinsum, conv2d, maxPool2d, batchNorm, layerNorm, groupNorm, softmax, attention, msDeformAttn,
  resizeBilinear, resizeNearest, pilResize, imageToTensor, resizeArgmax, nearestLabels, planeStats, remap, paintInstances, overlay, unary, binary, maskFromLogits, permute, writeSlice, levelToTokens, tokensToLevel, repeatLeading,
  windowPartition, windowReverse, relativePositionBias, patchMergeGather, countNonFinite,
} as const;

export const kernels: readonly KernelDef[] = [
  matmulKernel, matmulLinearVec4Kernel, matmulTiledKernel, matmulF16Kernel, matmulTiledF16Kernel, matmulVec4Kernel, matmulVec4F16Kernel, conv2dKernel, conv2dGemmKernel, conv2dGemmF16Kernel, maxPoolKernel, batchNormKernel, layerNormKernel, layerNormRowsKernel, groupNormKernel, softmaxKernel, softmaxRowsKernel, attentionKernel, attentionRowsKernel, attentionTiledKernel, msDeformAttnKernel,
  bilinearKernel, pilResampleKernel, elementwiseKernel, stridedCopyKernel,
  windowPartitionKernel, windowReverseKernel, relativePositionBiasKernel, patchMergeKernel, imageToTensorKernel,
  resizeArgmaxKernel, nearestLabelsKernel, rowReduceKernel, planeStatsKernel, paintKernel, overlayKernel, countNonFiniteKernel,
];

export { attention, batchNorm, conv2d, maxPool2d, binary, unary, groupNorm, layerNorm, linear, maskEinsum, matmul, msDeformAttn, pilResize, resizeBilinear, softmax, permute, writeSlice };
export { levelToTokens, tokensToLevel, repeatLeading, imageToTensor, maskFromLogits, resizeNearest, resizeArgmax, nearestLabels, planeStats, remap, paintInstances, overlay };
export { nearestHits, nearestIndex, MAX_TARGET_SIDE } from './post.ts';
export { windowPartition, windowReverse, relativePositionBias, patchMergeGather, countNonFinite };
export { shiftMask, windowGeometry } from './swin.ts';
export { pilCoefficients } from './resize.ts';
export type { BatchNormParams, BatchNormActivation } from './batch-norm.ts';
