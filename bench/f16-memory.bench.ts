/**
 * GPU weight memory with f16 weights vs f32, measured on a shader-f16 adapter: Mesa's lavapipe
 * (selected for this process; scripts/setup.sh installs it), or the adapter Dawn finds when
 * MASKGPU_BENCH_ADAPTER=default (a GPU). Loads each checkpoint three times (precision 'f32'; 'auto'
 * with the adapter's kernel policy; 'auto' with the gpu policy forced, under which the non-1x1
 * conv weights are f16 too) and prints the weight store's bytes by dtype and the largest tensors
 * that stay f32. Checkpoints:
 * the embedded shapes model (weights/shapes) and facebook/mask2former-swin-tiny-coco-panoptic's
 * exact shapes with random weights. Each is also loaded under the gpu kernel policy (linear weights
 * packed K-major for the vec4 matmul, f32 and f16): the bytes the padding adds. Load only (no
 * forward): run `npm run bench -- bench/f16-memory`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';

const LAVAPIPE_ICDS = ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'];
const icd = LAVAPIPE_ICDS.find((p) => existsSync(p));
if (process.env.MASKGPU_BENCH_ADAPTER !== 'default' && icd) process.env.VK_ICD_FILENAMES = icd;

const { requestNodeGpu } = await import('../src/gpu/node.ts');
const { SegmentationModel } = await import('../src/models/session.ts');
const { hfConfigJson, hubShapeConfig, randomCheckpoint } = await import('../test/ref/hf-checkpoint.ts');
type CheckpointSource = import('../src/checkpoint.ts').CheckpointSource;

const MiB = (n: number): string => `${(n / 2 ** 20).toFixed(2)} MiB`;

it('weight memory: f16 vs f32', async () => {
  const ctx16 = await requestNodeGpu();
  const ctx32 = await requestNodeGpu({ precision: 'f32' });
  const ctxGpu = await requestNodeGpu({ kernels: 'gpu' });
  const packed32 = await requestNodeGpu({ kernels: 'gpu', precision: 'f32' });
  try {
    console.log(`adapter: ${ctx16.adapterName}; gpu policy forced: ${ctxGpu.adapterName}`);
    if (ctx16.weightDtype !== 'f16') {
      console.log('no shader-f16 on this adapter: nothing to measure');
      return;
    }
    const dir = join(import.meta.dirname, '..', 'weights', 'shapes');
    const swin = hubShapeConfig('swin-tiny', 'coco-panoptic');
    const sources: CheckpointSource[] = [
      { name: 'embedded shapes model', config: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as unknown, weights: new Uint8Array(readFileSync(join(dir, 'model.safetensors'))) },
      { name: 'swin-tiny-coco-panoptic shapes (random weights)', config: hfConfigJson(swin), weights: randomCheckpoint(swin, 1) },
    ];
    for (const src of sources) {
      const m32 = await SegmentationModel.load(ctx32, src);
      for (const ctx of [ctx16, ctxGpu]) {
        const m16 = await SegmentationModel.load(ctx, src);
        const w = m16.weights;
        const by = w.bytesByDtype;
        const f32Left = w.keys().filter((k) => w.has(k) && w.dtype(k) === 'f32').map((k) => [k, w.shape(k).reduce((a, b) => a * b, 1) * 4] as const).sort((a, b) => b[1] - a[1]);
        const packedCount = w.keys().filter((k) => w.has(k) && w.packed(k)).length;
        console.log(`${src.name}: f32 weights ${MiB(m32.weights.bytes)}; f16 mode, ${ctx.policy.name} kernels (${packedCount} tensors packed K-major) ${MiB(w.bytes)} (f16 ${MiB(by.f16)}, f32 ${MiB(by.f32)}, i32 ${MiB(by.i32)}): ${(100 * (1 - w.bytes / m32.weights.bytes)).toFixed(1)}% saved`);
        console.log(`  largest tensors still f32: ${f32Left.slice(0, 6).map(([k, b]) => `${k} ${MiB(b)}`).join('; ')}`);
        m16.dispose();
      }
      const bytes32 = m32.weights.bytes;
      m32.dispose();
      // gpu kernel policy, f32: linear weights packed K-major ([K, N rounded up to 4]); the bytes the padding adds.
      const m = await SegmentationModel.load(packed32, src);
      const packedKeys = m.weights.keys().filter((k) => m.weights.has(k) && m.weights.packed(k));
      console.log(`  gpu policy, f32 weights, ${packedKeys.length} tensors packed K-major: ${m.weights.bytes} bytes vs ${bytes32} unpacked (+${m.weights.bytes - bytes32} bytes, +${((100 * (m.weights.bytes - bytes32)) / bytes32).toFixed(4)}%)`);
      m.dispose();
    }
  } finally {
    ctx16.dispose();
    ctx32.dispose();
    ctxGpu.dispose();
    packed32.dispose();
  }
}, 600_000);
