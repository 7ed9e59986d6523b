/**
 * maskgpu: MaskFormer / Mask2Former universal segmentation on WebGPU.
 *
 * ```ts
 * import { requestGpu, checkpointFromUrl, Mask2Former } from 'maskgpu';
 * const gpu = await requestGpu();
 * const model = await Mask2Former.load(gpu, await checkpointFromUrl('https://huggingface.co/facebook/mask2former-swin-tiny-coco-panoptic/resolve/main/'));
 * const { outputs } = await model.forward({ images: [imageData] });
 * ```
 * Importing this module has no side effects.
 */
export * from './errors.ts';
export { requestGpu, GpuContext, type GpuOptions, type GpuFeatures, type GpuLimits } from './gpu/device.ts';
export { checkpointFromUrl, checkpointFromFiles, type CheckpointSource, type FetchOptions } from './checkpoint.ts';
export { toRgba, type RgbaImage, type ImageSource } from './image.ts';
export { Mask2Former, stageTimings, type ForwardInput, type ForwardOptions, type ForwardResult, type LoadOptions, type OutputTensor } from './models/mask2former/session.ts';
export { parseMask2FormerConfig, parsePreprocessorConfig, resizeOutputSize, type Mask2FormerConfig, type PreprocessorConfig } from './config/index.ts';
export { parseSafetensorsHeader, streamSafetensors, writeSafetensors, type LoadProgress, type SafetensorsSource } from './weights/safetensors.ts';
export { WeightStore } from './weights/store.ts';
export { GraphBuilder, type Tensor } from './graph/builder.ts';
export { CompiledGraph, type RunInfo, type GraphStats } from './graph/runner.ts';
export { PipelineCache } from './gpu/kernel.ts';
export * as ops from './ops/index.ts';
export { Segmenter, cachingFetch, type SegmenterLoadOptions, type SegmentOptions, type SegmentInfo, type SegmentationResult, type OverlayStyle } from './segmenter.ts';
export { PostProcessor, POST_SIZE, type Task, type PostProcessOptions, type ImageSegmentation, type Segment } from './post/segment.ts';
export { MASK2FORMER_POST, MASKFORMER_POST, ONEFORMER_POST, type PostRules, type PostFamily } from './post/rules.ts';
export { SegmentationView, drawLabels, legendEntries } from './render/renderer.ts';
export { ViewTransform } from './render/view.ts';
export { labelColour, cssColour } from './render/palette.ts';
