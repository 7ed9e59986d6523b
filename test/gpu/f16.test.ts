/**
 * Half-precision weights on a real shader-f16 adapter: Mesa's lavapipe (a CPU Vulkan driver,
 * Debian bookworm-backports, installed by scripts/setup.sh). This file selects lavapipe's ICD
 * for its own process (vitest forks one process per file); every other test keeps SwiftShader,
 * which has no shader-f16. Without lavapipe, or if it lacks shader-f16, the file skips and says why.
 *
 * - f16-B matmul kernels (register, tiled, vec4; vec4 also on weights packed K-major) vs
 *   test/ref/matmul.ts on awkward shapes, with B
 *   rounded to f16 by test/ref/half.ts: same tolerance as the f32 kernels (1e-5 abs + 1e-5 rel),
 *   since widening f16 to f32 is exact and accumulation is f32. The same for the f16-weight
 *   implicit-GEMM conv (conv2d-gemm-f16) vs test/ref/conv.ts with the weights rounded to f16.
 * - Every family's fixtures (Mask2Former tiny and tiny-odd, MaskFormer Swin and ResNet,
 *   OneFormer with its panoptic prompt) loaded with f16 weights, under both kernel policies (under
 *   'gpu' the non-1x1 conv weights are f16 too), vs HF's logits: max abs error <= F16_LOGITS_TOL * max|reference| (the f32
 *   path is held to 1e-4 in test/parity); the tiny checkpoint's weight bytes f16 vs f32.
 * - Label maps of the post-processed result (semantic / instance / panoptic, each image of the
 *   Mask2Former fixtures; the other families' post-processing is not in the engine yet) in f16 vs f32 on the same adapter: % of pixels equal printed, >= F16_MAP_AGREEMENT asserted.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const LAVAPIPE_ICDS = ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'];
const icd = LAVAPIPE_ICDS.find((p) => existsSync(p));
// Before Dawn exists in this process: the Vulkan loader reads it when the instance is created.
if (icd) process.env.VK_ICD_FILENAMES = icd;

const { requestNodeGpu } = await import('../../src/gpu/node.ts');
const { GraphBuilder } = await import('../../src/graph/builder.ts');
const { CompiledGraph } = await import('../../src/graph/runner.ts');
const ops = await import('../../src/ops/index.ts');
const { toFloat16Bits } = await import('../../src/weights/safetensors.ts');
const { packedLayout, packKMajor } = await import('../../src/weights/pack.ts');
const { SegmentationModel } = await import('../../src/models/session.ts');
const { Segmenter } = await import('../../src/segmenter.ts');
const { checkpointFromDir } = await import('../../src/cli/node-io.ts');
const { readImage } = await import('../../src/image-io/index.ts');
const { maxErrors } = await import('../ref/compare.ts');
const { makeRng, randn } = await import('../ref/random.ts');
const { matmulRef } = await import('../ref/matmul.ts');
const { conv2dRef } = await import('../ref/conv.ts');
const { roundArrayToF16 } = await import('../ref/half.ts');
const { FIXTURES, readTensors } = await import('../fixture-files.ts');
type GpuContext = import('../../src/gpu/device.ts').GpuContext;
type Tensor = import('../../src/graph/builder.ts').Tensor;

/** f16 logits vs HF: max abs error / max|reference| (measured and printed on every run). */
const F16_LOGITS_TOL = 1e-2;
/** Fraction of label-map pixels f16 must share with f32 on the same image. */
const F16_MAP_AGREEMENT = 0.99;

let skipReason = icd ? '' : `lavapipe's Vulkan ICD not found (${LAVAPIPE_ICDS.join(', ')}); scripts/setup.sh installs mesa-vulkan-drivers from bookworm-backports`;
let ctx16: GpuContext | undefined;
let ctx32: GpuContext | undefined;
if (!skipReason) {
  try {
    ctx16 = await requestNodeGpu();
    if (!ctx16.features.shaderF16) skipReason = `adapter ${ctx16.adapterName} has no shader-f16`;
    else ctx32 = await requestNodeGpu({ precision: 'f32' });
  } catch (e) {
    skipReason = `lavapipe adapter unavailable: ${e instanceof Error ? e.message : String(e)}`;
  }
}
if (skipReason) console.log(`f16 tests skipped: ${skipReason}`);
else console.log(`f16 tests on ${ctx16?.adapterName}; f32 reference device: ${ctx32?.adapterName}`);
afterAll(() => {
  ctx16?.dispose();
  ctx32?.dispose();
});

