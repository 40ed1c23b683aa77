#!/usr/bin/env node
// Runs every benchmark in turn and prints their figures. Needs a build (npm run build) and root
// (FUSE mounts). Pass --quick for a shorter sync-latency run.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { benchOptions, ROOT } from './lib.mjs';

const { quick } = benchOptions('node bench/run-all.mjs [--quick]', { quick: false });
const scripts = [
  ['cli-latency.mjs', '--rss'],
  ['fuse-bench.mjs'],
  ['sync-latency.mjs', ...(quick ? ['--quick'] : [])],
  ['watch-latency.mjs'],
  ['remote-latency.mjs', ...(quick ? ['--runs', '4'] : [])],
  ['history-latency.mjs', ...(quick ? ['--versions', '30', '--runs', '10'] : [])],
  ['restart-bench.mjs', ...(quick ? ['--runs', '3'] : [])],
];
let failed = 0;
for (const [script, ...args] of scripts) {
  console.log(`\n=== ${script} ${args.join(' ')}`.trimEnd());
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bench', script), ...args], { stdio: 'inherit' });
  if (r.status !== 0) failed += 1;
}
process.exitCode = failed > 0 ? 1 : 0;
