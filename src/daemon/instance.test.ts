import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolvePaths, type Paths } from '../config/paths.js';
import { acquireInstanceLock, instanceSocketName } from './instance.js';

let root: string;
let paths: Paths;
const cleanups: Array<() => unknown> = [];
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'jjfs-lock-'));
  paths = resolvePaths({ JJFS_HOME: path.join(root, 'home') });
  await mkdir(paths.home, { recursive: true });
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await rm(root, { recursive: true, force: true });
});

/** A pid that is certainly not running: a child that already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

/** A lock left by a dead daemon whose mtime is kept fresh, so proper-lockfile never calls it stale. */
async function freshDeadLock(): Promise<void> {
  await mkdir(paths.lockFile);
  await writeFile(paths.daemonInfo, JSON.stringify({ pid: await deadPid(), socket: paths.socket, version: 'x', startedAt: '' }));
  const timer = setInterval(() => void utimes(paths.lockFile, new Date(), new Date()).catch(() => undefined), 200);
  cleanups.push(() => clearInterval(timer));
}

/** Holds the instance socket name, as a daemon that won the socket race (or a squatter) does. */
async function squatInstanceName(): Promise<void> {
  const squatter = net.createServer();
  await new Promise<void>((r) => squatter.listen(instanceSocketName(paths.home), r));
  cleanups.push(() => squatter.close());
}

/** A lock last refreshed a minute ago, recorded as held by `pid`; returns its mtime. */
async function staleLock(pid: number): Promise<Date> {
  await mkdir(paths.lockFile);
  const longAgo = new Date(Date.now() - 60_000);
  await utimes(paths.lockFile, longAgo, longAgo);
  await writeFile(paths.daemonInfo, JSON.stringify({ pid, socket: paths.socket, version: 'x', startedAt: '' }));
  return longAgo;
}

describe.runIf(process.platform === 'linux')('acquireInstanceLock', () => {
  it('takes over the lock of a dead daemon at once when it holds the instance socket', async () => {
    await freshDeadLock();
    const release = await acquireInstanceLock(paths, () => undefined);
    // While we hold it, the instance name is taken.
    const probe = net.createServer();
    const err = await new Promise<NodeJS.ErrnoException>((r) => probe.once('error', r).listen(instanceSocketName(paths.home)));
    expect(err.code).toBe('EADDRINUSE');
    await release();
    // ...and free again afterwards.
    await new Promise<void>((r) => probe.listen(instanceSocketName(paths.home), () => probe.close(() => r())));
  });

  it('without the instance socket it never removes a lock that is kept fresh', async () => {
    await freshDeadLock();
    await squatInstanceName();
    await expect(acquireInstanceLock(paths, () => undefined)).rejects.toMatchObject({ kind: 'already-exists' });
  }, 20_000);

  it('never takes the lock of a live holder that stopped refreshing it (a starved daemon keeps it)', async () => {
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'jjfsd'], { stdio: 'ignore' });
    cleanups.push(() => other.kill('SIGKILL'));
    const longAgo = await staleLock(other.pid!);
    await squatInstanceName();
    await expect(acquireInstanceLock(paths, () => undefined)).rejects.toThrow(`already running (pid ${other.pid})`);
    // Untouched: a takeover would have made it fresh (mtimeMs is a float: compare to the ms).
    expect(Math.abs((await stat(paths.lockFile)).mtimeMs - longAgo.getTime())).toBeLessThan(1_000);
  });

  it('takes a lock nobody refreshed for longer than the stale time when its holder is dead', async () => {
    await staleLock(await deadPid());
    await squatInstanceName();
    const release = await acquireInstanceLock(paths, () => undefined);
    expect(Date.now() - (await stat(paths.lockFile)).mtimeMs).toBeLessThan(30_000);
    await release();
  });

  it('refuses when the recorded holder is a live jjfsd, even holding the instance socket', async () => {
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'jjfsd'], { stdio: 'ignore' });
    cleanups.push(() => other.kill('SIGKILL'));
    await mkdir(paths.lockFile);
    await writeFile(paths.daemonInfo, JSON.stringify({ pid: other.pid, socket: paths.socket, version: 'x', startedAt: '' }));
    await expect(acquireInstanceLock(paths, () => undefined)).rejects.toThrow(`already running (pid ${other.pid})`);
  });
});
