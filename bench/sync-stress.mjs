#!/usr/bin/env node
// The full concurrent-writer stress of issue 4: 5 mounts, each appending numbered lines to its
// own file and to one shared file for 60 s, then quiet. Prints lines written, lines missing
// (must be 0), whether every mount's tree is byte-identical, and the conflicts left.
// Usage: node bench/sync-stress.mjs [--seconds 60] [--mounts 5]
import { appendFile, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { jjfsHome, sleep } from './lib.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const seconds = arg('--seconds', 60);
const count = arg('--mounts', 5);
const h = jjfsHome('jjfs-bench-stress-');
try {
  const mounts = [];
  for (let i = 0; i < count; i += 1) {
    mounts.push(`${h.root}/m${i}`);
    await h.run(['open', 'stress', mounts[i]]);
  }
  const written = [];
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(
    mounts.map(async (m, i) => {
      for (let n = 0; Date.now() < deadline; n += 1) {
        const own = `m${i} own ${n}\n`;
        const shared = `m${i} shared ${n}\n`;
        await appendFile(path.join(m, `own-${i}.log`), own);
        await appendFile(path.join(m, 'shared.log'), shared);
        written.push(own, shared);
        await sleep(5 + Math.random() * 20);
      }
    }),
  );
  const t0 = Date.now();
  await h.run(['sync', 'stress']);
  const { rounds } = await h.json(['sync', 'stress']);
  const settle = Date.now() - t0;
  const trees = await Promise.all(
    mounts.map(async (m) => {
      const names = (await readdir(m)).sort();
      return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await readFile(path.join(m, n), 'utf8')])));
    }),
  );
  const identical = trees.every((t) => JSON.stringify(t) === JSON.stringify(trees[0]));
  const all = Object.values(trees[0]).join('');
  const missing = written.filter((l) => !all.includes(l)).length;
  console.log(`mounts ${count}, ${seconds} s of writing: ${written.length} lines written, ${missing} missing`);
  console.log(`trees byte-identical: ${identical}; converged: ${rounds[0].converged}; conflicted files: ${rounds[0].conflicts.length}; settle ${settle} ms`);
  process.exitCode = missing === 0 && identical ? 0 : 1;
} finally {
  await h.close();
}
