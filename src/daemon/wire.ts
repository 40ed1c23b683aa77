import path from 'node:path';
import { JjfsError } from '../errors.js';
import { loadFuse } from '../fs/fuse-loader.js';
import { checkFuse } from '../fs/fuse-preflight.js';
import { Notifier } from '../fs/notifier.js';
import { ExecaGitRunner } from '../sync/git.js';
import { CountingJjRunner, createJjRunner, defaultIdentity } from '../sync/jj-runner.js';
import { JjUnavailableError, locateJj } from '../sync/jj-locate.js';
import { initRepo } from '../sync/repo-init.js';
import type { ServicesFactory } from './daemon.js';
import { HistoryService } from './history-service.js';
import { MonitorFeed } from './monitor-feed.js';
import { MountService, type FuseAvailability } from './mounts.js';
import { Orchestrator, repoLiveInfo } from './orchestrator.js';
import { RemoteService } from './remotes.js';
import { RepoService } from './repos.js';
import type { Services } from './services.js';
import { SettingsService } from './settings-service.js';
import { SyncHub } from './sync-hub.js';

/**
 * Timeout of each git network call (ms). `JJFS_GIT_TIMEOUT_MS` overrides it (tests of a hung
 * remote use a short one).
 */
function gitTimeoutMs(): number {
  const raw = Number(process.env['JJFS_GIT_TIMEOUT_MS']);
  return Number.isFinite(raw) && raw > 0 ? raw : 60_000;
}

/**
 * Kernel caches (names, attributes) on live mounts, unless `JJFS_KERNEL_CACHE=off` (a kernel or workload where
 * they misbehave; tests of the fallback). Each mount still falls back by itself when the kernel
 * refuses the invalidation (src/fs/mount.ts).
 */
function kernelCacheWanted(): boolean {
  return process.env['JJFS_KERNEL_CACHE'] !== 'off';
}

/**
 * The composition root: finds jj (refusing one too old) and FUSE, builds every service from its
 * init object and connects them. No logic of its own lives here.
 */
export const createServices: ServicesFactory = async ({ paths, config, log, warnings, setLogLevel }) => {
  setLogLevel(config.snapshot().log_level);
  let jjFound;
  try {
    jjFound = await locateJj(process.env);
  } catch (error) {
    if (error instanceof JjUnavailableError) throw new JjfsError('environment', error.message);
    throw error;
  }
  const identity = defaultIdentity();
  // Counts jj processes for `status` (an idle daemon must spawn none).
  const jj = new CountingJjRunner(
    await createJjRunner({ jjPath: jjFound.path, configFile: path.join(paths.home, 'jj-config.toml'), log: log.child('jj'), identity }),
    { keepLog: false },
  );
  const fuse = await fuseAvailability();
  if (!fuse.ok) {
    warnings.push(`FUSE is unavailable, so nothing can be mounted: ${fuse.detail}`);
    log.error('FUSE unavailable', { detail: fuse.detail });
  }
  // Replaying synced changes as events on other mounts needs the caller pid of FUSE requests,
  // which only the patched fuse-native reports; without it watchers on mounts get no events.
  const callerPid = fuse.ok ? loadFuse().callerPid : undefined;
  const notifier = callerPid ? new Notifier(log.child('fuse'), paths.home, callerPid) : undefined;
  if (fuse.ok && !notifier) {
    warnings.push('the stock fuse-native is in use: watchers in one mount do not see changes synced from others (run node native-shims/build-fuse.mjs)');
  }
  const timeoutMs = gitTimeoutMs();
  // One git runner for the network (remote) and for plumbing on jj's store (merging conflicts).
  const git = new ExecaGitRunner({ timeoutMs, log: log.child('remote') });

  const feed = new MonitorFeed();
  const hub = new SyncHub({ paths, jj, git, log: log.child('sync'), repoConfig: (name) => config.snapshot().repos[name], feed });
  const remotes = new RemoteService({
    config,
    local: hub,
    emit: (event) => feed.emit(event),
    git,
    identity,
    log: log.child('remote'),
    timeouts: { probeMs: Math.min(timeoutMs, 30_000), fetchMs: timeoutMs, pushMs: timeoutMs },
  });
  const repos = new RepoService({
    paths,
    config,
    creator: { initRepo: (home) => initRepo(jj, home, { log: log.child('sync') }) },
    log: log.child('daemon'),
    live: repoLiveInfo(hub, remotes),
    remotes,
  });
  const history = new HistoryService({ repos, sync: hub, log: log.child('history') });
  const mounts = new MountService({
    paths,
    config,
    repos,
    sync: hub,
    fuse,
    ...(notifier ? { notifier } : {}),
    log: log.child('daemon'),
    resolveVersion: (repo, at) => history.resolveAt(repo, at),
    kernelCache: kernelCacheWanted(),
  });
  const rounds = new Orchestrator({
    local: hub,
    remote: remotes,
    mounts,
    requireRepo: (name) => repos.require(name),
    repoNames: () => Object.keys(config.snapshot().repos).sort(),
    log: log.child('daemon'),
  });
  const settings = new SettingsService({
    config,
    configureRepo: (repo) => hub.configure(repo),
    reschedulePush: (repo) => remotes.localChanges(repo, 0),
    setLogLevel,
    log: log.child('daemon'),
  });
  // Backups follow the edits: a repo's remote round runs after push_delay of quiet.
  hub.onCommitted((repo, commits) => remotes.localChanges(repo, commits));
  // Changes in backing directories are replayed on their mounts for the mounts' watchers.
  hub.onBackingEvents((id, events) => mounts.backingChanged(id, events));

  const services: Services = {
    repos,
    history,
    settings,
    jj: { path: jjFound.path, version: jjFound.version },
    fuse: () => fuse,
    stats: () => ({ jjCalls: jj.calls }),
    mounts: (opts) => mounts.list(opts),
    unsynced: (filter) => {
      if (filter.repo !== undefined) repos.require(filter.repo);
      return mounts.unsynced(filter);
    },
    open: (request) => mounts.open(request),
    closeMount: (target, force) => mounts.close(target, force),
    sync: (repo, remote) => rounds.sync(repo, remote),
    subscribe: ({ repo }, push) => {
      if (repo !== undefined) repos.require(repo);
      return hub.subscribe(repo, push);
    },
    conflicts: (repo) => rounds.conflicts(repo),
    compact: (repo) => rounds.compact(repo),
    start: () => rounds.start(),
    stop: async () => {
      await rounds.stop();
      notifier?.close();
    },
  };
  return services;
};

async function fuseAvailability(): Promise<FuseAvailability> {
  const check = await checkFuse();
  if (check.ok) {
    return { ok: true, detail: `unmount via ${check.unmountTool}${check.mtimeFixed ? '' : '; stock fuse-native: mtimes set through a mount are wrong (run npm rebuild / node native-shims/build-fuse.mjs)'}` };
  }
  return { ok: false, detail: check.problems.map((p) => `${p.problem} (fix: ${p.fix})`).join('; ') };
}
