import { statfs } from 'node:fs/promises';
import type { Paths } from '../config/paths.js';
import { formatBytes } from '../util/format-bytes.js';
import type { DaemonContact } from './state-checks.js';
import { ok, warning, type Check } from './system-checks.js';

/** History past this size is worth a look (a busy day of agents stays well under it when packed). */
export const HISTORY_WARN_BYTES = 2 * 1024 ** 3;
/** Free space under JJFS_HOME below this (or below 5 % of the filesystem) is a warning. */
export const FREE_WARN_BYTES = 1024 ** 3;


/**
 * What history costs: a repo whose store grew past {@link HISTORY_WARN_BYTES}, and the free space
 * of the filesystem holding JJFS_HOME (a full disk stops every sync; nothing is lost, see README).
 */
export async function checkStorage(paths: Paths, daemon: DaemonContact): Promise<Check[]> {
  const checks: Check[] = [];
  if (daemon.kind === 'answering') {
    const { repos } = daemon.status;
    const large = repos.filter((r) => (r.history?.bytes ?? 0) > HISTORY_WARN_BYTES);
    for (const r of large) {
      const h = r.history!;
      checks.push(warning('history', `repo ${r.name}: history takes ${formatBytes(h.bytes)} (${h.looseObjects} loose objects, ${h.packs} packs, ${h.operations} jj operations)`, `jjfs compact ${r.name}`));
    }
    if (large.length === 0) checks.push(ok('history', `${repos.length} repo(s), ${formatBytes(repos.reduce((n, r) => n + (r.history?.bytes ?? 0), 0))} of history`));
  }
  const fs = await statfs(paths.home).catch(() => undefined);
  if (fs) {
    const free = fs.bavail * fs.bsize;
    const total = fs.blocks * fs.bsize;
    checks.push(
      free < FREE_WARN_BYTES || free < total * 0.05
        ? warning('disk', `${formatBytes(free)} free of ${formatBytes(total)} on the filesystem of ${paths.home}: when it fills, syncing stops until space is freed`, 'free some space there, or set JJFS_HOME to a larger filesystem (with the daemon stopped)')
        : ok('disk', `${formatBytes(free)} free on the filesystem of ${paths.home}`),
    );
  }
  return checks;
}
