/**
 * Real-FUSE tests for the loader, the patched utimens, mount options and unmount/stale handling.
 * Every mount is served by a CHILD process (test/helpers/fuse-passthrough-child.mjs, which imports
 * dist/): a process touching its own FUSE mount deadlocks. Everything is cleaned up in afterEach.
 */
import { execFile, fork, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, open, readdir, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fuseProcessEnv } from './fuse-env.js';
import { fuseOptionList, type MountOptions } from './fuse-options.js';
import { checkFuse } from './fuse-preflight.js';
import { decodeTimespec, fuseTimeToSeconds } from './utimens.js';
import { clearStaleMount, decodeMountField, isStale, listFuseMounts, parseFuseMounts, probeMount, unmount } from './unmount.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const helper = path.join(root, 'test', 'helpers', 'fuse-passthrough-child.mjs');

// --- bookkeeping: everything created here is torn down in afterEach, even on failure ----------
const children = new Set<ChildProcess>();
const mounts = new Set<string>();
const tempDirs = new Set<string>();

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'jjfs-loader-test-'));
  tempDirs.add(d);
  return d;
}

afterEach(async () => {
  // Lazy unmount first (works whether the server is alive, dead or stuck), then kill, then rm.
  const live = new Set((await listFuseMounts()).map((m) => m.path));
  for (const m of mounts) {
    if (live.has(m)) spawnSync('umount', ['-l', m]);
  }
  mounts.clear();
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  for (const d of tempDirs) await rm(d, { recursive: true, force: true });
  tempDirs.clear();
});

let shimDir = '';
let shimParent = '';
beforeAll(async () => {
  // The patched addon (idempotent: ~0.1 s when up to date) and a fresh dist/ for the child.
  const b = spawnSync(process.execPath, [path.join(root, 'native-shims', 'build-fuse.mjs')], { encoding: 'utf8' });
  expect(b.stderr, 'build-fuse.mjs warned').not.toMatch(/WARNING/);
  const stale = ['fuse-loader', 'fuse-env', 'fuse-options', 'fuse-preflight', 'utimens', 'unmount'].some((n) => {
    const out = path.join(root, 'dist', 'fs', `${n}.js`);
    return !existsSync(out) || statSync(out).mtimeMs < statSync(path.join(root, 'src', 'fs', `${n}.ts`)).mtimeMs;
  });
  if (stale) {
    // Emits even if other modules have type errors; we only need the loader's files.
    spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')]);
  }
  expect(existsSync(path.join(root, 'dist', 'fs', 'fuse-loader.js')), 'dist/fs/fuse-loader.js missing: run npm run build').toBe(true);
  shimParent = await mkdtemp(path.join(os.tmpdir(), 'jjfs-loader-shim-'));
  shimDir = path.join(shimParent, 'lib');
  return async () => {
    await rm(shimParent, { recursive: true, force: true });
  };
});

const env = (): NodeJS.ProcessEnv => fuseProcessEnv(process.env, shimDir);

interface Mounted {
  child: ChildProcess;
  backing: string;
  mnt: string;
  source: string;
  mtimeFixed: boolean;
  request<T>(type: string): Promise<T>;
}

/** Forks the helper to serve `backing` on `mnt`; resolves once the mount is up. */
async function serve(opts: MountOptions, extraEnv: NodeJS.ProcessEnv = {}): Promise<Mounted> {
  const dir = await tempDir();
  const backing = path.join(dir, 'backing');
  const mnt = path.join(dir, 'mnt');
  await mkdir(backing);
  await mkdir(mnt);
  const child = fork(helper, ['serve', backing, mnt, JSON.stringify(opts)], {
    env: { ...env(), ...extraEnv },
    execArgv: [],
    cwd: os.tmpdir(),
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  children.add(child);
  mounts.add(mnt);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const first = await new Promise<{ type: string; source?: string; mtimeFixed?: boolean; message?: string }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`mount timed out; stderr: ${stderr}`)), 15_000);
    child.once('message', (m) => {
      clearTimeout(t);
      resolve(m as { type: string });
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`helper exited ${code} before mounting; stderr: ${stderr}`));
    });
  });
  if (first.type !== 'mounted') throw new Error(`mount failed: ${first.message ?? JSON.stringify(first)}`);
  const request = <T>(type: string): Promise<T> =>
    new Promise((resolve) => {
      child.once('message', (m) => resolve(m as T));
      child.send({ type });
    });
  return { child, backing, mnt, source: first.source ?? '', mtimeFixed: first.mtimeFixed ?? false, request };
}

