import type { Paths } from '../config/paths.js';
import { checkLock, checkMounts, checkRemotes, checkService, checkSocket, checkStaleMounts, readConfig, type DaemonContact } from './state-checks.js';
import { checkStorage } from './storage-checks.js';
import { checkFuseDevice, checkJj, checkLibfuse, checkUnmountTool, type Check } from './system-checks.js';

export type { Check } from './system-checks.js';
export type { DaemonContact } from './state-checks.js';

/**
 * Runs every check of `jjfs doctor`, independent ones in parallel, and returns them in a fixed
 * order: machine (jj, /dev/fuse, unmount tool, libfuse), then state (config, socket, lock, stale
 * mounts, service, mounts, remotes, storage). Changes nothing.
 */
export async function runDoctor(paths: Paths, daemon: DaemonContact, env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  const { config, check: configCheck } = await readConfig(paths);
  const groups = await Promise.all([
    checkJj(env).then((c) => [c]),
    checkFuseDevice().then((c) => [c]),
    checkUnmountTool().then((c) => [c]),
    checkLibfuse(paths).then((c) => [c]),
    Promise.resolve(configCheck ? [configCheck] : []),
    Promise.resolve([checkSocket(paths, daemon)]),
    checkLock(paths, daemon).then((c) => [c]),
    checkStaleMounts(config),
    checkService(paths, env).then((c) => [c]),
    Promise.resolve(checkMounts(config, daemon)),
    checkRemotes(config, env),
    checkStorage(paths, daemon),
  ]);
  return groups.flat();
}
