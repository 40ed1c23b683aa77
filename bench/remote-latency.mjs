#!/usr/bin/env node
// Benchmark: remote sync between two machines (two JJFS_HOMEs, two daemons) through a bare git
// repository on disk.
//
//   npx tsc -p tsconfig.build.json && node bench/remote-latency.mjs [--runs 8] [--interval 1]
//
// Prints, as medians (and min/p90/max) of --runs samples:
//  1. A→B: time from a write in a mount on machine A until the bytes are readable in a mount on
//     machine B, with push_interval = --interval seconds on both machines. Baseline from the same
//     run: A→A', the same write seen in a second mount on machine A (local sync only).
//  2. The cost of an idle remote round (nothing changed anywhere): `jjfs sync --remote` wall time
//     against `jjfs sync` (local round only) as the baseline, the daemon's own round time
//     (status lastRoundMs), and how many jj processes idle timer rounds spawn over a few seconds.
//  3. Edit → on the remote with DEFAULT settings (push_interval 300 s, push_delay 10 s) on a third
//     machine: a write in a mount until `git show main:FILE` of the bare remote has it (--default-runs,
//     default 3). Before pushes followed the edits, this waited for the 300 s timer.
// Leaves no mounts, processes or temp dirs behind. Figures are printed, never asserted.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchOptions } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');
const cli = path.join(repoRoot, 'bin', 'jjfs.cjs');
const options = benchOptions('node bench/remote-latency.mjs [--runs 8] [--default-runs 3] [--interval 1]', {
  runs: 8,
  'default-runs': 3,
  interval: 1,
});
const RUNS = options.runs;
const DEFAULT_RUNS = options['default-runs'];
const INTERVAL = options.interval;
if (!fs.existsSync(path.join(repoRoot, 'dist', 'cli', 'main.js'))) {
  console.error('dist/ is missing: run `npx tsc -p tsconfig.build.json` first');
  process.exit(2);
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jjfs-rbench-'));
const homes = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => process.stderr.write(`${s}\n`);

function jjfs(home, argv) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    execFile(process.execPath, [cli, ...argv], { env: { ...process.env, JJFS_HOME: home, NO_COLOR: '1' }, timeout: 120_000 }, (error, stdout, stderr) => {
      const ms = performance.now() - started;
      if (error) reject(new Error(`jjfs ${argv.join(' ')}: ${stderr || error.message}`));
      else resolve({ stdout, ms });
    });
  });
}

