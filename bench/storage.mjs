// History size under agent-pace writing, with and without compaction.
//
//   node bench/storage.mjs [--minutes 10] [--mounts 3,10] [--variants on,off] [--interval-ms 100]
//                          [--set debounce_ms=1000,max_wait_ms=2000]   (repo settings, as `jjfs config set`)
//
// Each mount gets a writer that, every interval, appends a line to its own log file and rewrites a
// small file of its own (what agents do). Every minute the repo's store is measured (jjfs status:
// history bytes, loose objects, packs, commits, jj operations) against
// the bytes the writers wrote and their gzip size. "off" sets compact_loose_objects 0 and
// op_log_max 0. Sync rounds (jjfs sync) are timed every 5 s; at the end the daemon's log says when
// each compaction ran, and the rounds that overlapped one are compared with the others.
import { lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { benchOptions, jjfsHome, median, percentile, timed } from './lib.mjs';

const options = benchOptions(
  'node bench/storage.mjs [--minutes 10] [--mounts 3,10] [--variants on,off] [--interval-ms 100] [--sample-ms 60000] [--set key=value,...]',
  { minutes: 10, mounts: '3,10', variants: 'on,off', 'interval-ms': 100, 'sample-ms': 60_000, set: '' },
);
const minutes = options.minutes;
const mountCounts = options.mounts.split(',').map(Number);
const variants = options.variants.split(',');
const intervalMs = options['interval-ms'];
const sampleMs = options['sample-ms'];
const settings = options.set.split(',').filter(Boolean).map((kv) => kv.split('='));

const MiB = (b) => (b / 1048576).toFixed(1);

/** Disk use (blocks) of a directory tree. */
function diskUse(p) {
  let st;
  try {
    st = lstatSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.blocks * 512;
  let total = st.blocks * 512;
  for (const name of readdirSync(p)) total += diskUse(path.join(p, name));
  return total;
}

/** The store split into jj's operation log, its index, its commit extras, git's packs (cruft apart), loose objects and the rest. */
function storeBreakdown(jjDir) {
  const repo = path.join(jjDir, 'repo');
  const objects = path.join(repo, 'store', 'git', 'objects');
  const packDir = path.join(objects, 'pack');
  const packs = (() => {
    try {
      return readdirSync(packDir);
    } catch {
      return [];
    }
  })();
  const cruft = new Set(packs.filter((n) => n.endsWith('.mtimes')).map((n) => n.replace(/\.mtimes$/, '')));
  let packed = 0;
  let crufty = 0;
  for (const n of packs) {
    const size = diskUse(path.join(packDir, n));
    if (cruft.has(n.replace(/\.[a-z]+$/, ''))) crufty += size;
    else packed += size;
  }
  const opLog = diskUse(path.join(repo, 'op_store')) + diskUse(path.join(repo, 'op_heads'));
  const index = diskUse(path.join(repo, 'index'));
  const extra = diskUse(path.join(repo, 'store', 'extra'));
  const all = diskUse(jjDir);
  const loose = diskUse(objects) - packed - crufty;
  const rest = all - opLog - index - extra - packed - crufty - loose;
  const parts = { 'op log': opLog, index, 'commit extras': extra, packs: packed, cruft: crufty, loose, rest };
  return Object.entries(parts).map(([k, v]) => `${k} ${MiB(v)}`).join(' · ') + ` MiB (of ${MiB(all)})`;
}

async function run(mounts, variant) {
  const h = jjfsHome('jjfs-storage-');
  const written = [];
  let stopWriters = () => undefined;
  let bytes = 0;
  try {
    await h.run(['init', 'notes']);
    for (const [key, value] of settings) await h.run(['config', 'set', key, value, '--repo', 'notes']);
    if (variant === 'off') {
      await h.run(['config', 'set', 'compact_loose_objects', '0', '--repo', 'notes']);
      await h.run(['config', 'set', 'op_log_max', '0', '--repo', 'notes']);
    }
    const dirs = [];
    for (let i = 0; i < mounts; i++) {
      const d = path.join(h.root, `p${i}`);
      mkdirSync(d);
      await h.run(['open', 'notes', path.join(d, 'notes')]);
      dirs.push(path.join(d, 'notes'));
    }
    let stop = false;
    stopWriters = () => (stop = true);
    const writers = dirs.map(async (dir, i) => {
      let n = 0;
      while (!stop) {
        const line = `mount ${i} line ${n} ${new Date().toISOString()}\n`;
        const small = `state of agent ${i}: step ${n}\n${'x'.repeat(40 + (n % 50))}\n`;
        await appendFile(path.join(dir, `log-${i}.md`), line);
        await writeFile(path.join(dir, `state-${i}.md`), small);
        written.push(line, small);
        bytes += line.length + small.length;
        n++;
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    });
    const syncs = [];
    const started = Date.now();
    let nextSample = started + sampleMs;
    console.log(`\n${mounts} mounts, compaction ${variant}, ${minutes} min, a write pair every ${intervalMs} ms per mount${settings.length > 0 ? `, ${settings.map((kv) => kv.join('=')).join(' ')}` : ''}`);
    console.log('min | written | gzip | history | loose objs | packs | commits | jj ops | history/gzip');
    const end = started + minutes * 60_000;
    while (Date.now() < end) {
      // While writers write, a forced round rarely ends with every mount on main (exit 1): only its time counts.
      const at = Date.now();
      syncs.push({ at, ms: await timed(() => h.run(['sync', 'notes']).catch(() => undefined)) });
      if (Date.now() >= nextSample) {
        nextSample += sampleMs;
        const st = await h.json(['status']);
        const repo = st.repos.find((r) => r.name === 'notes');
        const hist = repo.history ?? {};
        const gz = gzipSync(Buffer.from(written.join(''))).length;
        console.log(
          `${((Date.now() - started) / 60_000).toFixed(1)} | ${MiB(bytes)} MiB | ${(gz / 1024).toFixed(0)} KiB | ${MiB(hist.bytes ?? NaN)} MiB | ${hist.looseObjects} | ${hist.packs} | ${hist.commits} | ${hist.operations} | ${((hist.bytes ?? NaN) / gz).toFixed(1)}×`,
        );
      }
      await new Promise((r) => setTimeout(r, 5_000));
    }
    stop = true;
    await Promise.all(writers);
    const st = await h.json(['status']);
    const last = st.repos.find((r) => r.name === 'notes').history?.lastCompaction;
    const compactions = readFileSync(path.join(h.home, 'sync.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('store compacted'))
      .map((l) => JSON.parse(l.slice(l.indexOf('{'))))
      .map((c) => ({ ...c, start: Date.parse(c.at), end: Date.parse(c.at) + c.ms }));
    const overlaps = (s) => compactions.some((c) => s.at < c.end && s.at + s.ms > c.start);
    const during = syncs.filter(overlaps).map((s) => s.ms);
    const normal = syncs.filter((s) => !overlaps(s)).map((s) => s.ms);
    const summary = (xs) => (xs.length === 0 ? 'none' : `p50 ${median(xs).toFixed(0)} ms, p90 ${percentile(xs, 90).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms (${xs.length})`);
    console.log(`jjfs sync, no compaction running: ${summary(normal)}`);
    console.log(`jjfs sync overlapping a compaction: ${summary(during)}${during.length > 0 && normal.length > 0 ? `; against the others: max/p50 ${(Math.max(...during) / median(normal)).toFixed(2)}× (the others' own max/p50 ${(Math.max(...normal) / median(normal)).toFixed(2)}×), p90/p90 ${(percentile(during, 90) / percentile(normal, 90)).toFixed(2)}×, p50/p50 ${(median(during) / median(normal)).toFixed(2)}×` : ''}`);
    const trims = compactions.filter((c) => c.opsAfter !== undefined);
    const ms = (xs) => (xs.length === 0 ? '-' : `p50 ${median(xs).toFixed(0)} / max ${Math.max(...xs).toFixed(0)} ms`);
    console.log(`compactions: ${compactions.length} (${trims.length} trimmed the op log, ${compactions.filter((c) => c.pruned).length} pruned), each ${ms(compactions.map((c) => c.ms))}`);
    console.log(`where the bytes are: ${storeBreakdown(path.join(h.home, 'repos', 'notes', 'repo', '.jj'))}`);
    if (last) console.log(`last compaction: ${last.ms} ms, loose ${last.looseBefore} → ${last.looseAfter}, ${MiB(last.bytesBefore)} → ${MiB(last.bytesAfter)} MiB${last.opsAfter !== undefined ? `, ops ${last.opsBefore} → ${last.opsAfter}` : ''}`);
  } finally {
    stopWriters();
    await h.close();
  }
}

for (const m of mountCounts) for (const v of variants) await run(m, v);