const exited = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code)));

const systemHasLibfuse2 = /libfuse\.so\.2\b/.test(spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '');

/** Runs `node helper <mode>`; on a machine WITH system libfuse2, hides it in a private mount ns. */
function loadChild(mode: 'load' | 'load-stock', childEnv: NodeJS.ProcessEnv, hideSystemLibfuse: boolean) {
  if (!hideSystemLibfuse || !systemHasLibfuse2) {
    return spawnSync(process.execPath, [helper, mode], { env: childEnv, encoding: 'utf8', timeout: 30_000 });
  }
  // Bind /dev/null over the system's libfuse.so.2 inside a throwaway mount namespace (root only),
  // so this machine behaves like a bare Debian 12 for that one child.
  const real = spawnSync('readlink', ['-f', '/lib/x86_64-linux-gnu/libfuse.so.2'], { encoding: 'utf8' }).stdout.trim();
  const script = `mount --bind /dev/null ${JSON.stringify(real)} && exec ${JSON.stringify(process.execPath)} ${JSON.stringify(helper)} ${mode}`;
  return spawnSync('unshare', ['-m', 'sh', '-c', script], { env: childEnv, encoding: 'utf8', timeout: 30_000 });
}

describe('pure helpers', () => {
  it('builds -o lists where 0 means 0 and escapes commas', () => {
    expect(fuseOptionList({ attrTimeout: 0, entryTimeout: 0, negativeTimeout: 0, bigWrites: true, useIno: true, fsname: 'a,b' })).toEqual([
      'fsname=a\\,b',
      'entry_timeout=0',
      'attr_timeout=0',
      'negative_timeout=0',
      'big_writes',
      'use_ino',
    ]);
    expect(() => fuseOptionList({ attrTimeout: -1 })).toThrow(RangeError);
  });

  it('decodes UTIME_NOW / UTIME_OMIT and resolves times', () => {
    expect(decodeTimespec(0, 0x3fffffff)).toEqual({ kind: 'now' });
    expect(decodeTimespec(0, 0x3ffffffe)).toEqual({ kind: 'omit' });
    expect(fuseTimeToSeconds({ kind: 'set', sec: 10, nsec: 5e8 }, 1, 2)).toBe(10.5);
    expect(fuseTimeToSeconds({ kind: 'omit' }, 1, 2)).toBe(1);
    expect(fuseTimeToSeconds({ kind: 'now' }, 1, 2)).toBe(2);
  });

  it('parses /proc/mounts with octal escapes', () => {
    const text = 'sysfs /sys sysfs rw 0 0\njjfs\\040x /tmp/a\\040b fuse.jjfs rw,user_id=0 0 0\nfoo /m fuseblk rw 0 0\n';
    expect(parseFuseMounts(text)).toEqual([
      { path: '/tmp/a b', fsname: 'jjfs x', type: 'fuse.jjfs', options: ['rw', 'user_id=0'] },
      { path: '/m', fsname: 'foo', type: 'fuseblk', options: ['rw'] },
    ]);
    expect(decodeMountField('a\\011b\\134c')).toBe('a\tb\\c');
  });

  it('fuseProcessEnv prefixes the shim and raises the pool', () => {
    const e = fuseProcessEnv({ LD_LIBRARY_PATH: '/x', UV_THREADPOOL_SIZE: '4' }, shimDir);
    expect(e.LD_LIBRARY_PATH).toBe(`${shimDir}:/x`);
    expect(e.UV_THREADPOOL_SIZE).toBe('64');
    expect(fuseProcessEnv({ UV_THREADPOOL_SIZE: '128' }, shimDir).UV_THREADPOOL_SIZE).toBe('128');
    expect(existsSync(path.join(shimDir, 'libfuse.so.2'))).toBe(true);
  });
});

describe('loading in a child process', () => {
  it('loads the patched build in a child started with fuseProcessEnv', () => {
    const r = loadChild('load', env(), true);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ source: 'patched', mtimeFixed: true });
  });

  it('stock prebuild: loads with fuseProcessEnv, fails clearly without it (no system libfuse2)', () => {
    const withEnv = loadChild('load-stock', env(), true);
    expect(withEnv.status, withEnv.stderr).toBe(0);
    const bare = { ...process.env };
    delete bare.LD_LIBRARY_PATH;
    const without = loadChild('load-stock', bare, true);
    expect(without.status).not.toBe(0);
    expect(without.stderr).toMatch(/libfuse\.so\.2/);
  });
});

