/**
 * What differs between the families' post-processors (HF's `post_process_*` of
 * Mask2FormerImageProcessor, MaskFormerImageProcessor and OneFormerImageProcessor). A family
 * names its rules; `PostProcessor` reads nothing else about the model.
 */
export type PostFamily = 'mask2former' | 'maskformer' | 'oneformer';

export interface PostRules {
  readonly family: PostFamily;
  /**
   * Mask logits are first resized (bilinear, align_corners=False) to this square size whatever
   * the input, then to each target (Mask2Former: 384). null: straight from mask resolution.
   */
  readonly intermediateSize: number | null;
  /**
   * Instance segmentation:
   * - 'binarise-resized': mask = logits at the intermediate size > 0, score there, nearest to target (Mask2Former);
   * - 'binarise-at-mask': mask = logits > 0 and its score at mask resolution, nearest to target (MaskFormer);
   * - 'compute-segments-on-logits': class prob > threshold, then the panoptic routine on the mask logits (OneFormer).
   */
  readonly instance: 'binarise-resized' | 'binarise-at-mask' | 'compute-segments-on-logits';
}

export const MASK2FORMER_POST: PostRules = { family: 'mask2former', intermediateSize: 384, instance: 'binarise-resized' };
export const MASKFORMER_POST: PostRules = { family: 'maskformer', intermediateSize: null, instance: 'binarise-at-mask' };
export const ONEFORMER_POST: PostRules = { family: 'oneformer', intermediateSize: null, instance: 'compute-segments-on-logits' };
