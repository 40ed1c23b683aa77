import { createHash } from 'node:crypto';
import { rm, rmdir, stat } from 'node:fs/promises';
import net from 'node:net';
import lockfile from 'proper-lockfile';
import { isErrnoException, JjfsError } from '../errors.js';
import { isDaemonAlive, readDaemonInfo } from '../launch/daemon-info.js';
import type { Paths } from '../config/paths.js';

export type { DaemonInfo } from '../launch/daemon-info.js';

/**
 * How long a lock whose owner stopped refreshing it counts as held. A live daemon refreshes it every
 * LOCK_UPDATE_MS. After kill -9 the next daemon takes the lock over at once when it holds the
 * instance socket (Linux, see below), otherwise it waits at most this long.
 */
const LOCK_STALE_MS = 5_000;
const LOCK_UPDATE_MS = 1_000;
/** What proper-lockfile is told: it never calls our lock stale (see lockLoop). */
const NEVER_STALE_MS = 2 ** 31 - 1;

/**
 * Takes the single-instance lock (proper-lockfile's mkdir lock at daemon.lock, refreshed while we
 * live, stale once we stop refreshing it). A live holder means "already running (pid N)"; a dead
 * one (kill -9) is taken over: at once when we hold the instance socket, else once its lock is
 * stale. The returned function releases both.
 *
 * Race analysis of the immediate takeover. On Linux every starting daemon first binds an abstract
 * Unix socket named after the uid and the home ({@link instanceSocketName}). The kernel lets one
 * process hold that name and releases it the moment the holder dies, whatever kills it (children
 * such as a jj still running do not inherit it: libuv opens sockets close-on-exec), so holding
 * it proves that no other live jjfsd for this home exists in our network namespace: the lock's
 * owner is dead and nobody else is taking it over right now. Only then do we remove the stale lock
 * directory and take it, without waiting. A daemon that could not bind the name (it lost a start
 * race to another daemon, or someone else squats the name) never takes over early: it waits
 * until the lock has not been refreshed for LOCK_STALE_MS. The remaining window, a waiter that
 * judged the OLD lock stale removing our fresh one, needs the dead lock to be older than
 * LOCK_STALE_MS AND two daemons starting within microseconds of each other (any mkdir lock's stale
 * takeover between two waiters has it). Whatever the lock's age, we never remove a lock whose
 * recorded holder (daemon.json) is a live jjfsd: a holder that is merely starved (it refreshes
 * late) or in another namespace keeps it; and the immediate takeover happens at most once (see
 * {@link lockLoop}).
 */
export async function acquireInstanceLock(
  paths: Paths,
  onCompromised: (error: Error) => void,
): Promise<() => Promise<void>> {
  const instance = await bindInstanceSocket(paths.home);
  try {
    const release = await lockLoop(paths, onCompromised, instance !== undefined);
    return async () => {
      await release();
      instance?.close();
    };
  } catch (error) {
    instance?.close();
    throw error;
  }
}

async function lockLoop(paths: Paths, onCompromised: (error: Error) => void, exclusive: boolean): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_STALE_MS + 3_000;
  let mayTakeOver = exclusive;
  for (;;) {
    try {
      return await lockfile.lock(paths.home, {
        lockfilePath: paths.lockFile,
        realpath: false,
        // proper-lockfile never judges staleness itself: its takeover would remove a lock whose
        // holder is alive but starved (50 daemons starting at once on two cores delayed a winner's
        // refresh past 5 s; a loser took the lock, the winner saw its mtime change and stopped,
        // resetting the connections of the CLIs it was serving). The decision is made below,
        // after the live-holder check. With this value a refresh that keeps failing (other than the
        // lock vanishing, which compromises it at once) retries instead of giving up after 5 s.
        stale: NEVER_STALE_MS,
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
    // The owner is dead or not recorded yet (a winner writes daemon.json right after taking the
    // lock). With the instance socket we know it is dead (see the race analysis above) and take
    // over now; without it, only once the lock has not been refreshed for LOCK_STALE_MS.
    // The immediate takeover happens only once: if the lock is taken again right after, a daemon
    // that lost the socket race got it between our rmdir and our mkdir; it is alive and will
    // record itself, so from here on we wait for it in daemon.json (or for its lock to go stale).
    if (mayTakeOver || (await lockAgeMs(paths)) > LOCK_STALE_MS) {
      mayTakeOver = false;
      await rmdir(paths.lockFile).catch(() => undefined);
      continue;
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

/** How long ago the lock directory was last refreshed; 0 when it is gone (the next try takes it). */
async function lockAgeMs(paths: Paths): Promise<number> {
  try {
    return Date.now() - (await stat(paths.lockFile)).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * The abstract socket name that stands for "a jjfsd of this user for this home is alive" (Linux
 * only; abstract names live in the kernel, not the file system, and vanish with their holder).
 */
export function instanceSocketName(home: string): string {
  const hash = createHash('sha256').update(home).digest('hex').slice(0, 32);
  return `\0jjfsd-${process.getuid?.() ?? 0}-${hash}`;
}

/** Binds the instance socket; undefined when another process holds it or the platform has none. */
async function bindInstanceSocket(home: string): Promise<net.Server | undefined> {
  if (process.platform !== 'linux') return undefined;
  const server = net.createServer((conn) => conn.destroy());
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(instanceSocketName(home), () => {
      server.unref(); // the RPC server keeps the daemon alive, not this
      resolve(server);
    });
  });
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
