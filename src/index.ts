/// <reference types="@webgpu/types" preserve="true" />
/**
 * maskgpu: MaskFormer / Mask2Former segmentation on WebGPU (the family picked from config.json).
 *
 * ```ts
 * import { requestGpu, checkpointFromUrl, SegmentationModel } from 'maskgpu';
 * const gpu = await requestGpu();
 * const model = await SegmentationModel.load(gpu, await checkpointFromUrl('https://huggingface.co/facebook/mask2former-swin-tiny-coco-panoptic/resolve/main/'));
 * const { outputs } = await model.forward({ images: [imageData] });
 * ```
 * Importing this module has no side effects.
 */
export * from './errors.ts';
export { requestGpu, GpuContext, type GpuOptions, type GpuFeatures, type GpuLimits } from './gpu/device.ts';
export { checkpointFromUrl, checkpointFromFiles, type CheckpointSource, type FetchOptions } from './checkpoint.ts';
export { toRgba, type RgbaImage, type ImageSource } from './image.ts';
export { toCoco, rleToString, rleFromString, type CocoOptions, type CocoPanoptic, type CocoInstances, type CocoInstance, type CocoRle, type CocoSegmentInfo, type CocoCategory, type CocoSource } from './coco.ts';
export { SegmentationModel, stageTimings, type ForwardInput, type ForwardOptions, type ForwardResult, type LoadOptions, type OutputTensor } from './models/session.ts';
export { FAMILIES, resolveModel, supportedFamilies } from './models/registry.ts';
export type { FamilyId, ModelConfigBase, ModelFamily, ModelSpec } from './models/family.ts';
export { parseMask2FormerConfig, parseMaskFormerConfig, parsePreprocessorConfig, resizeOutputSize, DEFAULT_MAX_PREPROCESS_EDGE, type Mask2FormerConfig, type MaskFormerConfig, type PreprocessorConfig } from './config/index.ts';
export { parseOneFormerConfig, parseOneFormerPreprocessor, type OneFormerConfig, type OneFormerMetadata, type OneFormerPreprocessorConfig } from './config/index.ts';
export { ClipTokenizer, ONEFORMER_TASKS, taskPrompt, type OneFormerTask, type TokenizerFiles } from './models/oneformer/tokenizer.ts';
export { parseSafetensorsHeader, streamSafetensors, writeSafetensors, DEFAULT_MAX_TENSOR_BYTES, type LoadProgress, type SafetensorsSource } from './weights/safetensors.ts';
export { WeightStore } from './weights/store.ts';
export { GraphBuilder, type Tensor } from './graph/builder.ts';
export { CompiledGraph, type RunInfo, type GraphStats } from './graph/runner.ts';
export { DEFAULT_MEMORY_BUDGET, type Footprint, type MemoryBudget } from './graph/footprint.ts';
export { PipelineCache } from './gpu/kernel.ts';
export * as ops from './ops/index.ts';
export { Segmenter, cachingFetch, type SegmenterLoadOptions, type SegmentOptions, type SegmentInfo, type SegmentationResult, type OverlayStyle } from './segmenter.ts';
export { PostProcessor, POST_SIZE, type Task, type PostProcessOptions, type ImageSegmentation, type Segment } from './post/segment.ts';
export { MASK2FORMER_POST, MASKFORMER_POST, ONEFORMER_POST, type PostRules, type PostFamily } from './post/rules.ts';
export { SegmentationView, drawLabels, legendEntries } from './render/renderer.ts';
export { ViewTransform } from './render/view.ts';
export { labelColour, cssColour } from './render/palette.ts';
