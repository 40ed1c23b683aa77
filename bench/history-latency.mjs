#!/usr/bin/env node
// History command latency, end to end through the CLI and the daemon, on a repo with N versions of
// one file (plus other files) and two mounts:
// - read-only: `jjfs log` (whole repo / one file), `jjfs show REV PATH`, `jjfs diff REV PATH`,
//   against `jjfs list` (CLI + RPC with no jj call) and a bare `jj log` on the private repo (one
//   jj process), measured in the same run;
// - changes: `jjfs restore PATH --at REV` (records pending edits, new commit, fan-out to the other
//   mount, verification) and `jjfs undo`, against `jjfs sync` (one forced round) in the same run.
// Usage: node bench/history-latency.mjs [--versions 100] [--runs 20]
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { benchOptions, CLI, ROOT, fmt, jjfsHome, median, percentile, sleep, table, timed } from './lib.mjs';

const { versions, runs } = benchOptions('node bench/history-latency.mjs [--versions 100] [--runs 20]', { versions: 100, runs: 20 });
const h = jjfsHome('jjfs-bench-hist-');
const exec = (file, args, opts) =>
  new Promise((resolve, reject) => execFile(file, args, { maxBuffer: 64 << 20, ...opts }, (e, out) => (e ? reject(e) : resolve(out))));
const jjfs = (args, cwd) => exec(process.execPath, [CLI, ...args], { env: h.env, cwd });
const jj = (args) =>
  exec(path.join(ROOT, 'node_modules', '.bin', 'jj'), ['--ignore-working-copy', '--no-pager', ...args], {
    cwd: path.join(h.home, 'repos', 'bench', 'repo'),
    env: { ...process.env, JJ_CONFIG: path.join(h.home, 'jj-config.toml') },
  });

try {
  const a = path.join(h.root, 'a');
  await h.run(['open', 'bench', a]);
  await h.run(['open', 'bench', path.join(h.root, 'b')]);
  await sleep(1000); // let the open's own first round and its watcher grace period pass
  for (let i = 0; i < 50; i += 1) writeFileSync(path.join(a, `other-${i}.md`), `other ${i}\n`);
  await h.run(['sync', 'bench']);
  process.stdout.write(`building ${versions} versions of n.md ...`);
  for (let v = 1; v <= versions; v += 1) {
    writeFileSync(path.join(a, 'n.md'), `${Array.from({ length: 40 }, (_, l) => `line ${l} of version ${l === v % 40 ? v : 0}`).join('\n')}\n`);
    await h.run(['sync', 'bench']);
  }
  console.log(' done');
  const { entries } = await h.json(['log', path.join(a, 'n.md')]);
  const old = entries[Math.floor(entries.length / 2)].commit.slice(0, 12);
  const older = entries[entries.length - 1].commit.slice(0, 12);

  const sample = async (fn) => {
    const times = [];
    for (let i = 0; i < runs; i += 1) times.push(await timed(fn));
    return times;
  };
  const rows = [];
  const row = (label, times, base) =>
    rows.push([label, fmt(median(times)), fmt(percentile(times, 90)), base ? `${(median(times) / median(base)).toFixed(2)}x` : '1.00x']);

  const list = await sample(() => jjfs(['list'], a));
  const bare = await sample(() => jj(['log', '-r', '::main', '--no-graph', '-T', 'commit_id ++ "\\n"']));
  row('jjfs list (baseline: CLI + RPC, no jj)', list);
  row(`jj log ::main, direct (${versions}+ commits)`, bare, list);
  row('jjfs log (whole repo)', await sample(() => jjfs(['log'], a)), list);
  row('jjfs log n.md', await sample(() => jjfs(['log', 'n.md'], a)), list);
  row('jjfs show REV n.md', await sample(() => jjfs(['show', old, 'n.md'], a)), list);
  row('jjfs diff REV n.md', await sample(() => jjfs(['diff', old, 'n.md'], a)), list);
  console.log(`\nRead-only history commands, ${runs} runs each (ms); ratio vs jjfs list`);
  table(['command', 'median', 'p90', 'vs list'], rows);

  rows.length = 0;
  const sync = await sample(() => jjfs(['sync', 'bench'], a));
  let flip = false;
  const restore = await sample(() => {
    flip = !flip;
    return jjfs(['restore', 'n.md', '--at', flip ? old : older], a);
  });
  const undo = await sample(() => jjfs(['undo'], a));
  row('jjfs sync, nothing to record (baseline: one forced round)', sync);
  row('jjfs restore n.md --at REV (2 mounts)', restore, sync);
  row('jjfs undo (2 mounts)', undo, sync);
  console.log(`\nHistory changes, ${runs} runs each (ms); ratio vs a forced round`);
  table(['command', 'median', 'p90', 'vs sync'], rows);
} finally {
  await h.close();
}
