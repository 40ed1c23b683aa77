import path from 'node:path';
import { applySetting, listSettings, parseSetting, settingInfo, settingKey, targetRepo } from '../config/settings.js';
import { JjfsError, messageOf } from '../errors.js';
import type { RoundInfo } from '../rpc/protocol.js';
import { checkFuse, loadFuse } from '../fs/fuse-loader.js';
import { Notifier } from '../fs/notifier.js';
import { ExecaGitRunner } from '../sync/git.js';
import { createJjRunner, defaultIdentity, type JjRunner } from '../sync/jj-runner.js';
import { JjUnavailableError, locateJj } from '../sync/jj-locate.js';
import { initRepo } from '../sync/repo-init.js';
import type { ServicesFactory } from './daemon.js';
import { HistoryService } from './history-service.js';
import { MountService, type FuseAvailability } from './mounts.js';
import { RemoteService } from './remotes.js';
import { RepoService } from './repos.js';
import type { Services } from './services.js';
import { SyncHub } from './sync-hub.js';

/** How long shutdown waits for the last round that records changes made before unmounting. */
const FINAL_ROUND_TIMEOUT_MS = 30_000;

/** How long shutdown waits for the push of changes not pushed yet. */
const STOP_PUSH_TIMEOUT_MS = 10_000;

/**
 * Timeout of each git network call (ms). `JJFS_GIT_TIMEOUT_MS` overrides it (tests of a hung
 * remote use a short one).
 */
function gitTimeoutMs(): number {
  const raw = Number(process.env['JJFS_GIT_TIMEOUT_MS']);
  return Number.isFinite(raw) && raw > 0 ? raw : 60_000;
}

