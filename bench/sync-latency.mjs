#!/usr/bin/env node
// Propagation latency: write through mount A -> new content visible through mount B.
// For each (mounts, files) configuration: p50/p95/p99 over N samples; then, idle, the daemon's
// CPU use and the jj processes it spawns per minute. Baseline in the same run: the time for the
// same write + read on the native backing directory (what a plain file costs).
// Usage: node bench/sync-latency.mjs [--samples 100] [--quick]   (--quick: 2 and 20 mounts on 10 and 1,000 files, 30 samples)
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { benchOptions, cpuMs, fmt, jjfsHome, percentile, sleep, table, timed } from './lib.mjs';

const options = benchOptions('node bench/sync-latency.mjs [--samples 100] [--quick]', { samples: 0, quick: false });
const quick = options.quick;
const samples = options.samples || (quick ? 30 : 100);
const configs = quick
  ? [[2, 10], [20, 1000]]
  : [[2, 10], [2, 1000], [2, 10000], [20, 10], [20, 1000], [20, 10000]];

const rows = [];
for (const [mounts, files] of configs) {
  const h = jjfsHome('jjfs-bench-sync-');
  try {
    const first = `${h.root}/m0`;
    await h.run(['open', 'bench', first]);
    // Seed the repo through the first mount, record it, then open the others (each checks it out).
    for (let d = 0; d < Math.ceil(files / 500); d += 1) {
      const dir = path.join(first, `d${d}`);
      await mkdir(dir);
      const n = Math.min(500, files - d * 500);
      await Promise.all(Array.from({ length: n }, (_, i) => writeFile(path.join(dir, `f${i}.md`), `file ${d}/${i}\n`)));
    }
    await h.run(['sync', 'bench']);
    const paths = [first];
    for (let i = 1; i < mounts; i += 1) {
      paths.push(`${h.root}/m${i}`);
      await h.run(['open', 'bench', paths[i]]);
    }
    await h.run(['sync', 'bench']);
    const lat = [];
    for (let s = 0; s < samples; s += 1) {
      const src = paths[s % mounts];
      const dst = paths[(s + 1) % mounts];
      const token = `sample ${s} ${Date.now()}\n`;
      await writeFile(path.join(src, 'probe.md'), token);
      const start = process.hrtime.bigint();
      for (;;) {
        const seen = await readFile(path.join(dst, 'probe.md'), 'utf8').catch(() => '');
        if (seen === token) break;
        if (Number(process.hrtime.bigint() - start) / 1e6 > 30_000) throw new Error(`sample ${s} did not propagate in 30 s`);
        await sleep(2);
      }
      lat.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    // Idle: CPU and jj processes over 20 s after everything converged.
    await h.run(['sync', 'bench']);
    await sleep(2000);
    const pid = h.pid();
    const cpu0 = cpuMs(pid);
    const jj0 = (await h.json(['status'])).stats.jjCalls;
    await sleep(20_000);
    const cpu1 = cpuMs(pid);
    const jj1 = (await h.json(['status'])).stats.jjCalls - 1; // minus nothing: status spawns no jj
    const nativeWrite = await timed(async () => {
      await writeFile(path.join(h.root, 'native-probe.md'), 'x\n');
      await readFile(path.join(h.root, 'native-probe.md'), 'utf8');
    });
    rows.push([
      mounts,
      files,
      samples,
      fmt(percentile(lat, 50)),
      fmt(percentile(lat, 95)),
      fmt(percentile(lat, 99)),
      fmt(Math.max(...lat)),
      `${((cpu1 - cpu0) / 200).toFixed(2)}%`,
      String(Math.max(0, ((jj1 + 1 - jj0) * 60) / 20)),
      fmt(nativeWrite),
    ]);
    console.error(`done: ${mounts} mounts, ${files} files`);
  } finally {
    await h.close();
  }
}
console.log('Propagation latency: write through mount A -> visible through mount B (ms)');
table(['mounts', 'files', 'samples', 'p50', 'p95', 'p99', 'max', 'idle CPU', 'idle jj/min', 'native write+read'], rows);
