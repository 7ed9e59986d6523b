/** Per-kernel GPU time of the shapes model on one example (Node, Dawn), top steps by time. */
import { it } from 'vitest';
import { join } from 'node:path';
import { requestNodeGpu } from '../src/gpu/node.ts';
import { SegmentationModel } from '../src/models/session.ts';
import { checkpointFromDir, readImage } from '../src/cli/node-io.ts';

it('profile shapes model', async () => {
  // MASKGPU_BENCH_ROBUSTNESS=1: Dawn's bounds checks on, as in Chromium.
  const gpu = await requestNodeGpu({ robustness: process.env.MASKGPU_BENCH_ROBUSTNESS === '1' });
  const dir = join(process.cwd(), 'weights', 'shapes');
  const model = await SegmentationModel.load(gpu, await checkpointFromDir(dir), { profile: process.env.PROFILE !== '0' });
  const image = readImage(join(dir, 'example-0.png'));
  for (let run = 0; run < 3; run++) {
    const r = await model.forward({ images: [image] });
    console.log(`run ${run}: ${JSON.stringify(Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [k, Math.round(v)])))}`);
    if (r.steps && run === 2) {
      const byKernel = new Map<string, number>();
      for (const s of r.steps) byKernel.set(s.label.replace(/\.\d+/g, '.N').split('/').slice(-1)[0] as string, (byKernel.get(s.label.replace(/\.\d+/g, '.N').split('/').slice(-1)[0] as string) ?? 0) + s.ms);
      console.log([...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join('\n'));
      console.log([...r.steps].sort((a, b) => b.ms - a.ms).slice(0, 10).map((s) => `${s.label} ${s.ms.toFixed(1)} ms`).join('\n'));
    }
  }
  model.dispose();
  gpu.dispose();
}, 600_000);