/** Builds the daemon's services: finds jj (refusing one too old), repos, mounts, sync, remotes. */
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
  const runner = await createJjRunner({
    jjPath: jjFound.path,
    configFile: path.join(paths.home, 'jj-config.toml'),
    log: log.child('jj'),
    identity,
  });
  // Counts jj processes for `status` (an idle daemon must spawn none); no per-call history kept.
  let jjCalls = 0;
  const jj: JjRunner = {
    run: (args, options) => {
      jjCalls += 1;
      return runner.run(args, options);
    },
  };
  const fuse = await fuseAvailability();
  if (!fuse.ok) {
    warnings.push(`FUSE is unavailable, so nothing can be mounted: ${fuse.detail}`);
    log.error('FUSE unavailable', { detail: fuse.detail });
  }
  const timeoutMs = gitTimeoutMs();
  // One git runner for the network (remote) and for plumbing on jj's store (merging conflicts).
  const git = new ExecaGitRunner({ timeoutMs, log: log.child('remote') });
  // The watcher reports backing-dir changes before MountService exists; route them late.
  let mounts: MountService | undefined;
  const hub = new SyncHub(paths, jj, git, log.child('sync'), (name) => config.snapshot().repos[name], (id, events) =>
    mounts?.backingChanged(id, events),
  );
  // Replaying synced changes as events on other mounts needs the caller pid of FUSE requests,
  // which only the patched fuse-native reports; without it watchers on mounts get no events.
  const callerPid = fuse.ok ? loadFuse().callerPid : undefined;
  const notifier = callerPid ? new Notifier(log.child('fuse'), paths.home, callerPid) : undefined;
  if (fuse.ok && !notifier) {
    warnings.push('the stock fuse-native is in use: watchers in one mount do not see changes synced from others (run node native-shims/build-fuse.mjs)');
  }
  const remotes = new RemoteService({
    config,
    hub,
    git,
    identity,
    log: log.child('remote'),
    timeouts: { probeMs: Math.min(timeoutMs, 30_000), fetchMs: timeoutMs, pushMs: timeoutMs },
  });
  const repos = new RepoService(
    paths,
    config,
    { initRepo: (home) => initRepo(jj, home, { log: log.child('sync') }) },
    log.child('daemon'),
    async (name) => {
      const st = hub.status(name);
      const remote = remotes.info(name);
      const conflicts = await hub.conflicts(name).catch(() => st?.conflicts ?? []);
      return {
        ...(remote ? { remote } : {}),
        conflicts,
        ...(st
          ? {
              refusedFiles: st.refusedFiles.map((f) => `${f.path} (${f.reason})`),
              ...(st.lastRound ? { lastRound: st.lastRound.startedAt } : {}),
            }
          : {}),
      };
    },
    remotes,
  );
  // Backups follow the edits: a repo's remote round runs after push_delay of quiet.
  hub.onCommitted((repo, commits) => remotes.localChanges(repo, commits));
  const history = new HistoryService(repos, hub, log.child('history'));
  mounts = new MountService(paths, config, repos, hub, fuse, notifier, log.child('daemon'), (repo, at) => history.resolveAt(repo, at));
  const live = mounts;

  const reposToSync = (repo: string | undefined): string[] => {
    if (repo === undefined) return live.mountedRepos();
    repos.require(repo);
    return [repo];
  };
  const reposWithRemote = (repo: string | undefined): string[] => {
    if (repo === undefined) {
      const names = remotes.repos();
      if (names.length === 0) throw new JjfsError('not-found', 'No repo has a remote. Add one with: jjfs remote add URL [--repo NAME]');
      return names;
    }
    repos.require(repo);
    if (!remotes.has(repo)) throw new JjfsError('not-found', `Repo "${repo}" has no remote. Add one with: jjfs remote add URL --repo ${repo}`);
    return [repo];
  };

  const services: Services = {
    repos,
    history,
    jj: { path: jjFound.path, version: jjFound.version },
    fuse: () => fuse,
    stats: () => ({ jjCalls }),
    mounts: (opts) => live.list(opts),
    unsynced: (filter) => {
      if (filter.repo !== undefined) repos.require(filter.repo);
      return live.unsynced(filter);
    },
    open: ({ repo, path: target, at }) => live.open(repo, target, at),
    closeMount: (target, force) => live.close(target, force),
    sync: async (repo, remote) => {
      if (!remote) {
        const rounds = await hub.sync(reposToSync(repo));
        return rounds;
      }
      const names = reposWithRemote(repo);
      // Local round first, so everything written so far is in main before it is pushed.
      const local = await hub.sync(names);
      return Promise.all(
        local.map(async (round): Promise<RoundInfo> => {
          const { info, problems } = await remotes.syncNow(round.repo);
          const all = [...round.problems, ...problems];
          return { ...round, converged: all.length === 0, problems: all, conflicts: await hub.conflicts(round.repo).catch(() => round.conflicts), remote: info };
        }),
      );
    },
    subscribe: ({ repo }, push) => {
      if (repo !== undefined) repos.require(repo);
      return hub.subscribe(repo, push);
    },
    settings: {
      list: (repo) => {
        const snapshot = config.snapshot();
        const name = targetRepo(snapshot, repo, undefined);
        return { ...(name === undefined ? {} : { repo: name }), settings: listSettings(snapshot, name) };
      },
      set: async (repo, key, text) => {
        const k = settingKey(key);
        const value = text === undefined ? undefined : parseSetting(k, text);
        const name = await config.update((draft) => {
          const n = targetRepo(draft, repo, k);
          applySetting(draft, n, k, value);
          return n;
        });
        // Applied at once: the log level, engines and jj's repo config here; the remote scheduler
        // reads config live.
        if (name === undefined) setLogLevel(config.snapshot().log_level);
        else await hub.configure(name);
        // A push waiting on the old push_delay is rescheduled by the new one.
        if (name !== undefined && (k === 'push_delay' || k === 'push_interval')) remotes.localChanges(name, 0);
        log.info('setting changed', { ...(name === undefined ? {} : { repo: name }), key: k, value: value ?? 'default' });
        return { ...(name === undefined ? {} : { repo: name }), setting: settingInfo(config.snapshot(), name, k) };
      },
    },
    conflicts: async (repo) =>
      Promise.all(reposToSync(repo).map(async (name) => ({ repo: name, paths: await hub.conflicts(name) }))),
    restore: async () => {
      await live.restore();
      // After the mounts: the first remote round may move main, and its fan-out reaches every mount.
      remotes.startAll();
    },
    stop: async () => {
      await live.unmountAll();
      // Everything written before the unmount is recorded before we exit.
      const repoNames = live.mountedRepos();
      const final = hub.sync(repoNames);
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), FINAL_ROUND_TIMEOUT_MS).unref());
      const outcome = await Promise.race([final, timeout]).catch((e: unknown) => messageOf(e));
      if (outcome === 'timeout') log.warn('final round did not finish in time; changes stay in the workspaces and are recorded at the next start');
      // Then what is not pushed yet goes out, if the remote answers soon; the next start pushes the rest.
      await remotes.pushPending(STOP_PUSH_TIMEOUT_MS);
      await remotes.stop();
      await hub.stop();
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
