#!/usr/bin/env node
// Subtree mounts (issue 16): disk use of N subtree mounts of one folder of a large repo against N
// full mounts, and propagation latency from a full mount into a subtree mount against full → full.
// Usage: node bench/subtree.mjs [--mounts 20] [--files 10000] [--folder-files 100] [--samples 30]
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { benchOptions, jjfsHome, percentile, sleep } from './lib.mjs';

const options = benchOptions('node bench/subtree.mjs [--mounts 20] [--files 10000] [--folder-files 100] [--samples 30]', {
  mounts: 20,
  files: 10_000,
  'folder-files': 100,
  samples: 30,
});
const { mounts, files, samples } = options;
const folderFiles = options['folder-files'];

/** Disk use (KiB, as du counts it) of the backing workspaces of `list`'s mounts, jj's metadata included. */
async function workspacesKiB(h, which) {
  const { mounts: all } = await h.json(['list']);
  const dirs = all.filter(which).map((m) => m.workspace);
  return Number(execFileSync('du', ['-sck', ...dirs], { encoding: 'utf8' }).trim().split('\n').pop().split('\t')[0]);
}

async function latency(from, to, file) {
  const lat = [];
  for (let s = 0; s < samples; s++) {
    const token = `sample ${s} ${Date.now()}\n`;
    await writeFile(path.join(from, file), token);
    const start = process.hrtime.bigint();
    for (;;) {
      const seen = await readFile(path.join(to, path.basename(file)), 'utf8').catch(() => '');
      if (seen === token) break;
      if (Number(process.hrtime.bigint() - start) / 1e6 > 30_000) throw new Error(`sample ${s} did not propagate in 30 s`);
      await sleep(2);
    }
    lat.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return lat;
}

const h = jjfsHome('jjfs-bench-subtree-');
try {
  const seed = path.join(h.root, 'seed');
  await h.run(['open', 'notes', seed]);
  // The folder a subtree mount shows, and the rest of the repo.
  await mkdir(path.join(seed, 'projects', 'a'), { recursive: true });
  await Promise.all(Array.from({ length: folderFiles }, (_, i) => writeFile(path.join(seed, 'projects', 'a', `f${i}.md`), `a ${i}\n${'x'.repeat(200)}\n`)));
  for (let d = 0; d < Math.ceil((files - folderFiles) / 500); d++) {
    const dir = path.join(seed, `d${d}`);
    await mkdir(dir);
    const n = Math.min(500, files - folderFiles - d * 500);
    await Promise.all(Array.from({ length: n }, (_, i) => writeFile(path.join(dir, `f${i}.md`), `file ${d}/${i}\n${'y'.repeat(200)}\n`)));
  }
  await h.run(['sync', 'notes']);
  for (let i = 0; i < mounts; i++) await h.run(['open', 'notes/projects/a', path.join(h.root, `sub${i}`)]);
  for (let i = 0; i < mounts; i++) await h.run(['open', 'notes', path.join(h.root, `full${i}`)]);
  await h.run(['sync', 'notes']);
  const subKiB = await workspacesKiB(h, (m) => m.subtree !== undefined);
  const fullKiB = await workspacesKiB(h, (m) => m.subtree === undefined && m.path !== seed);
  console.log(`repo: ${files} files (${folderFiles} in projects/a); ${mounts} subtree mounts of projects/a vs ${mounts} full mounts`);
  console.log(`disk of the workspaces: subtree ${(subKiB / 1024).toFixed(1)} MiB, full ${(fullKiB / 1024).toFixed(1)} MiB (${(fullKiB / subKiB).toFixed(1)}× more)`);
  const toSub = await latency(path.join(seed, 'projects', 'a'), path.join(h.root, 'sub0'), 'probe.md');
  const toFull = await latency(seed, path.join(h.root, 'full0'), 'probe-full.md');
  const f = (v) => `p50 ${percentile(v, 50).toFixed(0)} / p95 ${percentile(v, 95).toFixed(0)} / p99 ${percentile(v, 99).toFixed(0)} ms`;
  console.log(`full mount → subtree mount: ${f(toSub)}`);
  console.log(`full mount → full mount:    ${f(toFull)}   (same run, ${1 + 2 * mounts} mounts)`);
} finally {
  await h.close();
}
