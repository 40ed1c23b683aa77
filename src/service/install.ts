/**
 * The service definition on disk: what `jjfs install` would write, writing it (with an undo), and
 * what is installed now (for which jjfs home, and whether it still runs this node and this jjfs).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Paths } from '../config/paths.js';
import { isErrnoException, JjfsError } from '../errors.js';
import { ServiceManager, serviceTarget, type Runner, type ServiceTarget } from './manager.js';
import { homeOfInstalled, programMarker, renderService, serviceSpec, type ServiceSpec } from './render.js';

/** What `jjfs install` writes and where. */
export interface ServicePlan {
  target: ServiceTarget;
  spec: ServiceSpec;
  content: string;
  /** The file's current content, when one is installed. */
  previous: string | undefined;
}

/** The installed definition, as far as jjfs can tell from the file. */
export interface InstalledService {
  target: ServiceTarget;
  /** It runs a daemon for this jjfs home (and not for another JJFS_HOME). */
  forThisHome: boolean;
  /** The home it was rendered for. */
  home: string | undefined;
  /** It runs this node and this jjfs (else `jjfs install` again). */
  upToDate: boolean;
}

/** The service target of this machine, or an environment error saying there is none. */
export function requireTarget(env: NodeJS.ProcessEnv): ServiceTarget {
  const target = serviceTarget(env);
  if (!target) {
    throw new JjfsError(
      'environment',
      `jjfs can install a service only with systemd (Linux) or launchd (macOS), not on ${process.platform}. ` +
        'Start the daemon from your login scripts instead: jjfs start',
    );
  }
  return target;
}

/** Renders the definition for `paths` and this environment. Writes nothing. */
export function planInstall(paths: Paths, env: NodeJS.ProcessEnv = process.env): ServicePlan {
  const target = requireTarget(env);
  const spec = serviceSpec(paths, { env, platform: target.kind === 'launchd' ? 'darwin' : 'linux' });
  return { target, spec, content: renderService(target.kind, spec), previous: readIfExists(target.file) };
}

/** The manager for `target`; `runner` replaces execFile in tests. */
export function managerFor(target: ServiceTarget, runner?: Runner): ServiceManager {
  return new ServiceManager(target, runner);
}

/**
 * Writes the definition (atomically; its directory and the daemon's home and log directory are
 * created). Returns an undo that puts back what was there before.
 */
export async function writeServiceFile(plan: ServicePlan): Promise<() => Promise<void>> {
  await mkdir(path.dirname(plan.target.file), { recursive: true });
  await mkdir(plan.spec.workingDirectory, { recursive: true, mode: 0o700 });
  await mkdir(path.dirname(plan.spec.logFile), { recursive: true, mode: 0o700 });
  await writeFileAtomic(plan.target.file, plan.content);
  return async () => {
    if (plan.previous === undefined) await rm(plan.target.file, { force: true });
    else await writeFile(plan.target.file, plan.previous);
  };
}

/** Removes the definition file (no error when it is already gone). */
export async function removeServiceFile(target: ServiceTarget): Promise<void> {
  await rm(target.file, { force: true });
}

/**
 * The installed service of this platform, or undefined when none is installed (or the platform has
 * none). Cheap: reads one file, runs nothing.
 */
export function installedService(paths: Paths, env: NodeJS.ProcessEnv = process.env): InstalledService | undefined {
  const target = serviceTarget(env);
  if (!target) return undefined;
  const text = readIfExists(target.file);
  if (text === undefined) return undefined;
  const home = homeOfInstalled(target.kind, text);
  const spec = serviceSpec(paths, { env, platform: target.kind === 'launchd' ? 'darwin' : 'linux' });
  const upToDate = text.includes(programMarker(target.kind, spec)) && existsSync(spec.node) && existsSync(spec.entry);
  return { target, home, forThisHome: home === paths.home, upToDate };
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return undefined;
    throw new JjfsError('environment', `Cannot read ${file}: ${(error as Error).message}. Check its permissions.`);
  }
}