const SEED = Number(process.env.MASKGPU_SEED ?? 1234);

/** An f16 weight buffer as the weight store makes one (padded to whole 4-byte words). */
function halfBuffer(ctx: GpuContext, data: Float32Array): GPUBuffer {
  const bits = toFloat16Bits(data);
  if (!bits) throw new Error('test data overflows f16');
  const padded = new Uint16Array(Math.max(8, Math.ceil(bits.length / 8) * 8)); // whole 16-byte units
  padded.set(bits);
  const buffer = ctx.device.createBuffer({ label: 'test:f16-weight', size: padded.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  ctx.device.queue.writeBuffer(buffer, 0, padded);
  return buffer;
}

describe.skipIf(skipReason !== '')('f16-weight matmul vs the CPU reference (lavapipe)', () => {
  const cases = [
    { batch: 1, M: 1, N: 1, K: 1, transB: false, bias: 'n', act: 'none', bcastB: false, off: 0 },
    { batch: 1, M: 37, N: 29, K: 53, transB: true, bias: 'n', act: 'relu', bcastB: true, off: 3 },
    { batch: 3, M: 100, N: 65, K: 33, transB: false, bias: 'none', act: 'none', bcastB: false, off: 0 },
    { batch: 2, M: 131, N: 7, K: 19, transB: true, bias: 'm', act: 'none', bcastB: true, off: 1 },
    { batch: 1, M: 1, N: 301, K: 97, transB: true, bias: 'n', act: 'relu', bcastB: true, off: 0 },
  ] as const;
  for (const c of cases) for (const kernel of ['register', 'tiled', 'vec4'] as const) {
    it(`batch=${c.batch} M=${c.M} N=${c.N} K=${c.K} transB=${c.transB} bias=${c.bias} act=${c.act}${c.bcastB ? ' B broadcast' : ''} B offset ${c.off} kernel=${kernel}`, async () => {
      const ctx = ctx16 as GpuContext;
      const rng = makeRng(SEED);
      const a = randn(rng, c.batch * c.M * c.K);
      const bBatch = c.bcastB ? 1 : c.batch;
      const bFull = randn(rng, c.off + bBatch * c.K * c.N);
      const b = bFull.subarray(c.off);
      const biasLen = c.bias === 'n' ? c.N : c.bias === 'm' ? c.M : 0;
      const bias = randn(rng, Math.max(biasLen, 1));
      const bShape = c.transB ? [c.N, c.K] : [c.K, c.N];
      const g = new GraphBuilder(ctx.limits.maxComputeWorkgroupsPerDimension);
      // A weight slice at an element offset (like the packed in_proj_weight), in f16 units.
      const whole: Tensor = g.weight('w', [bFull.length], 'f16');
      const B = g.view(whole, c.off, c.bcastB ? bShape : [c.batch, ...bShape]);
      const y = ops.matmul(g, g.input('a', [c.batch, c.M, c.K]), B, { transB: c.transB, bias: c.bias === 'none' ? null : g.input('bias', [biasLen]), biasAlong: c.bias === 'm' ? 'm' : 'n', act: c.act, kernel });
      expect(g.steps.at(-1)?.kernel.name).toBe({ register: 'matmul-f16', tiled: 'matmul-tiled-f16', vec4: 'matmul-vec4-f16' }[kernel]);
      g.output('y', y);
      const wbuf = halfBuffer(ctx, bFull);
      const graph = await CompiledGraph.compile(ctx, g, ctx.pipelines, { weights: { buffer: () => wbuf } });
      try {
        await graph.run({ a, ...(c.bias === 'none' ? {} : { bias: bias.subarray(0, biasLen) }) });
        const got = (await graph.readOne('y')) as Float32Array;
        const opts = { batch: c.batch, M: c.M, N: c.N, K: c.K, transB: c.transB, biasAlong: c.bias === 'm' ? ('m' as const) : ('n' as const), act: c.act, bBatchStride: c.bcastB ? 0 : c.K * c.N };
        const biasRef = c.bias === 'none' ? null : bias.subarray(0, biasLen);
        const ref = matmulRef(a, roundArrayToF16(b), biasRef, opts);
        const e = maxErrors(got, ref);
        const vsF32 = maxErrors(got, matmulRef(a, b, biasRef, opts));
        const tol = 1e-5 + 1e-5 * e.maxRef;
        console.log(`matmul f16 ${kernel}: vs ref with B rounded to f16 max abs ${e.maxAbs.toExponential(2)} (tol ${tol.toExponential(2)}); vs unrounded f32 B max abs ${vsF32.maxAbs.toExponential(2)} (rel ${(vsF32.maxAbs / Math.max(vsF32.maxRef, 1e-30)).toExponential(2)}), seed ${SEED}`);
        expect(e.maxAbs).toBeLessThanOrEqual(tol);
      } finally {
        graph.dispose();
        wbuf.destroy();
      }
    });
  }

  // f16 weights packed K-major (vec4<f16> loads along n where the slice starts on a multiple of
  // 4 columns, element loads otherwise), as the weight store packs them under the gpu policy.
  for (const [N, K, M] of [[20, 64, 100], [17, 33, 5]] as const) {
    it(`packed f16 weight [3*${N}, ${K}] in three row slices, x [${M}, ${K}], vec4 kernel`, async () => {
      const ctx = ctx16 as GpuContext;
      const rng = makeRng(SEED);
      const w = randn(rng, 3 * N * K);
      const x = randn(rng, M * K);
      const layout = packedLayout('test', 'w', [3 * N, K], K);
      const wbuf = halfBuffer(ctx, packKMajor(w, layout));
      const g = new GraphBuilder(ctx.limits.maxComputeWorkgroupsPerDimension);
      const W = g.weight('w', [3 * N, K], 'f16', layout);
      const X = g.input('x', [M, K]);
      for (let i = 0; i < 3; i++) g.output(`y${i}`, ops.linear(g, X, g.view(W, i * N * K, [N, K]), null));
      expect(g.steps.map((st) => st.kernel.name)).toEqual(['matmul-vec4-f16', 'matmul-vec4-f16', 'matmul-vec4-f16']);
      const graph = await CompiledGraph.compile(ctx, g, ctx.pipelines, { weights: { buffer: () => wbuf, packed: () => layout } });
      try {
        await graph.run({ x });
        for (let i = 0; i < 3; i++) {
          const got = (await graph.readOne(`y${i}`)) as Float32Array;
          const opts = { batch: 1, M, N, K, transB: true, biasAlong: 'n' as const, act: 'none' as const };
          const ref = matmulRef(x, roundArrayToF16(w.subarray(i * N * K, (i + 1) * N * K)), null, opts);
          const e = maxErrors(got, ref);
          const tol = 1e-5 + 1e-5 * e.maxRef;
          console.log(`matmul f16 vec4 packed slice ${i} (bVec=${g.steps[i]?.params.bVec}): vs ref with B rounded to f16 max abs ${e.maxAbs.toExponential(2)} (tol ${tol.toExponential(2)}), seed ${SEED}`);
          expect(e.maxAbs).toBeLessThanOrEqual(tol);
        }
      } finally {
        graph.dispose();
        wbuf.destroy();
      }
    });
  }
});

describe.skipIf(skipReason !== '')('f16-weight conv2d (implicit GEMM) vs the CPU reference (lavapipe)', () => {
  // Awkward sizes, one output channel (7x7 s2 p3, the ResNet stem geometry), two 64-row channel
  // tiles and several pixel tiles and K slices, the Swin patch embedding with padEnd, a weight
  // at an odd element offset (f16 units).
  const cases = [
    { B: 2, Cin: 4, H: 10, W: 7, Cout: 9, k: 3, s: 2, p: 1, padEnd: [0, 0], bias: true, off: 0 },
    { B: 1, Cin: 3, H: 23, W: 19, Cout: 1, k: 7, s: 2, p: 3, padEnd: [0, 0], bias: false, off: 1 },
    { B: 2, Cin: 9, H: 13, W: 11, Cout: 70, k: 3, s: 1, p: 1, padEnd: [0, 0], bias: true, off: 3 },
    { B: 1, Cin: 3, H: 17, W: 13, Cout: 5, k: 4, s: 4, p: 0, padEnd: [3, 3], bias: true, off: 0 },
  ] as const;
  for (const c of cases) {
    it(`B=${c.B} Cin=${c.Cin} ${c.H}x${c.W} Cout=${c.Cout} k=${c.k} s=${c.s} p=${c.p} padEnd=[${c.padEnd.join(',')}] bias=${c.bias} w offset ${c.off}`, async () => {
      const ctx = ctx16 as GpuContext;
      const rng = makeRng(SEED);
      const x = randn(rng, c.B * c.Cin * c.H * c.W);
      const wFull = randn(rng, c.off + c.Cout * c.Cin * c.k * c.k);
      const w = wFull.subarray(c.off);
      const bias = randn(rng, c.Cout);
      const g = new GraphBuilder(ctx.limits.maxComputeWorkgroupsPerDimension);
      const W = g.view(g.weight('w', [wFull.length], 'f16'), c.off, [c.Cout, c.Cin, c.k, c.k]);
      const y = ops.conv2d(g, g.input('x', [c.B, c.Cin, c.H, c.W]), W, c.bias ? g.input('bias', [c.Cout]) : null, { stride: c.s, padding: c.p, padEnd: c.padEnd, kernel: 'gemm' });
      expect(g.steps.at(-1)?.kernel.name).toBe('conv2d-gemm-f16');
      g.output('y', y);
      const wbuf = halfBuffer(ctx, wFull);
      const graph = await CompiledGraph.compile(ctx, g, ctx.pipelines, { weights: { buffer: () => wbuf } });
      try {
        await graph.run(c.bias ? { x, bias } : { x });
        const got = (await graph.readOne('y')) as Float32Array;
        // padEnd as explicit zeros on the reference's input.
        const [Hp, Wp] = [c.H + c.padEnd[0], c.W + c.padEnd[1]];
        const xp = new Float32Array(c.B * c.Cin * Hp * Wp);
        for (let pl = 0; pl < c.B * c.Cin; pl++) for (let i = 0; i < c.H; i++) for (let j = 0; j < c.W; j++) xp[(pl * Hp + i) * Wp + j] = x[(pl * c.H + i) * c.W + j] as number;
        const o = { cout: c.Cout, kh: c.k, kw: c.k, strideY: c.s, strideX: c.s, padY: c.p, padX: c.p };
        const ref = conv2dRef(xp, [c.B, c.Cin, Hp, Wp], roundArrayToF16(w), c.bias ? bias : null, o);
        expect(got.length).toBe(ref.data.length);
        const e = maxErrors(got, ref.data);
        const vsF32 = maxErrors(got, conv2dRef(xp, [c.B, c.Cin, Hp, Wp], w, c.bias ? bias : null, o).data);
        const tol = 1e-5 + 1e-5 * e.maxRef;
        console.log(`conv2d-gemm f16: vs ref with w rounded to f16 max abs ${e.maxAbs.toExponential(2)} (tol ${tol.toExponential(2)}); vs unrounded f32 w max abs ${vsF32.maxAbs.toExponential(2)} (rel ${(vsF32.maxAbs / Math.max(vsF32.maxRef, 1e-30)).toExponential(2)}), seed ${SEED}`);
        expect(e.maxAbs).toBeLessThanOrEqual(tol);
      } finally {
        graph.dispose();
        wbuf.destroy();
      }
    });
  }

  it('an f16 conv weight where only f32 kernels read it (direct kernel, 1x1 matmul) is an UnsupportedError', () => {
    const g = new GraphBuilder();
    const x = g.input('x', [1, 3, 8, 8]);
    expect(() => ops.conv2d(g, x, g.weight('w3', [4, 3, 3, 3], 'f16'), null, { padding: 1, kernel: 'direct' })).toThrow(/f16 weight 'w3'.*direct kernel/);
    expect(() => ops.conv2d(g, x, g.weight('w1', [4, 3, 1, 1], 'f16'), null, { kernel: 'gemm' })).toThrow(/f16 weight 'w1'.*1x1 matmul/);
  });
});

const FIXTURE_NAMES = ['tiny', 'tiny-odd'] as const;
const fixtureDir = (name: string): string => join(FIXTURES, 'mask2former', name);


describe.skipIf(skipReason !== '')('fixtures with f16 weights (lavapipe)', () => {
  it('tiny: linear weights kept f16, half their bytes; a graph reading one as f32 is refused', async () => {
    const ckpt = await checkpointFromDir(fixtureDir('tiny'));
    const m16 = await SegmentationModel.load(ctx16 as GpuContext, ckpt);
    const m32 = await SegmentationModel.load(ctx32 as GpuContext, ckpt);
    try {
      const by16 = m16.weights.bytesByDtype;
      const halfKeys = m16.weights.keys().filter((k) => m16.weights.has(k) && m16.weights.dtype(k) === 'f16');
      console.log(`tiny weights on the GPU: f32 mode ${m32.weights.bytes} bytes; f16 mode ${m16.weights.bytes} bytes (${by16.f16} bytes in ${halfKeys.length} f16 tensors, ${by16.f32} f32, ${by16.i32} i32); saved ${(100 * (1 - m16.weights.bytes / m32.weights.bytes)).toFixed(1)}%`);
      // Under the gpu policy the non-1x1 conv weights (implicit GEMM) are f16 as well.
      const ctxGpu = await requestNodeGpu({ kernels: 'gpu' });
      try {
        const mg = await SegmentationModel.load(ctxGpu, ckpt);
        const convHalf = mg.weights.keys().filter((k) => mg.weights.has(k) && mg.weights.dtype(k) === 'f16' && mg.weights.shape(k).length === 4);
        console.log(`tiny weights, f16 mode with gpu kernels: ${mg.weights.bytes} bytes (${mg.weights.bytesByDtype.f16} in f16, incl. ${convHalf.length} conv weights: ${convHalf.join(', ')}); saved ${(100 * (1 - mg.weights.bytes / m32.weights.bytes)).toFixed(1)}%`);
        expect(convHalf.length).toBeGreaterThan(0);
        expect(mg.weights.bytes).toBeLessThan(m16.weights.bytes);
        mg.dispose();
      } finally {
        ctxGpu.dispose();
      }
      expect(m32.weights.bytesByDtype.f16).toBe(0);
      expect(halfKeys.length).toBeGreaterThan(0);
      // Every f16 tensor holds its elements in 2 bytes (buffers in whole 16-byte units).
      for (const k of halfKeys) expect(m16.weights.buffer(k).size).toBe(Math.max(16, Math.ceil((2 * m16.weights.shape(k).reduce((a, b) => a * b, 1)) / 16) * 16));
      expect(m16.weights.bytes).toBeLessThan(m32.weights.bytes);
      // A graph that declares a half-stored weight as f32 is refused when it is compiled.
      const key = halfKeys[0] as string;
      const [n, k] = m16.weights.shape(key) as [number, number];
      const g = new GraphBuilder(ctx16?.limits.maxComputeWorkgroupsPerDimension);
      g.output('y', ops.linear(g, g.input('x', [2, k]), g.weight(key, [n, k]), null));
      await expect(CompiledGraph.compile(ctx16 as GpuContext, g, (ctx16 as GpuContext).pipelines, { weights: m16.weights })).rejects.toThrow(/stored as f16 but the graph reads it as f32/);
    } finally {
      m16.dispose();
      m32.dispose();
    }
  });

  // Every family's fixtures (the same load path keeps each family's linear weights f16);
  // OneFormer with its panoptic task prompt (HF's outputs under 'panoptic.').
  const logitFixtures = [...FIXTURE_NAMES.map((n) => `mask2former/${n}`), 'maskformer/swin-tiny', 'maskformer/resnet-tiny', 'oneformer/swin-tiny'];
  for (const name of logitFixtures) for (const kernels of ['cpu', 'gpu'] as const) {
    it(`${name} (${kernels} kernels): logits within ${F16_LOGITS_TOL} x max|HF value|`, async () => {
      const dir = join(FIXTURES, name);
      const task = name.startsWith('oneformer/') ? ('panoptic' as const) : undefined;
      const expected = await readTensors(join(dir, 'expected.safetensors'));
      const ctx = await requestNodeGpu({ kernels });
      const model = await SegmentationModel.load(ctx, await checkpointFromDir(dir));
      try {
        const pv = expected.get('pixel_values');
        if (!pv) throw new Error(`${name}: no pixel_values in the fixture`);
        const shape = pv.shape as [number, 3, number, number];
        // The graph forward() runs, rebuilt here to see its kernels: the policy's f16 matmul.
        const steps = model.spec.build(model.weights, { kind: 'pixel-values', shape }, { policy: ctx.policy }, ctx.limits.maxComputeWorkgroupsPerDimension).graph.steps;
        const f16Steps = steps.filter((st) => st.kernel.name === (kernels === 'gpu' ? 'matmul-vec4-f16' : 'matmul-f16')).length;
        const packed = model.weights.keys().filter((k) => model.weights.packed(k)).length;
        // Non-1x1 convs: f16 weights under 'gpu' (implicit GEMM), f32 under 'cpu' (direct kernel).
        const convF16 = steps.filter((st) => st.kernel.name === 'conv2d-gemm-f16').length;
        const convAll = steps.filter((st) => st.kernel.name.startsWith('conv2d')).length;
        console.log(`${name} ${kernels} kernels: ${f16Steps + convF16} of ${steps.length} steps read f16 weights (${convF16} of ${convAll} non-1x1 convs); ${packed} weights packed K-major`);
        if (kernels === 'gpu') expect(packed).toBeGreaterThan(0);
        expect(f16Steps).toBeGreaterThan(0);
        expect(convAll).toBeGreaterThan(0);
        expect(convF16).toBe(kernels === 'gpu' ? convAll : 0);
        const r = await model.forward({ pixelValues: pv.data as Float32Array, shape }, task ? { task } : {});
        for (const out of ['class_queries_logits', 'masks_queries_logits']) {
          const ref = expected.get(task ? `${task}.${out}` : out);
          if (!ref) throw new Error(`${name}: no ${out} in the fixture`);
          const e = maxErrors(r.outputs.get(out)?.data as Float32Array, ref.data as Float32Array);
          console.log(`${name} ${kernels} kernels, ${ctx.weightDtype} weights: ${out} vs HF max abs ${e.maxAbs.toExponential(2)} = ${(e.maxAbs / e.maxRef).toExponential(2)} x max|ref| ${e.maxRef.toFixed(3)} (tol ${F16_LOGITS_TOL})`);
          expect(e.maxAbs).toBeLessThanOrEqual(F16_LOGITS_TOL * e.maxRef);
        }
      } finally {
        model.dispose();
        ctx.dispose();
      }
    });
  }

  // Mask2Former only: the other families' post-processing is not in the engine yet.
  for (const name of FIXTURE_NAMES.map((n) => `mask2former/${n}`)) {
    it(`${name}: post-processed label maps agree with f32 on >= ${100 * F16_MAP_AGREEMENT}% of pixels`, async () => {
      const dir = join(FIXTURES, name);
      const ckpt = await checkpointFromDir(dir);
      const s16 = await Segmenter.load(ckpt, { gpu: ctx16 as GpuContext });
      const s32 = await Segmenter.load(ckpt, { gpu: ctx32 as GpuContext });
      try {
        for (const file of ['image0.png', 'image1.png'].filter((f) => existsSync(join(dir, f)))) {
          const image = readImage(join(dir, file));
          for (const task of ['semantic', 'instance', 'panoptic'] as const) {
            const a = await (await s16.segment(image, { task })).labelMap();
            const b = await (await s32.segment(image, { task })).labelMap();
            expect(a.length).toBe(b.length);
            let same = 0;
            for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
            console.log(`${name}/${file} ${task}: f16 label map equals f32 on ${((100 * same) / a.length).toFixed(2)}% of ${a.length} pixels`);
            expect(same / a.length).toBeGreaterThanOrEqual(F16_MAP_AGREEMENT);
          }
        }
      } finally {
        s16.dispose();
        s32.dispose();
      }
    });
  }
});
