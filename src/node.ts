/// <reference types="@webgpu/types" preserve="true" />
/**
 * Node-only helpers (`maskgpu/node`): a WebGPU device through Dawn (SwiftShader without a GPU),
 * checkpoint folders on disk, PNG / JPEG files.
 */
export { nodeGpu, requestNodeGpu } from './gpu/node.ts';
export { checkpointFromDir, readImage, writePng } from './cli/node-io.ts';
