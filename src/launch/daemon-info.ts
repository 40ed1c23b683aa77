import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import type { Paths } from '../config/paths.js';
import { isErrnoException } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';

// daemon.json: written and removed by the daemon (daemon/daemon.ts), read by the CLI and doctor to
// find it. Here, below both, so neither reaches into the other's folder.

/** Contents of daemon.json: who owns the lock and where it listens. */
export interface DaemonInfo {
  pid: number;
  socket: string;
  version: string;
  startedAt: string;
}

/** Writes daemon.json (atomically). */
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
