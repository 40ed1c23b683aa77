#!/usr/bin/env node
// Serves one jjfs FUSE mount in its own process (a process must never access a mount it serves
// itself, so tests and benchmarks run the mount here and use it from outside).
//
//   node test/helpers/serve-mount.mjs <backingDir> <mountPath> [--ro | --refuse-writes] [--options <json>] [--mutations] [--kernel-cache]
//
// --kernel-cache: long name caches (FuseMount kernelCache, as daemon mounts run; nothing
// here invalidates them, so only for benchmarks that never change the backing directory).
//
// Needs the built dist/ (npx tsc -p tsconfig.build.json) and an environment from fuseProcessEnv().
// stdout: `ready` once mounted; with --mutations, `mut <relPath>` per mutation. stdin commands
// (one per line): `hold` → `held`, `release` → `released`, `unmount` → `unmounted` (keeps serving), `gen` → `gen <n>`, `rss` → `rss <bytes>`, `threads` → `threads <n>` (FuseMount.threadSetups), `handovers` → `handovers <n>` (FuseMount.loopHandovers, -1 if unknown), `reader-changes` → `reader-changes <n>` (FuseMount.loopReaderChanges, -1 if unknown), `spin-catches` → `spin-catches <n>` (FuseMount.loopSpinCatches, -1 if unknown), `listing-reads` → `listing-reads <n>` (FuseMount.listingReads, -1 if unknown),
// `busy <ms>` → `busy`, then the JS thread blocks for <ms>, then `busy-done`.
// SIGTERM/SIGINT/stdin EOF: unmount, then exit 0.
import fs from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '..', '..', 'dist');

const args = process.argv.slice(2);
const positional = [];
let readOnly = false;
let refuseWrites = false;
let options = {};
let mutations = false;
let kernelCache = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--ro') readOnly = true;
  else if (a === '--refuse-writes') refuseWrites = true;
  else if (a === '--mutations') mutations = true;
  else if (a === '--kernel-cache') kernelCache = true;
  else if (a === '--options') options = JSON.parse(args[++i]);
  else positional.push(a);
}
const [backingDir, mountPath] = positional;
if (!backingDir || !mountPath) {
  process.stderr.write('usage: serve-mount.mjs <backingDir> <mountPath> [--ro] [--options json] [--mutations]\n');
  process.exit(2);
}

let mod;
try {
  mod = await import(path.join(dist, 'fs', 'mount.js'));
} catch (err) {
  process.stderr.write(`cannot import dist/fs/mount.js (run \`npx tsc -p tsconfig.build.json\`): ${err.message}\n`);
  process.exit(2);
}
const { FuseMount } = mod;
const { MountGate } = await import(path.join(dist, 'fs', 'write-gate.js'));
const { createLogger } = await import(path.join(dist, 'log.js'));

const log = createLogger((line) => process.stderr.write(line + '\n'), 'fuse', process.env.JJFS_LOG_LEVEL ?? 'warn');
const gate = new MountGate({ log });
const mount = new FuseMount({
  mountPath,
  backingDir,
  readOnly,
  refuseWrites,
  gate,
  log,
  options,
  kernelCache,
  ...(mutations ? { onMutation: (p) => process.stdout.write(`mut ${p}\n`) } : {}),
});

let release = null;
let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  if (release) release();
  try {
    await mount.unmount();
  } catch (err) {
    process.stderr.write(`unmount failed: ${err.message}\n`);
    code = 1;
  }
  process.exit(code);
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

try {
  await mount.mount();
} catch (err) {
  process.stderr.write(`mount failed: ${err.message}\n`);
  process.exit(1);
}
process.stdout.write(`ready ${mount.cacheMode}\n`);

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'hold') {
    gate.hold().then((r) => {
      release = r;
      process.stdout.write('held\n');
    });
  } else if (cmd === 'release') {
    if (release) release();
    release = null;
    process.stdout.write('released\n');
  } else if (cmd === 'unmount') {
    // Unmount but keep serving (lazy: processes inside the mount keep working).
    mount.unmount().then(
      () => process.stdout.write('unmounted\n'),
      (err) => process.stdout.write(`unmount-failed ${err.message}\n`),
    );
  } else if (cmd === 'gen') {
    process.stdout.write(`gen ${gate.generation}\n`);
  } else if (cmd === 'threads') {
    process.stdout.write(`threads ${mount.threadSetups}\n`);
  } else if (cmd === 'handovers') {
    process.stdout.write(`handovers ${mount.loopHandovers ?? -1}\n`);
  } else if (cmd === 'reader-changes') {
    process.stdout.write(`reader-changes ${mount.loopReaderChanges ?? -1}\n`);
  } else if (cmd === 'spin-catches') {
    process.stdout.write(`spin-catches ${mount.loopSpinCatches ?? -1}\n`);
  } else if (cmd === 'listing-reads') {
    process.stdout.write(`listing-reads ${mount.listingReads ?? -1}\n`);
  } else if (cmd === 'rss') {
    process.stdout.write(`rss ${process.memoryUsage().rss}\n`);
  } else if (cmd.startsWith('busy ')) {
    // Blocks the JS thread for the given milliseconds (no FUSE request can be answered there):
    // whatever the mount answers meanwhile, it answers without JS. `busy` is written first
    // (synchronously: a pipe write from the JS thread) so the test knows the block has begun.
    fs.writeSync(1, 'busy\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(cmd.slice(5)));
    process.stdout.write('busy-done\n');
  }
});
rl.on('close', () => void stop(0));
