/**
 * Kernel policy: which variant of each hot op a graph uses, chosen once per device from what the
 * adapter is (CPU fallback or GPU), its limits and its features. The GraphBuilder carries the
 * policy, so model code calls the same op functions on every adapter.
 *
 * - 'cpu' (CPU adapters such as SwiftShader and lavapipe): one output row / register tile per
 *   invocation, no workgroup memory and no barriers; what runs fastest when "invocations" are
 *   SIMD lanes of a few CPU threads.
 * - 'gpu': tiles in workgroup memory shared by many invocations (matmul, attention), a workgroup
 *   per reduction row.
 */

/** What the policy choice reads from the adapter (a subset of GpuContext, so it is testable). */
export interface AdapterFacts {
  readonly info: { readonly vendor: string; readonly architecture: string; readonly description: string; readonly isFallbackAdapter: boolean };
  readonly limits: { readonly maxComputeWorkgroupStorageSize: number; readonly maxComputeInvocationsPerWorkgroup: number };
  readonly features: { readonly shaderF16: boolean; readonly subgroups: boolean };
}

/** 'auto' chooses from the adapter; 'cpu' / 'gpu' force a policy (tests run every variant on a CPU adapter). */
export type KernelChoice = 'auto' | 'cpu' | 'gpu';

export interface KernelPolicy {
  /** Which family the policy belongs to (for logs and benchmarks). */
  readonly name: 'cpu' | 'gpu';
  /**
   * matmul / linear: 'register' = each invocation keeps a 4x4 (or 1x4) tile of C in registers and
   * reads A and B straight from storage; 'tiled' = 64x64 tiles of C per workgroup, A and B staged
   * through workgroup memory in K-slices with coalesced loads (B read along K for nn.Linear weights).
   */
  readonly matmul: 'register' | 'tiled';
  /** LayerNorm and softmax: one row per invocation, or one workgroup per row (tree reduction). */
  readonly rowReduction: 'invocation' | 'workgroup';
  /**
   * Attention: 'rows' = one query row per invocation; 'workgroup' = one workgroup per query row
   * (head dims spread over its invocations); 'tiled' = a block of 32 query rows of one (batch,
   * head) per workgroup, K/V tiles staged in workgroup memory and shared by the block, online
   * softmax per row (head dims <= 64; larger heads use 'workgroup').
   */
  readonly attention: 'rows' | 'workgroup' | 'tiled';
  /**
   * Invocations of kernels that reduce across a workgroup with barriers (GroupNorm, per-plane
   * statistics). SwiftShader's compile time grows with it (256: 2.3 s for one plane-stats
   * pipeline on the 2-core CI machine, 64: 0.5 s); GPUs want wide workgroups.
   */
  readonly reductionWorkgroup: number;
  /**
   * Pipelines compiled at once (`createComputePipelineAsync`). On SwiftShader concurrent
   * compilation costs more than twice the CPU time of compiling one at a time (measured in
   * bench/cold-start.bench.ts), so CPU adapters compile in sequence; GPU drivers compile in
   * their own threads.
   */
  readonly compileConcurrency: number;
  /**
   * conv2d other than 1x1 stride 1 (those are a matmul): 'direct' = each invocation computes 8
   * output channels x 4 columns straight from storage; 'gemm' = implicit GEMM on the tiled
   * matmul's tiles (M = Cout, N = Ho * Wo, K = Cin * KH * KW), weights and the im2col slice
   * gathered from x staged through workgroup memory.
   */
  readonly conv: 'direct' | 'gemm';
  /**
   * With matmul 'tiled': run the vec4 kernel (shaders/matmul/matmul-vec4.wgsl: A and B read with
   * vec4 loads where aligned, 8x4 outputs per invocation) and keep nn.Linear weights that only
   * matmul reads packed K-major ([K, N rounded up to 4], zero padded) from load on, so the
   * kernel reads them along n with aligned vec4 loads (see weights/pack.ts).
   */
  readonly packedMatmul: boolean;
}

/** Today's kernels: what the engine was tuned with on SwiftShader. */
export const CPU_POLICY: KernelPolicy = Object.freeze({
  name: 'cpu', matmul: 'register', rowReduction: 'invocation', attention: 'rows', reductionWorkgroup: 64, compileConcurrency: 1,
  conv: 'direct', packedMatmul: false,
});

export const GPU_POLICY: KernelPolicy = Object.freeze({
  name: 'gpu', matmul: 'tiled', rowReduction: 'workgroup', attention: 'tiled', reductionWorkgroup: 256, compileConcurrency: 16,
  conv: 'gemm', packedMatmul: true,
});

/** Workgroup memory and invocations the tiled matmul (and the conv implicit GEMM, same tiles) needs (checked against the adapter's limits). */
export const TILED_MATMUL_NEEDS = { workgroupStorageBytes: 2 * 64 * 16 * 4, invocations: 256 } as const;

/** Software Vulkan / WebGPU implementations that may not set `isFallbackAdapter`. */
const CPU_NAMES = /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render/i;

/** True for adapters that run compute shaders on the CPU. */
export function isCpuAdapter(facts: AdapterFacts): boolean {
  const { vendor, architecture, description, isFallbackAdapter } = facts.info;
  return isFallbackAdapter || CPU_NAMES.test(`${vendor} ${architecture} ${description}`);
}

/**
 * The policy for a device: CPU adapters keep the register-tiled kernels; GPUs get the tiled ones
 * where the limits allow them (a variant the limits do not allow falls back to the CPU choice).
 */
export function choosePolicy(facts: AdapterFacts, choice: KernelChoice = 'auto'): KernelPolicy {
  const kind = choice === 'auto' ? (isCpuAdapter(facts) ? 'cpu' : 'gpu') : choice;
  if (kind === 'cpu') return CPU_POLICY;
  // GPU kernels forced on a CPU adapter (tests): compile one at a time all the same.
  if (isCpuAdapter(facts)) return Object.freeze({ ...GPU_POLICY, compileConcurrency: 1 });
  const fitsTiles =
    facts.limits.maxComputeWorkgroupStorageSize >= TILED_MATMUL_NEEDS.workgroupStorageBytes &&
    facts.limits.maxComputeInvocationsPerWorkgroup >= TILED_MATMUL_NEEDS.invocations;
  return fitsTiles ? GPU_POLICY : Object.freeze({ ...GPU_POLICY, matmul: 'register', conv: 'direct', packedMatmul: false });
}
