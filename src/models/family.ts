/**
 * What every model family (MaskFormer, Mask2Former, OneFormer) provides to the engine: config
 * parsing, the graph, and its post-processing rules. The session (session.ts), Segmenter and CLI
 * use only this; the registry (registry.ts) picks the family from config.json's model_type.
 */
import type { CheckpointSource } from '../checkpoint.ts';
import type { PreprocessorConfig, PreprocessorParseOptions } from '../config/index.ts';
import type { HostArray } from '../graph/runner.ts';
import type { Task } from '../post/segment.ts';
import type { GraphBuilder } from '../graph/builder.ts';
import type { KernelPolicy } from '../gpu/policy.ts';
import type { PostRules } from '../post/rules.ts';
import type { BatchGeometry } from './common/preprocess.ts';
import type { WeightShapes } from './common/weights.ts';

/** config.json `model_type` of the families maskgpu knows. */
export type FamilyId = 'mask2former' | 'maskformer' | 'oneformer';

/** The model's input: ready pixel_values, or raw RGBA8 images preprocessed on the GPU. */
export type ModelInput =
  | { readonly kind: 'pixel-values'; readonly shape: readonly [number, 3, number, number] }
  | { readonly kind: 'images'; readonly sizes: readonly (readonly [number, number])[]; readonly preprocessor: PreprocessorConfig };

export interface BuildOptions {
  /** Also output every intermediate named as in HF's outputs (and the fixtures). */
  readonly intermediates?: boolean;
  /** Kernel variants for the adapter (default: the CPU-adapter kernels); see gpu/policy.ts. */
  readonly policy?: KernelPolicy;
}

export interface BuiltModel {
  readonly graph: GraphBuilder;
  readonly geometry: BatchGeometry | undefined;
  /** Every graph output (logits, and with `intermediates` HF's intermediate names, in HF's layouts). */
  readonly outputNames: readonly string[];
}

/** What the engine reads from any family's resolved config. */
export interface ModelConfigBase {
  readonly modelType: FamilyId;
  /** Classes without "no object" (class logits have numLabels + 1). */
  readonly numLabels: number;
  readonly id2label: Readonly<Record<number, string>>;
  readonly numQueries: number;
}

/** A parsed config bound to its family: everything needed to build and post-process the model. */
export interface ModelSpec {
  readonly family: FamilyId;
  /** Human name of the family ('Mask2Former'), for messages and labels. */
  readonly displayName: string;
  readonly config: ModelConfigBase;
  readonly post: PostRules;
  /** Checkpoint tensors inference never reads (loss-only buffers): not uploaded. */
  skipWeight(key: string): boolean;
  /** The planned computation for one input shape; binds (and shape-checks) every checkpoint tensor. */
  build(weights: WeightShapes, input: ModelInput, options?: BuildOptions, maxWorkgroups?: number): BuiltModel;
  /** The family's preprocessor_config.json rules (default: Mask2FormerImageProcessor's). */
  parsePreprocessor?(json: unknown, options?: PreprocessorParseOptions): PreprocessorConfig;
  /** Graph inputs besides the image that a pass needs (OneFormer: `task_inputs` of the task prompt). */
  feeds?(pass: { readonly task: Task | undefined; readonly batch: number }): Record<string, HostArray>;
}

/** A family as the registry lists it. */
export interface ModelFamily {
  readonly id: FamilyId;
  readonly displayName: string;
  /** `architectures` entries of config.json that belong to this family. */
  readonly architectures: readonly string[];
  /**
   * Parses config.json (typed errors) into a ModelSpec; undefined while the family is not
   * implemented. `source`: the checkpoint being loaded (its other files), absent for a bare config.
   */
  readonly parse: ((json: unknown, file: string, source?: CheckpointSource) => ModelSpec) | undefined;
}
