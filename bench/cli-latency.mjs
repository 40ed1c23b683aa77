#!/usr/bin/env node
// CLI start-up latency: `node -e 0` (bare Node start-up), `jjfs --version` and `jjfs list` against a
// real daemon, interleaved (one run of each in turn, so a change in machine load hits all three
// alike), N runs each after one warm-up run. Prints median and p90 and each median's ratio to
// `node -e 0`'s; the goal is ≤ 1.30× for both commands.
// The daemon runs in a temporary JJFS_HOME; this script starts it itself (so it knows its pid from
// the start) and stops it by that pid at the end, also when a run fails or the script is interrupted.
// With --rss, it also opens 1 and then 20 mounts (needs FUSE) and prints the daemon's idle RSS.
// Usage: node bench/cli-latency.mjs [--runs 30] [--rss]
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { benchOptions, CLI, ROOT, fmt, jjfsHome, median, percentile, rssMiB, sleep, table, timed } from './lib.mjs';

const { runs, rss: withRss } = benchOptions('node bench/cli-latency.mjs [--runs 30] [--rss]', { runs: 30, rss: false });
const h = jjfsHome('jjfs-bench-cli-');

/** Runs `node ARGS` with the bench's env; rejects on a non-zero exit. */
const exec = (args) =>
  new Promise((resolve, reject) =>
    execFile(process.execPath, args, { env: h.env, cwd: h.root }, (e, stdout, stderr) =>
      e ? reject(new Error(`node ${args.join(' ')}: ${stderr || e.message}`)) : resolve(stdout),
    ),
  );

let daemon;
/** Stops the daemon this script started, by its pid: SIGTERM, then SIGKILL after 10 s. */
async function stopDaemon() {
  const pid = daemon?.pid;
  if (!pid || daemon.exitCode !== null || daemon.signalCode !== null) return;
  daemon.kill('SIGTERM');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && daemon.exitCode === null && daemon.signalCode === null) await sleep(50);
  if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    void stopDaemon().finally(() => h.close().finally(() => process.exit(130)));
  });
}

try {
  // The daemon, started as the CLI would start it (same entry and environment), its output in the log.
  const { daemonEnv, DAEMON_ENTRY } = await import(path.join(ROOT, 'dist', 'launch', 'daemon-env.js'));
  const { resolvePaths } = await import(path.join(ROOT, 'dist', 'config', 'paths.js'));
  const paths = resolvePaths(h.env);
  mkdirSync(h.home, { recursive: true, mode: 0o700 });
  const log = openSync(paths.logFile, 'a', 0o600);
  daemon = spawn(process.execPath, [DAEMON_ENTRY], { env: await daemonEnv(paths, h.env), stdio: ['ignore', log, log], cwd: h.home });
  closeSync(log);
  const deadline = Date.now() + 60_000;
  while (!existsSync(paths.daemonInfo)) {
    if (daemon.exitCode !== null) throw new Error(`jjfsd exited with code ${daemon.exitCode}; see ${paths.logFile}`);
    if (Date.now() > deadline) throw new Error(`jjfsd did not start within 60 s; see ${paths.logFile}`);
    await sleep(50);
  }

  const commands = [
    ['node -e 0 (baseline)', ['-e', '0']],
    ['jjfs --version', [CLI, '--version']],
    ['jjfs list (daemon running)', [CLI, 'list']],
  ];
  // One warm-up run of each (page cache, the daemon's first answer), which also checks they work.
  for (const [, args] of commands) await exec(args);
  const times = commands.map(() => []);
  for (let i = 0; i < runs; i += 1) {
    for (const [j, [, args]] of commands.entries()) times[j].push(await timed(() => exec(args)));
  }
  const base = median(times[0]);
  console.log(`CLI latency, ${runs} runs each, interleaved (ms)`);
  table(
    ['command', 'median', 'p90', 'median vs node -e 0'],
    commands.map(([label], j) => [label, fmt(median(times[j])), fmt(percentile(times[j], 90)), `${(median(times[j]) / base).toFixed(2)}x`]),
  );

  if (withRss) {
    const pid = daemon.pid;
    await sleep(2000);
    const rss0 = rssMiB(pid);
    await h.run(['open', 'bench', `${h.root}/m0`]);
    await sleep(2000);
    const rss1 = rssMiB(pid);
    for (let i = 1; i < 20; i += 1) await h.run(['open', 'bench', `${h.root}/m${i}`]);
    await sleep(3000);
    const rss20 = rssMiB(pid);
    console.log('\nDaemon RSS, idle (MiB)');
    table(['mounts', 'RSS'], [['0', rss0.toFixed(1)], ['1', rss1.toFixed(1)], ['20', rss20.toFixed(1)]]);
  }
} finally {
  // Mounts (--rss) are unmounted by the daemon on SIGTERM; h.close() clears what a killed one left.
  await stopDaemon();
  await h.close();
}
