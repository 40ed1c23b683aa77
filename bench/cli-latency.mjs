#!/usr/bin/env node
// CLI round-trip latency and daemon memory.
// - `jjfs --version` and `jjfs list` against a running daemon: median/p90 of 50 runs, against
//   `node -e 0` (bare Node start-up) measured in the same run.
// - daemon RSS idle with 0, 1 and 20 mounts.
// Usage: node bench/cli-latency.mjs [--runs 50]
import { execFile } from 'node:child_process';
import { CLI, fmt, jjfsHome, median, percentile, rssMiB, sleep, table, timed } from './lib.mjs';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 50;
const h = jjfsHome('jjfs-bench-cli-');
const exec = (args, env) =>
  new Promise((resolve, reject) => execFile(process.execPath, args, { env }, (e) => (e ? reject(e) : resolve())));

try {
  await h.run(['start']);
  const sample = async (args) => {
    const times = [];
    for (let i = 0; i < runs; i += 1) times.push(await timed(() => exec(args, h.env)));
    return times;
  };
  const bare = await sample(['-e', '0']);
  const version = await sample([CLI, '--version']);
  const list = await sample([CLI, 'list']);
  console.log(`CLI latency, ${runs} runs each (ms)`);
  table(
    ['command', 'median', 'p90', 'vs node -e 0'],
    [
      ['node -e 0 (baseline)', fmt(median(bare)), fmt(percentile(bare, 90)), '1.00x'],
      ['jjfs --version', fmt(median(version)), fmt(percentile(version, 90)), `${(median(version) / median(bare)).toFixed(2)}x`],
      ['jjfs list (daemon running)', fmt(median(list)), fmt(percentile(list, 90)), `${(median(list) / median(bare)).toFixed(2)}x`],
    ],
  );

  const pid = h.pid();
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
} finally {
  await h.close();
}
