/**
 * How jjfsd is launched: its entry module and the environment it must start with. Neutral ground
 * shared by the CLI (which starts the daemon detached), bin/jjfsd.js (which re-executes itself with
 * this environment) and the service units; none of them has to go through cli/ or daemon/ for it.
 */
import type { Paths } from '../config/paths.js';
import { distPath } from '../package-root.js';

/** The daemon's entry module (dist/daemon/main.js): what the CLI and the service units start. */
export const DAEMON_ENTRY = distPath('daemon', 'main.js');

/** Environment variable telling bin/jjfsd.js that the FUSE environment is already in place. */
export const DAEMON_ENV_MARK = 'JJFS_DAEMON_ENV';

/**
 * The environment jjfsd needs before it starts: LD_LIBRARY_PATH with the libfuse.so.2 shim and a
 * large libuv thread pool (both are read only at process start). Creates the shim link.
 */
export async function daemonEnv(paths: Paths, base: NodeJS.ProcessEnv = process.env): Promise<NodeJS.ProcessEnv> {
  // Imported lazily: the CLI's fast paths (a daemon already answering) never load the FUSE code.
  const { fuseProcessEnv } = await import('../fs/fuse-env.js');
  return { ...fuseProcessEnv(base, paths.shimDir), [DAEMON_ENV_MARK]: '1' };
}
