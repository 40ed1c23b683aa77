#!/usr/bin/env node
// Benchmark: how long `jjfs start` takes to bring the daemon and every mount back, after a clean
// stop (baseline) and after kill -9, with and without the immediate lock takeover.
//
//   npx tsc -p tsconfig.build.json && node bench/restart-bench.mjs [--runs 5] [--mounts 3]
//
// "kill -9, no takeover" holds the daemon's abstract instance socket name in this process, so the
// restarted daemon cannot take the dead daemon's lock over at once and waits until the lock is stale
// (the behaviour before the takeover existed). Figures are medians (ms) with ratios against the
// clean restart of the same run. Leaves no mounts, processes or temp dirs behind.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchOptions } from './lib.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { runs: RUNS, mounts: MOUNTS } = benchOptions('node bench/restart-bench.mjs [--runs 5] [--mounts 3]', { runs: 5, mounts: 3 });
const { instanceSocketName } = await import(path.join(repo, 'dist', 'daemon', 'instance.js')).catch((e) => {
  console.error(`cannot import dist/ (run \`npx tsc -p tsconfig.build.json\`): ${e.message}`);
  process.exit(2);
});

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jjfs-restart-bench-'));
const home = path.join(root, 'home');
const env = { ...process.env, JJFS_HOME: home, NO_COLOR: '1' };
const log = (s) => process.stderr.write(`${s}\n`);

function jjfs(...a) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(repo, 'bin', 'jjfs.cjs'), ...a], { env, timeout: 120_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`jjfs ${a.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}
const pid = () => JSON.parse(fs.readFileSync(path.join(home, 'daemon.json'), 'utf8')).pid;
const alive = (p) => {
  try {
    process.kill(p, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function kill9() {
  const p = pid();
  process.kill(p, 'SIGKILL');
  while (alive(p)) await sleep(5);
}

async function timedStart() {
  const t0 = process.hrtime.bigint();
  await jjfs('start');
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const mounts = [];
try {
  for (let i = 0; i < MOUNTS; i++) {
    const where = path.join(root, `m${i}`);
    await jjfs('open', 'notes', where);
    mounts.push(where);
  }
  fs.writeFileSync(path.join(mounts[0], 'f.md'), 'x\n');
  await jjfs('sync');

  const results = { clean: [], crash: [], crashNoTakeover: [] };
  for (let r = 0; r < RUNS; r++) {
    await jjfs('stop');
    results.clean.push(await timedStart());

    await kill9();
    results.crash.push(await timedStart());

    await kill9();
    const squat = net.createServer();
    await new Promise((resolve) => squat.listen(instanceSocketName(home), () => resolve(undefined)));
    try {
      results.crashNoTakeover.push(await timedStart());
    } finally {
      squat.close();
    }
    log(`run ${r + 1}/${RUNS} done`);
  }
  const base = median(results.clean);
  const row = (name, xs) => `${name.padEnd(34)} ${median(xs).toFixed(0).padStart(7)} ms   ${(median(xs) / base).toFixed(2)}x`;
  console.log(`jjfs start with ${MOUNTS} mounts, median of ${RUNS} (ratio vs clean restart)`);
  console.log(row('after jjfs stop (baseline)', results.clean));
  console.log(row('after kill -9, lock taken over', results.crash));
  console.log(row('after kill -9, no takeover (old)', results.crashNoTakeover));
} finally {
  await jjfs('stop').catch(() => undefined);
  for (const m of mounts) {
    if (fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === m)) {
      await new Promise((r) => execFile('umount', ['-l', m], r));
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
}
