#!/usr/bin/env node
// Time from a write through mount A to the event a watcher (@parcel/watcher, as editors use)
// receives on mount B, p50/p99 over N samples; baseline in the same run: write -> event on a
// plain native directory (writer and watcher on the same directory).
// Usage: node bench/watch-latency.mjs [--samples 100]
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import watcher from '@parcel/watcher';
import { benchOptions, fmt, jjfsHome, percentile, sleep, table } from './lib.mjs';

const { samples } = benchOptions('node bench/watch-latency.mjs [--samples 100]', { samples: 100 });

async function measure(writeDir, watchDir) {
  const lat = [];
  let waiting;
  const sub = await watcher.subscribe(watchDir, (err, events) => {
    if (err || !waiting) return;
    if (events.some((e) => path.basename(e.path) === waiting.name)) {
      const w = waiting;
      waiting = undefined;
      w.resolve(Number(process.hrtime.bigint() - w.start) / 1e6);
    }
  });
  try {
    for (let s = 0; s < samples; s += 1) {
      const name = `probe-${s % 5}.md`;
      const got = new Promise((resolve) => {
        waiting = { name, start: process.hrtime.bigint(), resolve };
      });
      await writeFile(path.join(writeDir, name), `sample ${s}\n`);
      const ms = await Promise.race([got, sleep(20_000).then(() => NaN)]);
      if (Number.isNaN(ms)) throw new Error(`sample ${s}: no event within 20 s`);
      lat.push(ms);
      await sleep(20);
    }
  } finally {
    await sub.unsubscribe();
  }
  return lat;
}

const h = jjfsHome('jjfs-bench-watch-');
try {
  const native = path.join(h.root, 'native');
  await mkdir(native);
  const base = await measure(native, native);
  const a = `${h.root}/a`;
  const b = `${h.root}/b`;
  await h.run(['open', 'bench', a]);
  await h.run(['open', 'bench', b]);
  const synced = await measure(a, b);
  console.log(`Write -> watcher event, ${samples} samples (ms)`);
  table(
    ['case', 'p50', 'p99', 'max'],
    [
      ['native dir, same dir (baseline)', fmt(percentile(base, 50)), fmt(percentile(base, 99)), fmt(Math.max(...base))],
      ['write in mount A -> event on mount B', fmt(percentile(synced, 50)), fmt(percentile(synced, 99)), fmt(Math.max(...synced))],
    ],
  );
} finally {
  await h.close();
}