describe('checks', () => {
  it('checkFuse reports ok with the patched build and an unmount tool', async () => {
    // Loading (not mounting) the addon in the test process is harmless.
    const c = await checkFuse();
    expect(c).toEqual({ ok: true, mtimeFixed: true, unmountTool: process.getuid?.() === 0 ? 'umount' : expect.any(String) });
  });

  it('probeMount on a plain or missing directory', async () => {
    const d = await tempDir();
    expect(await probeMount(d)).toEqual({ state: 'ok' });
    expect(await isStale(d)).toBe(false);
    expect(await probeMount(path.join(d, 'nope'))).toEqual({ state: 'absent' });
  });
});

describe('real mounts (served by a child)', () => {
  it('utimens: touch -m / -a set exactly that time, UTIME_NOW gives now', async () => {
    const m = await serve({ attrTimeout: 0, entryTimeout: 0 });
    expect(m.source).toBe('patched');
    const f = path.join(m.mnt, 'f');
    const bf = path.join(m.backing, 'f');
    await writeFile(bf, 'x');
    const old = new Date(2000, 0, 1, 0, 0, 0);
    await run('touch', ['-d', '2000-01-01 00:00:00', f]);

    await utimes(f, new Date(1999, 0, 1), new Date(1998, 0, 1)); // distinct times (cp -p, tar)
    expect((await stat(bf)).mtimeMs).toBe(new Date(1998, 0, 1).getTime());
    expect((await stat(bf)).atimeMs).toBe(new Date(1999, 0, 1).getTime());
    await run('touch', ['-d', '2000-01-01 00:00:00', f]);

    await run('touch', ['-m', '-d', '2001-02-03 04:05:06.25', f]);
    let st = await stat(bf);
    expect(st.mtimeMs).toBe(new Date(2001, 1, 3, 4, 5, 6, 250).getTime());
    expect(st.atimeMs).toBe(old.getTime()); // atime was UTIME_OMIT
    expect((await stat(f)).mtimeMs).toBe(st.mtimeMs); // and through the mount

    await run('touch', ['-a', '-d', '2002-03-04 05:06:07', f]);
    st = await stat(bf);
    expect(st.atimeMs).toBe(new Date(2002, 2, 4, 5, 6, 7).getTime());
    expect(st.mtimeMs).toBe(new Date(2001, 1, 3, 4, 5, 6, 250).getTime()); // mtime kept

    const before = Date.now();
    await run('touch', [f]);
    st = await stat(bf);
    expect(st.mtimeMs).toBeGreaterThanOrEqual(before - 1000);
    expect(st.mtimeMs).toBeLessThanOrEqual(Date.now() + 1000);
    expect(st.atimeMs).toBeGreaterThanOrEqual(before - 1000);

    const { utimens } = await m.request<{ utimens: Array<{ atime: { kind: string }; mtime: { kind: string } }> }>('stats');
    expect(utimens.map((u) => [u.atime.kind, u.mtime.kind])).toEqual([
      ['set', 'set'],
      ['set', 'set'],
      ['set', 'set'],
      ['omit', 'set'],
      ['set', 'omit'],
      ['now', 'now'],
    ]);

    await run('touch', [path.join(m.mnt, 'new')]); // create + UTIME_NOW
    expect((await stat(path.join(m.backing, 'new'))).mtimeMs).toBeGreaterThanOrEqual(before - 1000);
  });

  it('stock prebuild (fallback) really has the bugs the patch fixes', async () => {
    const m = await serve({ attrTimeout: 0, entryTimeout: 0 }, { JJFS_TEST_FUSE_SOURCE: 'prebuild' });
    expect([m.source, m.mtimeFixed]).toEqual(['prebuild', false]);
    const f = path.join(m.mnt, 'f');
    const bf = path.join(m.backing, 'f');
    await writeFile(bf, 'x');
    // Distinct atime/mtime (what cp -p, tar, rsync -t do): mtime arrives as a copy of atime.
    await utimes(f, new Date(2000, 0, 1), new Date(2001, 1, 3));
    expect((await stat(bf)).mtimeMs).toBe(new Date(2000, 0, 1).getTime());
    // One time only (the other UTIME_OMIT): libfuse drops the call and reports success.
    await run('touch', ['-m', '-d', '2002-01-01 00:00:00', f]);
    expect((await stat(bf)).mtimeMs).toBe(new Date(2000, 0, 1).getTime());
    // UTIME_NOW for both: arrives as the kernel's current time (not 1970).
    const before = Date.now();
    await run('touch', [f]);
    expect((await stat(bf)).mtimeMs).toBeGreaterThanOrEqual(before - 1000);
    const { utimens } = await m.request<{ utimens: unknown[] }>('stats');
    expect(utimens).toHaveLength(2); // the touch -m never reached the handler
  });

  it('0 timeouts reach libfuse; big_writes, use_ino, hard_remove, fsname/subtype accepted', async () => {
    const m = await serve({ attrTimeout: 0, entryTimeout: 0, negativeTimeout: 0, bigWrites: true, useIno: true, hardRemove: true, fsname: 'jjfs test', subtype: 'jjfstest' });
    const entry = (await listFuseMounts()).find((e) => e.path === m.mnt);
    expect(entry).toMatchObject({ fsname: 'jjfs test', type: 'fuse.jjfstest' });

    const bf = path.join(m.backing, 'g');
    const f = path.join(m.mnt, 'g');
    await writeFile(bf, 'a');
    expect((await stat(f)).size).toBe(1);
    await appendFile(bf, 'b');
    expect((await stat(f)).size).toBe(2); // attr_timeout=0: no stale size
    expect((await stat(f)).ino).toBe((await stat(bf)).ino); // use_ino
    await unlink(bf);
    await expect(stat(f)).rejects.toMatchObject({ code: 'ENOENT' }); // entry_timeout=0
    await expect(stat(path.join(m.mnt, 'h'))).rejects.toMatchObject({ code: 'ENOENT' });
    await writeFile(path.join(m.backing, 'h'), 'h');
    expect((await stat(path.join(m.mnt, 'h'))).size).toBe(1); // negative_timeout=0

    await run('dd', ['if=/dev/zero', `of=${path.join(m.mnt, 'big')}`, 'bs=1M', 'count=2', 'status=none']);
    expect((await m.request<{ maxWrite: number }>('stats')).maxWrite).toBeGreaterThan(4096); // big_writes

    // hard_remove: unlinking an open file must not leave .fuse_hidden* in the backing dir.
    const fh = await open(path.join(m.mnt, 'h'), 'r');
    try {
      await unlink(path.join(m.mnt, 'h'));
      expect((await readdir(m.backing)).filter((n) => n.startsWith('.fuse_hidden'))).toEqual([]);
    } finally {
      await fh.close();
    }
  });

  it('contrast: with default options the same checks see caching and 4 KiB writes', async () => {
    const m = await serve({});
    const bf = path.join(m.backing, 'g');
    const f = path.join(m.mnt, 'g');
    await writeFile(bf, 'a');
    expect((await stat(f)).size).toBe(1);
    await appendFile(bf, 'b');
    expect((await stat(f)).size).toBe(1); // cached for ~1 s by default
    await run('dd', ['if=/dev/zero', `of=${path.join(m.mnt, 'big')}`, 'bs=1M', 'count=1', 'status=none']);
    expect((await m.request<{ maxWrite: number }>('stats')).maxWrite).toBe(4096);
  });

  it('unmount() from outside, and the instance unmount without fusermount', async () => {
    const a = await serve({});
    expect((await listFuseMounts()).some((e) => e.path === a.mnt)).toBe(true);
    await unmount(a.mnt);
    expect((await listFuseMounts()).some((e) => e.path === a.mnt)).toBe(false);

    const b = await serve({});
    b.child.send({ type: 'unmount' }); // fuse.unmount(): our umount, not fusermount -uz
    expect(await exited(b.child)).toBe(0);
    expect((await listFuseMounts()).some((e) => e.path === b.mnt)).toBe(false);
  });

  it('a SIGKILLed server leaves a stale mount that isStale detects and clearStaleMount clears', async () => {
    const m = await serve({});
    expect(await isStale(m.mnt)).toBe(false);
    expect(await clearStaleMount(m.mnt)).toBe(false);
    if (m.child.pid !== undefined) process.kill(m.child.pid, 'SIGKILL');
    await exited(m.child);
    expect(await probeMount(m.mnt)).toEqual({ state: 'stale' });
    expect((await listFuseMounts()).some((e) => e.path === m.mnt)).toBe(true);
    expect(await clearStaleMount(m.mnt)).toBe(true);
    expect(await isStale(m.mnt)).toBe(false);
    expect((await listFuseMounts()).some((e) => e.path === m.mnt)).toBe(false);
  });
});
