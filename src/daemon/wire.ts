import path from 'node:path';
import { JjfsError } from '../errors.js';
import { createJjRunner } from '../sync/jj-runner.js';
import { JjUnavailableError, locateJj } from '../sync/jj-locate.js';
import { initRepo } from '../sync/repo-init.js';
import type { ServicesFactory } from './daemon.js';
import { RepoService } from './repos.js';
import type { Services } from './services.js';

/** Builds the daemon's services: finds jj (refusing one too old), repos, mounts, sync. */
export const createServices: ServicesFactory = async ({ paths, config, log }) => {
  let jjFound;
  try {
    jjFound = await locateJj(process.env);
  } catch (error) {
    if (error instanceof JjUnavailableError) throw new JjfsError('environment', error.message);
    throw error;
  }
  const jj = await createJjRunner({
    jjPath: jjFound.path,
    configFile: path.join(paths.home, 'jj-config.toml'),
    log: log.child('jj'),
  });
  const repos = new RepoService(paths, config, { initRepo: (home) => initRepo(jj, home, { log: log.child('sync') }) }, log.child('daemon'));
  const unavailable = (what: string): never => {
    throw new JjfsError('environment', `${what} is not available in this build of jjfsd yet.`);
  };
  const services: Services = {
    repos,
    jj: { path: jjFound.path, version: jjFound.version },
    fuse: () => ({ ok: false, detail: 'mounts not wired yet' }),
    mounts: () => [],
    open: async () => unavailable('open'),
    closeMount: async () => unavailable('close'),
    sync: async () => unavailable('sync'),
    conflicts: async () => unavailable('conflicts'),
    restore: async () => undefined,
    stop: async () => undefined,
  };
  return services;
};
