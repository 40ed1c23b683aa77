import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import lockfile from 'proper-lockfile';
import { isErrnoException, JjfsError } from '../errors.js';
import { writeFileAtomic } from '../config/atomic-write.js';
import type { Paths } from '../config/paths.js';

/** Contents of daemon.json: who owns the lock and where it listens. */
export interface DaemonInfo {
  pid: number;
  socket: string;
  version: string;
  startedAt: string;
}

/**
 * How long a lock whose owner stopped refreshing it counts as held. After kill -9 the next daemon
 * waits at most this long; a live daemon refreshes it every LOCK_UPDATE_MS.
 */
const LOCK_STALE_MS = 5_000;
const LOCK_UPDATE_MS = 1_000;

/**
 * Takes the single-instance lock (proper-lockfile's mkdir lock at daemon.lock, refreshed while we
 * live, stale once we stop refreshing it). A live holder means "already running (pid N)"; a dead
 * one (kill -9) is waited out until its lock goes stale, then taken over.
 */
export async function acquireInstanceLock(
  paths: Paths,
  onCompromised: (error: Error) => void,
): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_STALE_MS + 3_000;
  for (;;) {
    try {
      return await lockfile.lock(paths.home, {
        lockfilePath: paths.lockFile,
        realpath: false,
        stale: LOCK_STALE_MS,
        update: LOCK_UPDATE_MS,
        retries: 0,
        onCompromised,
      });
    } catch (error) {
      if (!isErrnoException(error) || error.code !== 'ELOCKED') throw error;
    }
    const holder = await readDaemonInfo(paths);
    if (holder && holder.pid !== process.pid && isDaemonAlive(holder.pid)) {
      throw new JjfsError('already-exists', `jjfsd is already running (pid ${holder.pid}).`, { pid: holder.pid });
    }
    if (Date.now() > deadline) {
      throw new JjfsError(
        'already-exists',
        `jjfsd is already running: ${paths.lockFile} is held and kept fresh by another process.`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Removes a socket file left by a dead daemon. We hold the lock, so no live daemon should own it;
 * as a second guard we try to connect first and never remove a socket that answers.
 */
export async function clearStaleSocket(socketPath: string): Promise<void> {
  const answers = await new Promise<boolean>((resolve) => {
    const s = net.createConnection(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (answers) {
    throw new JjfsError('already-exists', `Another process is listening on ${socketPath}; is another jjfsd running?`);
  }
  await rm(socketPath, { force: true });
}

export async function writeDaemonInfo(paths: Paths, info: DaemonInfo): Promise<void> {
  await writeFileAtomic(paths.daemonInfo, `${JSON.stringify(info)}\n`);
}

/** Removes daemon.json only if it is ours: a newer daemon may already have written its own. */
export async function removeDaemonInfo(paths: Paths): Promise<void> {
  const info = await readDaemonInfo(paths);
  if (info?.pid === process.pid) await rm(paths.daemonInfo, { force: true });
}

export async function readDaemonInfo(paths: Paths): Promise<DaemonInfo | undefined> {
  try {
    const raw = JSON.parse(await readFile(paths.daemonInfo, 'utf8')) as Partial<DaemonInfo>;
    return typeof raw.pid === 'number' && typeof raw.socket === 'string' ? (raw as DaemonInfo) : undefined;
  } catch {
    return undefined;
  }
}

/** True when `pid` is a live process that looks like jjfsd (guards against pid reuse on Linux). */
export function isDaemonAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (isErrnoException(error) && error.code === 'EPERM') return true;
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /jjfsd|daemon[/\\]main/.test(cmdline);
  } catch {
    return false;
  }
}
