/** The model graph's input, for every family: pixel_values as given, or RGBA8 images preprocessed on the GPU. */
import type { GraphBuilder, Tensor } from '../../graph/builder.ts';
import type { ModelInput } from '../family.ts';
import { batchGeometry, preprocess, type BatchGeometry } from './preprocess.ts';

/** The graph's input: pixel_values as given, or images preprocessed on the GPU. */
export function modelInput(g: GraphBuilder, input: ModelInput): { pixelValues: Tensor; geometry: BatchGeometry | undefined } {
  if (input.kind === 'pixel-values') return { pixelValues: g.input('pixel_values', input.shape), geometry: undefined };
  const geometry = batchGeometry(input.sizes, input.preprocessor);
  return { pixelValues: preprocess(g, geometry, input.preprocessor), geometry };
}
