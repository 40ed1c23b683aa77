#!/usr/bin/env node
// Many writers, one file (issue 11): N mounts of one repo each append numbered lines to ONE shared
// file (and to a file of their own) for S seconds, then `jjfs sync` until converged. Prints, per
// configuration: lines written, lost, duplicated and conflict-marker lines (all must be 0), the
// shared file's size against the bytes written, whether every mount is byte-identical, and the
// sync round duration p50 / p99 / max per 10-second window (the max must not grow over time).
// --own-only: no shared file (each mount appends to its own file only: rebases without conflicts).
// --jj: the daemon logs every jj call (JJFS_LOG_LEVEL=debug); prints, per kind of call, how many
// ran while the writers wrote, their p50 and their share of the jj time, and rounds and commits.
// Usage: node bench/sync-stress.mjs [--seconds 60] [--mounts 5,20] [--pause-ms 20] [--own-only] [--jj]
import { appendFile, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { benchOptions, fmt, jjfsHome, percentile, sleep, table } from './lib.mjs';

const options = benchOptions('node bench/sync-stress.mjs [--seconds 60] [--mounts 5,20] [--pause-ms 20] [--own-only] [--jj]', {
  seconds: 60,
  mounts: '5,20',
  'pause-ms': 20,
  'own-only': false,
  jj: false,
});
const seconds = options.seconds;
const counts = options.mounts.split(',').map(Number);
const pauseMs = options['pause-ms'];
const ownOnly = options['own-only'];
const jjProfile = options.jj;

/** Lines missing, duplicated, unexpected and marker lines of `text` against what was written. */
function audit(text, written) {
  const want = new Map();
  for (const l of written) want.set(l, (want.get(l) ?? 0) + 1);
  const have = new Map();
  const lines = text.split(/(?<=\n)/).filter((l) => l !== '');
  for (const l of lines) have.set(l, (have.get(l) ?? 0) + 1);
  let lost = 0;
  let duplicated = 0;
  let unexpected = 0;
  for (const [l, n] of want) {
    const got = have.get(l) ?? 0;
    if (got < n) lost += n - got;
    if (got > n) duplicated += got - n;
  }
  for (const [l, n] of have) if (!want.has(l)) unexpected += n;
  const markers = lines.filter((l) => /^(<{7}|={7}|>{7}|\|{7}|%{7}|\+{7})( |\n|$)/.test(l)).length;
  return { lost, duplicated, unexpected, markers };
}

/** jj calls from the daemon's debug log between t0 and until, by kind ("rebase in a workspace"). */
async function jjCalls(home, t0, until) {
  const log = await readFile(path.join(home, 'sync.log'), 'utf8').catch(() => '');
  const kinds = new Map();
  let rounds = 0;
  let commits = 0;
  for (const line of log.split('\n')) {
    const at = Date.parse(line.split(' ')[0]);
    if (!(at >= t0 && at <= until)) continue;
    const round = /\[sync\] round (\{.*\})$/.exec(line);
    if (round) {
      rounds += 1;
      commits += JSON.parse(round[1]).committed.length;
      continue;
    }
    const m = /\[jj\] jj (\{.*\})$/.exec(line);
    if (!m) continue;
    const call = JSON.parse(m[1]);
    const words = call.args.filter((a, i, all) => !a.startsWith('--') && !(all[i - 1] ?? '').startsWith('--config'));
    const kind = `${words.slice(0, 2).join(' ')} (${call.cwd.includes(`${path.sep}workspaces${path.sep}`) ? 'in a workspace' : 'repo'})`;
    (kinds.get(kind) ?? kinds.set(kind, []).get(kind)).push(call.ms);
  }
  return { kinds, rounds, commits };
}

/** Round durations from the daemon's log, grouped into 10-second windows from `t0`. */
async function roundWindows(home, t0, until) {
  const log = await readFile(path.join(home, 'sync.log'), 'utf8').catch(() => '');
  const windows = [];
  for (const line of log.split('\n')) {
    const m = /^(\S+) \S+ \[sync\] round (\{.*\})$/.exec(line);
    if (!m) continue;
    const at = Date.parse(m[1]);
    if (!(at >= t0 && at <= until)) continue;
    const w = Math.floor((at - t0) / 10_000);
    (windows[w] ??= []).push(JSON.parse(m[2]).ms);
  }
  return windows;
}

async function run(count) {
  const h = jjfsHome('jjfs-bench-stress-');
  if (jjProfile) Object.assign(h.env, { JJFS_LOG_LEVEL: 'debug' });
  try {
    const mounts = [];
    for (let i = 0; i < count; i += 1) {
      mounts.push(`${h.root}/m${i}`);
      await h.run(['open', 'stress', mounts[i]]);
    }
    const written = new Map([['shared.log', []]]);
    const t0 = Date.now();
    const deadline = t0 + seconds * 1000;
    await Promise.all(
      mounts.map(async (m, i) => {
        written.set(`own-${i}.log`, []);
        for (let n = 0; Date.now() < deadline; n += 1) {
          const shared = `m${i} shared ${n}\n`;
          const own = `m${i} own ${n}\n`;
          if (!ownOnly) await appendFile(path.join(m, 'shared.log'), shared);
          await appendFile(path.join(m, `own-${i}.log`), own);
          if (!ownOnly) written.get('shared.log').push(shared);
          written.get(`own-${i}.log`).push(own);
          await sleep(pauseMs + Math.random() * pauseMs);
        }
      }),
    );
    const writersDone = Date.now();
    let round;
    for (let i = 0; i < 5; i += 1) {
      ({ rounds: [round] } = await h.json(['sync', 'stress']));
      if (round.converged) break;
    }
    const settleMs = Date.now() - writersDone;
    // A mount shows a round's result within moments; give the last one a second to be visible.
    let trees = [];
    for (let i = 0; i < 50; i += 1) {
      trees = await Promise.all(
        mounts.map(async (m) => Object.fromEntries(await Promise.all((await readdir(m)).sort().map(async (n) => [n, await readFile(path.join(m, n), 'utf8')])))),
      );
      if (trees.every((t) => JSON.stringify(t) === JSON.stringify(trees[0]))) break;
      await sleep(100);
    }
    const identical = trees.every((t) => JSON.stringify(t) === JSON.stringify(trees[0]));
    const totals = { lost: 0, duplicated: 0, unexpected: 0, markers: 0 };
    for (const [file, lines] of written) {
      const a = audit(trees[0][file] ?? '', lines);
      for (const k of Object.keys(totals)) totals[k] += a[k];
    }
    const shared = written.get('shared.log');
    const sharedBytes = Buffer.byteLength(trees[0]['shared.log'] ?? '');
    const writtenBytes = shared.reduce((n, l) => n + Buffer.byteLength(l), 0);
    const lines = [...written.values()].reduce((n, l) => n + l.length, 0);
    console.log(`\n${count} mounts × ${seconds} s, pause ${pauseMs}–${2 * pauseMs} ms: ${lines} lines written (${shared.length} to shared.log)`);
    console.log(
      `lost ${totals.lost}, duplicated ${totals.duplicated}, unexpected ${totals.unexpected}, marker lines ${totals.markers}; ` +
        `shared.log ${sharedBytes} bytes for ${writtenBytes} written; mounts identical: ${identical}; converged: ${round.converged}; ` +
        `conflicts: ${round.conflicts.length}; final sync ${settleMs} ms`,
    );
    const windows = await roundWindows(h.home, t0, writersDone + settleMs);
    table(
      ['window', 'rounds', 'p50 ms', 'p99 ms', 'max ms'],
      windows.map((w, i) => [`${i * 10}-${i * 10 + 10} s`, w?.length ?? 0, w ? fmt(percentile(w, 50)) : '-', w ? fmt(percentile(w, 99)) : '-', w ? fmt(Math.max(...w)) : '-']),
    );
    if (jjProfile) {
      const { kinds, rounds, commits } = await jjCalls(h.home, t0, writersDone);
      const total = [...kinds.values()].flat().reduce((a, b) => a + b, 0);
      console.log(`jj calls while the writers wrote: ${rounds} rounds, ${commits} commits, ${fmt(total)} ms of jj`);
      table(
        ['jj call', 'count', 'per commit', 'p50 ms', 'share'],
        [...kinds]
          .sort((a, b) => b[1].reduce((x, y) => x + y, 0) - a[1].reduce((x, y) => x + y, 0))
          .map(([k, v]) => [k, v.length, (v.length / Math.max(1, commits)).toFixed(2), fmt(percentile(v, 50)), `${((100 * v.reduce((x, y) => x + y, 0)) / total).toFixed(0)}%`]),
      );
    }
    return totals.lost + totals.duplicated + totals.unexpected + totals.markers === 0 && identical && sharedBytes === writtenBytes;
  } finally {
    await h.close();
  }
}

let ok = true;
for (const count of counts) ok = (await run(count)) && ok;
process.exitCode = ok ? 0 : 1;
