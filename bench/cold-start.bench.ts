/**
 * Cold start of the `npm start` path in one process: device, checkpoint load, first panoptic
 * segment() of the embedded shapes model (graph planning, pipeline compilation, model pass,
 * post-processing), then a second segment() for comparison. Prints wall time and this process's
 * CPU time (user + system, all threads: on a shared machine wall time depends on the load, CPU
 * time much less), the number of pipelines compiled, and per kernel the CPU time of compiling its
 * variants one at a time on a fresh device. `KERNELS=cpu|gpu|auto` picks the policy.
 */
import { it } from 'vitest';
import { join } from 'node:path';
import { requestNodeGpu } from '../src/gpu/node.ts';
import { Segmenter } from '../src/segmenter.ts';
import { checkpointFromDir, readImage } from '../src/cli/node-io.ts';
import type { KernelChoice } from '../src/gpu/policy.ts';
import type { Constants, KernelDef } from '../src/gpu/kernel.ts';

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

it('cold start: load + compile + first result (shapes model, example-0.png, panoptic)', async () => {
  const kernels = (process.env.KERNELS ?? 'auto') as KernelChoice;
  const dir = join(process.cwd(), 'weights', 'shapes');
  const image = readImage(join(dir, 'example-0.png'));
  const w0 = performance.now();
  const c0 = cpuMs();
  const gpu = await requestNodeGpu({ kernels });
  const used: { kernel: KernelDef; constants: Constants }[] = [];
  const get = gpu.pipelines.get.bind(gpu.pipelines);
  gpu.pipelines.get = (kernel, constants) => {
    used.push({ kernel, constants });
    return get(kernel, constants);
  };
  const seg = await Segmenter.load(await checkpointFromDir(dir), { gpu });
  const w1 = performance.now();
  const c1 = cpuMs();
  const first = await seg.segment(image, { task: 'panoptic', label_ids_to_fuse: [1, 2] });
  await first.labelMap();
  const w2 = performance.now();
  const c2 = cpuMs();
  const second = await seg.segment(image, { task: 'panoptic', label_ids_to_fuse: [1, 2] });
  await second.labelMap();
  const w3 = performance.now();
  const c3 = cpuMs();
  console.log(`adapter: ${gpu.adapterName}`);
  console.log(`device + load: ${(w1 - w0).toFixed(0)} ms wall, ${(c1 - c0).toFixed(0)} ms CPU`);
  console.log(`first segment(): ${(w2 - w1).toFixed(0)} ms wall, ${(c2 - c1).toFixed(0)} ms CPU; ${gpu.pipelines.size} pipelines; timings ${JSON.stringify(Object.fromEntries(Object.entries(first.timings).map(([k, v]) => [k, Math.round(v)])))}`);
  console.log(`cold start total (device to first label map): ${(w2 - w0).toFixed(0)} ms wall, ${(c2 - c0).toFixed(0)} ms CPU`);
  console.log(`second segment(): ${(w3 - w2).toFixed(0)} ms wall, ${(c3 - c2).toFixed(0)} ms CPU`);
  seg.dispose();
  gpu.dispose();

  // Compile cost per kernel: each variant the run used, one at a time, on a fresh device.
  const fresh = await requestNodeGpu({ kernels });
  const seen = new Set<string>();
  const perKernel = new Map<string, { variants: number; cpu: number; wall: number }>();
  for (const { kernel, constants } of used) {
    const key = `${kernel.name}|${JSON.stringify(constants)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const s = performance.now();
    const c = cpuMs();
    await fresh.pipelines.get(kernel, constants);
    const e = perKernel.get(kernel.name) ?? { variants: 0, cpu: 0, wall: 0 };
    perKernel.set(kernel.name, { variants: e.variants + 1, cpu: e.cpu + cpuMs() - c, wall: e.wall + performance.now() - s });
  }
  const rows = [...perKernel].sort((a, b) => b[1].cpu - a[1].cpu);
  console.log(`compile, one pipeline at a time (${seen.size} pipelines, ${rows.reduce((a, [, r]) => a + r.cpu, 0).toFixed(0)} ms CPU):`);
  for (const [name, r] of rows) console.log(`  ${name.padEnd(24)} ${String(r.variants).padStart(2)} variant(s) ${r.cpu.toFixed(0).padStart(6)} ms CPU ${r.wall.toFixed(0).padStart(6)} ms wall`);
  fresh.dispose();
}, 1_800_000);
