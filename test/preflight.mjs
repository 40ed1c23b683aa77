#!/usr/bin/env node
// Preflight for the test suite (plain Node, no build): is jj, FUSE, an unmount tool and git here?
// FUSE tests FAIL (never skip) when FUSE is missing. Exit 1 on any missing piece, unless outside CI
// with JJFS_TEST_NO_FUSE=1 (then only jj/git are required and FUSE failures are announced).
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const isRoot = process.getuid?.() === 0;
const ci = Boolean(process.env.CI);
const noFuseOk = !ci && process.env.JJFS_TEST_NO_FUSE === '1';

function which(cmd) {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, cmd), constants.X_OK);
      return path.join(dir, cmd);
    } catch {
      // next
    }
  }
  return undefined;
}

function version(cmd) {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim().split('\n')[0] : undefined;
}

/** @type {Array<{ name: string; ok: boolean; detail: string; fix?: string; fuse?: boolean }>} */
const checks = [];

// Node: the CLI bundle require()s ES-module packages (bin/jjfs.cjs), which needs 20.19+ / 22.12+.
checks.push({
  name: 'node',
  ok: process.features.require_module === true,
  detail: `${process.versions.node}${process.features.require_module ? '' : ' (cannot require() ES modules)'}`,
  fix: 'install Node.js 20.19 or newer (22.12 or newer on the 22 line)',
});

// jj: $JJFS_JJ, else jj on PATH, else the optional npm package.
{
  const bundled = path.join(root, 'node_modules', '@smithers-orchestrator', 'jj-linux-x64', 'bin', 'jj');
  const jj = process.env.JJFS_JJ || which('jj') || (existsSync(bundled) ? bundled : undefined);
  const v = jj && version(jj);
  checks.push({
    name: 'jj',
    ok: Boolean(v),
    detail: v ? `${v} (${jj})` : jj ? `${jj} does not run` : 'not found',
    fix: 'npm install (optional dependency @smithers-orchestrator/jj-linux-x64), or put jj on PATH, or set JJFS_JJ=/path/to/jj',
  });
}

// /dev/fuse present and openable read-write.
{
  let detail = 'present, read-write';
  let ok = true;
  try {
    closeSync(openSync('/dev/fuse', 'r+'));
  } catch (err) {
    ok = false;
    detail = err.code === 'ENOENT' ? 'missing' : `cannot open read-write (${err.code})`;
  }
  checks.push({
    name: '/dev/fuse',
    ok,
    detail,
    fuse: true,
    fix: 'modprobe fuse; in a container: docker run --device /dev/fuse --cap-add SYS_ADMIN ...',
  });
}

// Unmount tool: umount as root, else fusermount/fusermount3.
{
  const tool = (isRoot && which('umount')) || which('fusermount') || which('fusermount3');
  checks.push({
    name: 'unmount tool',
    ok: Boolean(tool),
    detail: tool ?? (isRoot ? 'no umount, fusermount or fusermount3' : 'no fusermount or fusermount3 (needed as non-root)'),
    fuse: true,
    fix: 'apt-get install fuse3',
  });
}

// git (jj's git backend, remotes, tests).
{
  const v = version('git');
  checks.push({ name: 'git', ok: Boolean(v), detail: v ?? 'not found', fix: 'apt-get install git' });
}

// Informational: the patched fuse-native (utimens fix) from native-shims/build-fuse.mjs.
const patched = existsSync(path.join(root, 'native-shims', 'build', 'fuse-native', '.jjfs-build.json'));

let failed = false;
for (const c of checks) {
  console.log(`${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
  if (c.ok) continue;
  console.log(`    fix: ${c.fix}`);
  if (c.fuse && noFuseOk) continue;
  failed = true;
}
console.log(
  patched
    ? '✓ fuse-native: patched build present'
    : '! fuse-native: patched build missing, stock prebuild will be used (run node native-shims/build-fuse.mjs)',
);
if (noFuseOk && checks.some((c) => c.fuse && !c.ok)) {
  console.log('! JJFS_TEST_NO_FUSE=1: continuing, but every FUSE test will FAIL (they never skip).');
}
if (failed) {
  console.log(
    ci
      ? 'preflight failed (CI): fix the items above.'
      : 'preflight failed: fix the items above (or set JJFS_TEST_NO_FUSE=1 to run anyway; FUSE tests will fail).',
  );
  process.exit(1);
}
