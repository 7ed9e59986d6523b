/// <reference types="@webgpu/types" preserve="true" />
/**
 * Node-only helpers (`maskgpu/node`): a WebGPU device through Dawn (SwiftShader without a GPU),
 * checkpoint folders on disk, PNG / JPEG files decoded as Pillow decodes them.
 */
export { nodeGpu, requestNodeGpu } from './gpu/node.ts';
export { checkpointFromDir, writePng } from './cli/node-io.ts';
export { decodeImage, readImage, JpegDecoder, DEFAULT_MAX_PIXELS, type DecodeOptions, type DecodedImage } from './image-io/index.ts';