async function machine(name, defaults = false) {
  const home = path.join(root, name, 'home');
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  // Written before the daemon's first start (jjfs config set would do the same once it runs).
  const config = { version: 1, repos: defaults ? {} : { notes: { remote: null, push_interval: INTERVAL } }, mounts: [] };
  fs.writeFileSync(path.join(home, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  homes.push(home);
  await jjfs(home, ['init', 'notes']);
  return home;
}

async function open(home, dir) {
  await jjfs(home, ['open', 'notes', dir]);
  return dir;
}

async function waitContent(file, content, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (fs.readFileSync(file, 'utf8') === content) return;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`);
    await sleep(5);
  }
}

async function propagation(fromDir, toDir, label, i) {
  const file = `bench-${label}-${i}.txt`;
  const content = `${label} ${i} ${Date.now()}\n`;
  const started = performance.now();
  fs.writeFileSync(path.join(fromDir, file), content);
  await waitContent(path.join(toDir, file), content);
  return performance.now() - started;
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), min: s[0], p90: q(0.9), max: s[s.length - 1] };
}
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const row = (label, st, base) =>
  `  ${label.padEnd(44)} median ${fmt(st.median).padStart(8)}  (min ${fmt(st.min)}, p90 ${fmt(st.p90)}, max ${fmt(st.max)})` +
  (base ? `  ×${(st.median / base.median).toFixed(1)} baseline` : '');

async function status(home) {
  return JSON.parse((await jjfs(home, ['status', '--json'])).stdout);
}

async function cleanup() {
  for (const home of homes) await jjfs(home, ['stop']).catch(() => undefined);
  const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((p) => p && p.startsWith(`${root}/`));
  for (const mp of mounts) {
    try {
      execFileSync('umount', ['-l', mp]);
    } catch {
      // gone already
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
}

try {
  const remote = path.join(root, 'remote.git');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', remote]);
  log(`setting up two machines (push_interval ${INTERVAL} s) …`);
  const a = await machine('a');
  await jjfs(a, ['remote', 'add', remote, '--repo', 'notes']);
  const b = await machine('b');
  await jjfs(b, ['remote', 'add', remote, '--repo', 'notes']);
  const ma = await open(a, path.join(root, 'a', 'mnt'));
  const ma2 = await open(a, path.join(root, 'a', 'mnt2'));
  const mb = await open(b, path.join(root, 'b', 'mnt'));
  await propagation(ma, mb, 'warmup', 0); // B has adopted A's history; both timers run

  log(`measuring ${RUNS} writes A→A' (local) and A→B (through the remote) …`);
  const local = [];
  const remoteLat = [];
  for (let i = 0; i < RUNS; i++) {
    local.push(await propagation(ma, ma2, 'local', i));
    remoteLat.push(await propagation(ma, mb, 'remote', i));
  }

  log('measuring idle rounds …');
  await sleep(INTERVAL * 2000 + 500); // let both sides settle: nothing left to push or fetch
  const localSync = [];
  const remoteSync = [];
  for (let i = 0; i < RUNS; i++) {
    localSync.push((await jjfs(a, ['sync', 'notes'])).ms);
    remoteSync.push((await jjfs(a, ['sync', '--remote', 'notes'])).ms);
  }
  const before = await status(a);
  const idleWindowS = Math.max(5, INTERVAL * 5);
  const roundMs = [];
  const deadline = Date.now() + idleWindowS * 1000;
  while (Date.now() < deadline) {
    await sleep(INTERVAL * 1000);
    const st = await status(a);
    const ms = st.repos.find((r) => r.name === 'notes')?.remote?.lastRoundMs;
    if (typeof ms === 'number') roundMs.push(ms);
  }
  const after = await status(a);
  const jjSpawned = after.stats.jjCalls - before.stats.jjCalls;

  log(`measuring ${DEFAULT_RUNS} edits → remote with default settings …`);
  const remote2 = path.join(root, 'remote-default.git');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', remote2]);
  const c = await machine('c', true);
  await jjfs(c, ['remote', 'add', remote2, '--repo', 'notes']);
  const mc = await open(c, path.join(root, 'c', 'mnt'));
  const onRemote = (file) => {
    try {
      return execFileSync('git', ['--git-dir', remote2, 'show', `main:${file}`], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    } catch {
      return undefined;
    }
  };
  const toRemote = [];
  for (let i = 0; i < DEFAULT_RUNS; i++) {
    const file = `backup-${i}.txt`;
    const content = `edit ${i} ${Date.now()}\n`;
    const started = performance.now();
    fs.writeFileSync(path.join(mc, file), content);
    while (onRemote(file) !== content) {
      if (performance.now() - started > 120_000) throw new Error(`${file} did not reach the remote in 120 s`);
      await sleep(50);
    }
    toRemote.push(performance.now() - started);
  }
  const defaults = await status(c);

  const localSt = stats(local);
  const syncSt = stats(localSync);
  console.log(`jjfs remote sync — ${os.cpus().length} cores, git ${execFileSync('git', ['--version']).toString().trim().split(' ')[2]}, push_interval ${INTERVAL} s, ${RUNS} samples`);
  console.log('write → readable in another mount');
  console.log(row("A → A' (same machine; baseline)", localSt));
  console.log(row('A → B (two daemons, through the bare remote)', stats(remoteLat), localSt));
  console.log('idle round (nothing changed anywhere)');
  console.log(row('jjfs sync notes (local round; baseline)', syncSt));
  console.log(row('jjfs sync --remote notes', stats(remoteSync), syncSt));
  if (roundMs.length > 0) console.log(row('timer round inside the daemon (lastRoundMs)', stats(roundMs)));
  console.log(`  jj processes spawned by idle timer rounds in ${idleWindowS} s: ${jjSpawned} (each idle round is one git fetch + one git rev-parse)`);
  const pd = defaults.repos.find((r) => r.name === 'notes');
  console.log(`edit → on the remote, default settings (push_delay 10 s, push_interval 300 s), ${DEFAULT_RUNS} samples`);
  console.log(row('write in a mount → in the bare remote', stats(toRemote)));
  console.log(`  ${(stats(toRemote).median / 300_000 * 100).toFixed(1)}% of the 300 s it waited for before pushes followed edits; unpushed afterwards: ${pd?.remote?.unpushed ?? '?'}`);
} catch (error) {
  console.error(`bench failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
