/**
 * Starting and stopping jjfsd: through the service manager when a service is installed for this
 * jjfs home (so systemd/launchd own the daemon and restart it after a crash), otherwise directly.
 */
import type { Paths } from '../config/paths.js';
import { JjfsError } from '../errors.js';
import type { ServiceManager } from '../service/manager.js';
import { isAlive } from '../util/process.js';
import { sizeOf } from '../util/files.js';
import { fatalLines, startDaemon } from './start-daemon.js';

/** How the daemon was started. */
export interface Launch {
  via: 'systemd' | 'launchd' | 'direct';
  /** Why the service manager was bypassed although a service is installed. */
  warning?: string;
}

/**
 * Starts jjfsd and waits until `isReady`. With a service installed for this home the service
 * manager starts it; if the service manager cannot be asked (no user session), jjfsd is started
 * directly and the returned warning says why.
 */
export async function launchDaemon(
  paths: Paths,
  isReady: () => Promise<boolean>,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 120_000,
): Promise<Launch> {
  // Loaded only when the daemon is not running: the CLI's fast paths stay small.
  const { installedService, managerFor } = await import('../service/install.js');
  const installed = installedService(paths, env);
  if (!installed?.forThisHome) {
    await startDaemon(paths, isReady, timeoutMs);
    return { via: 'direct' };
  }
  const manager = managerFor(installed.target);
  const state = await manager.state();
  if (!state.usable) {
    await startDaemon(paths, isReady, timeoutMs);
    return { via: 'direct', warning: `could not start jjfsd through ${installed.target.kind} (${state.detail}); started it directly` };
  }
  const logOffset = sizeOf(paths.logFile);
  await manager.runAll(manager.startCommands(state.enabled));
  await waitUnderService(paths, manager, logOffset, isReady, timeoutMs);
  return { via: installed.target.kind };
}

/**
 * Waits until the daemon the service manager just started answers. Its fatal start-up error goes
 * to the jjfs log (StandardError/StandardErrorPath), read from `logOffset` on.
 */
export async function waitUnderService(
  paths: Paths,
  manager: ServiceManager,
  logOffset: number,
  isReady: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const kind = manager.target.kind;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isReady()) return;
    // "Already running" means a daemon started outside the service holds the lock: isReady finds it.
    const fatal = fatalLines(paths.logFile, logOffset).filter((l) => !/already running/.test(l));
    if (fatal.length > 0) {
      throw new JjfsError('daemon-unavailable', `jjfsd could not start under ${kind}: ${fatal.join('; ')}. ${manager.hint()}`);
    }
    await new Promise((r) => setTimeout(r, 40));
  }
  throw new JjfsError('daemon-unavailable', `jjfsd did not answer within ${timeoutMs / 1000} s of starting it under ${kind}. See ${paths.logFile}. ${manager.hint()}`);
}

/**
 * Stops the daemon through the service manager when it runs as the installed service, waiting until
 * process `pid` has exited. Returns the service manager's kind, or undefined when there is no active
 * service for this home (the caller then stops the daemon directly).
 */
export async function stopThroughService(paths: Paths, pid: number, env: NodeJS.ProcessEnv = process.env): Promise<'systemd' | 'launchd' | undefined> {
  const { installedService, managerFor } = await import('../service/install.js');
  const installed = installedService(paths, env);
  if (!installed?.forThisHome) return undefined;
  const manager = managerFor(installed.target);
  const state = await manager.state();
  if (!state.usable || !state.active) return undefined;
  await manager.runAll(manager.stopCommands());
  // systemctl stop returns after the exit; launchctl kill does not.
  if (!(await waitForExit(pid, 120_000))) {
    throw new JjfsError('busy', `jjfsd (pid ${pid}) is still shutting down after 120 s. See ${paths.logFile}.`);
  }
  return installed.target.kind;
}

/** Polls until `pid` is gone; false on timeout. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
