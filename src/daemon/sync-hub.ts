import { repoHome, type Paths } from '../config/paths.js';
import { CHOICE_DEFAULTS, REPO_DEFAULTS, type RepoConfig } from '../config/schema.js';
import { messageOf } from '../errors.js';
import { GateRegistry, type MountGate } from '../fs/write-gate.js';
import type { Logger } from '../log.js';
import type { MonitorEvent, RoundInfo, UnsyncedReport } from '../rpc/protocol.js';
import type { GitRunner } from '../sync/git.js';
import type { JjRunner } from '../sync/jj-runner.js';
import { DAEMON_IGNORES, writeRepoSettings } from '../sync/repo-init.js';
import { fileFileset, RepoJj, repoPaths } from '../sync/repo-jj.js';
import { RepoSync, type RepoSyncOptions, type RepoSyncStatus, type RoundReport, type WorkspaceSpec } from '../sync/repo-sync.js';
import { StoreCompactor, type CompactionReport } from '../sync/store-compactor.js';
import { measureStore, type StoreFacts } from '../sync/store-facts.js';
import { addWorkspace, forgetWorkspace } from '../sync/workspace-ops.js';
import { WorkspaceWatchers, type WatchEvent } from '../watch/workspace-watcher.js';
import { notifyDesktop } from './desktop-notify.js';
import { MonitorFeed, type ConflictSource } from './monitor-feed.js';

/** Receives every change seen in a backing workspace (see WorkspaceWatchers' onEvents). */
export type BackingEventsListener = (workspaceId: string, events: WatchEvent[]) => void;

/** Constructor argument of {@link SyncHub}. */
export interface SyncHubInit {
  paths: Paths;
  jj: JjRunner;
  /** git plumbing on jj's store (conflict sides, unsynced scans). */
  git: GitRunner;
  log: Logger;
  /** A repo's settings as config.json has them now (undefined: not a repo). */
  repoConfig: (name: string) => RepoConfig | undefined;
  /** Where monitor events go. */
  feed: MonitorFeed;
}

/**
 * The sync side of the daemon: one RepoSync engine per repo (created on first use), the write
 * gates of every mount, and one watcher set for every backing workspace. Listeners (the remote
 * side, the mounts' announcers) register after construction, so nothing here refers to the
 * services that use it.
 */
export class SyncHub {
  readonly #init: SyncHubInit;
  readonly #gates = new GateRegistry();
  readonly #engines = new Map<string, RepoSync>();
  readonly #compactors = new Map<string, StoreCompactor>();
  /** workspace id → repo name, for routing watcher events. */
  readonly #owners = new Map<string, string>();
  readonly #watchers: WorkspaceWatchers;
  /** Told when local changes reach a repo's main (the remote side pushes them). */
  #commitListener: ((repo: string, commits: number) => void) | undefined;
  /** Told of every change in a backing directory (mounts replay them to their watchers). */
  #backingListener: BackingEventsListener | undefined;

  constructor(init: SyncHubInit) {
    this.#init = init;
    this.#watchers = new WorkspaceWatchers({
      log: init.log,
      ignore: DAEMON_IGNORES,
      onChange: (id) => this.markDirty(id),
      // Every write through a mount marks its workspace dirty itself (after waiting at the write
      // gate while jj runs), so re-checking each workspace after each fan-out would only find
      // jj's own writes: one extra jj process per workspace per round. A direct edit of a backing
      // dir that lands while jj writes there stays in the file and is recorded by the next round
      // that touches the workspace (every round snapshots first), or at close/stop at the latest.
      verifyAfterSuppression: false,
      onEvents: (id, events) => this.#backingListener?.(id, events),
    });
  }

  /** The engine of `repo`, created with that repo's timing settings. */
  engine(repo: string): RepoSync {
    let engine = this.#engines.get(repo);
    if (!engine) {
      const { paths, jj, git, log, feed } = this.#init;
      engine = new RepoSync({
        name: repo,
        repoHome: repoHome(paths, repo),
        jj,
        git,
        gate: this.#gates,
        log,
        options: this.#engineOptions(repo),
        suppressor: this.#watchers,
        onCommitted: (commits) => {
          this.#compactors.get(repo)?.changed();
          this.#commitListener?.(repo, commits);
        },
        onRound: (report) => feed.round(repo, report, () => this.conflicts(repo)),
        onConflicts: (notes) => {
          if ((this.#init.repoConfig(repo)?.notify_conflicts ?? CHOICE_DEFAULTS.notify_conflicts) === 'off') return;
          const paths = notes.map((n) => n.path);
          notifyDesktop(`jjfs: conflict in ${repo}`, `${paths.join(', ')} — see: jjfs conflicts ${repo}`);
        },
      });
      this.#engines.set(repo, engine);
      const sync = engine;
      this.#compactors.set(
        repo,
        new StoreCompactor({
          repo,
          paths: repoPaths(repoHome(paths, repo)),
          git,
          log,
          between: (task) => sync.maintain(task),
          threshold: () => this.#init.repoConfig(repo)?.compact_loose_objects ?? REPO_DEFAULTS.compact_loose_objects,
          bytesThreshold: () => this.#init.repoConfig(repo)?.compact_loose_bytes ?? REPO_DEFAULTS.compact_loose_bytes,
          opLog: {
            max: () => this.#init.repoConfig(repo)?.op_log_max ?? REPO_DEFAULTS.op_log_max,
            keep: () => this.#init.repoConfig(repo)?.op_log_keep ?? REPO_DEFAULTS.op_log_keep,
            trim: (keep) => sync.trimOperations(keep),
          },
        }),
      );
    }
    return engine;
  }

  /** What `repo`'s history costs on disk, and its last compaction (git processes only, no jj). */
  async history(repo: string): Promise<StoreFacts & { lastCompaction?: CompactionReport }> {
    const facts = await measureStore(this.#init.git, repoPaths(repoHome(this.#init.paths, repo)), this.#engines.get(repo)?.cachedMain() ?? 'main');
    const last = this.#compactors.get(repo)?.last();
    return { ...facts, ...(last ? { lastCompaction: last } : {}) };
  }

  /** Compacts `repo`'s history now (`jjfs compact`): trim to op_log_keep, pack every loose object, prune. */
  async compact(repo: string): Promise<CompactionReport | undefined> {
    this.engine(repo);
    return this.#compactors.get(repo)?.compactNow(true);
  }

  /** The engine settings of `repo` from its config (defaults from one place: REPO_DEFAULTS). */
  #engineOptions(repo: string): RepoSyncOptions {
    const cfg = this.#init.repoConfig(repo);
    return {
      debounceMs: cfg?.debounce_ms ?? REPO_DEFAULTS.debounce_ms,
      maxWaitMs: cfg?.max_wait_ms ?? REPO_DEFAULTS.max_wait_ms,
      insertions: cfg?.concurrent_insertions ?? CHOICE_DEFAULTS.concurrent_insertions,
    };
  }

  /**
   * Applies `repo`'s settings from config now: the engine's timings and merge policy, and jj's
   * repo config (the new-file size limit), which every later jj call reads.
   */
  async configure(repo: string): Promise<void> {
    this.#engines.get(repo)?.configure(this.#engineOptions(repo));
    await this.#writeJjSettings(repo);
  }

  #writeJjSettings(repo: string): Promise<void> {
    const size = this.#init.repoConfig(repo)?.max_new_file_size ?? REPO_DEFAULTS.max_new_file_size;
    return writeRepoSettings(repoHome(this.#init.paths, repo), { maxNewFileSize: String(size) });
  }

  /** Registers who hears of local changes reaching a repo's main (one listener: the remote service). */
  onCommitted(listener: (repo: string, commits: number) => void): void {
    this.#commitListener = listener;
  }

  /** Registers who hears of changes in backing directories (one listener: the mount service). */
  onBackingEvents(listener: BackingEventsListener): void {
    this.#backingListener = listener;
  }

  /** Makes jj steps in workspace `id` wait for (and hold off) writes through its mount. */
  registerGate(id: string, gate: MountGate): void {
    this.#gates.register(id, gate);
  }

  /** Undoes {@link registerGate} (only if `gate` is still the one registered). */
  unregisterGate(id: string, gate: MountGate | undefined): void {
    this.#gates.unregister(id, gate);
  }

  /** Creates the jj workspace `id` of `repo` at `dir`, checked out at `rev` (default main); only `subtree` when given. */
  async createWorkspace(repo: string, id: string, dir: string, rev?: string, subtree?: string): Promise<void> {
    // On the repo's queue: a workspace added while the operation log is trimmed would hang off an
    // operation the trim deletes (op-log-trim.ts).
    await this.engine(repo).maintain(() => addWorkspace(this.repoJj(repo), id, dir, rev, subtree));
  }

  /** Which of `paths` (repo-relative) are files at `rev` (default main): one jj process, on the repo. */
  async filesAt(repo: string, paths: readonly string[], rev = 'main'): Promise<string[]> {
    if (paths.length === 0) return [];
    const r = await this.repoJj(repo).repo(['file', 'list', '-r', rev, paths.map(fileFileset).join(' | ')]);
    return r.stdout.split('\n').filter((l) => l !== '');
  }

  /** Forgets a workspace jj knows but no engine has attached (undoing a failed open). */
  async forgetWorkspace(repo: string, id: string): Promise<void> {
    // On the repo's queue, like createWorkspace: never in the middle of a trim.
    await this.engine(repo).maintain(() => forgetWorkspace(this.repoJj(repo), id));
  }

  /** Starts syncing a workspace (recovering it first) and watching its backing directory. */
  async attach(repo: string, ws: WorkspaceSpec): Promise<void> {
    // jj's settings follow config.json (a limit changed while the daemon was down applies now).
    await this.#writeJjSettings(repo);
    this.#owners.set(ws.id, repo);
    this.#init.feed.label(ws.id, ws.label);
    await this.engine(repo).attach(ws);
    await this.#watchers.watch(ws.id, ws.dir);
  }

  /** Final commit of the workspace's changes, then forget it and delete its directory. */
  async remove(repo: string, id: string): Promise<void> {
    await this.#watchers.unwatch(id).catch(() => undefined);
    await this.engine(repo).removeWorkspace(id);
    this.#forget(id);
  }

  /** Stops syncing a workspace without touching it (daemon shutdown, unhealthy mount). */
  async detach(repo: string, id: string): Promise<void> {
    await this.#watchers.unwatch(id).catch(() => undefined);
    await this.engine(repo).detach(id);
    this.#forget(id);
  }

  #forget(id: string): void {
    this.#owners.delete(id);
    this.#init.feed.forget(id);
  }

  /** Starts streaming events to `push` (of `repo`, or all); returns the unsubscribe function. */
  subscribe(repo: string | undefined, push: (event: MonitorEvent) => void): () => void {
    const syncing = new Map<string, ConflictSource>([...this.#engines].map(([name, engine]) => [name, () => engine.conflicts()]));
    return this.#init.feed.subscribe(repo, push, syncing);
  }

  /** Workspace `id` changed (a write through its mount, or its watcher): its round follows. */
  markDirty(id: string): void {
    const repo = this.#owners.get(id);
    if (!repo) return;
    this.#engines.get(repo)?.markDirty(id);
    this.#init.feed.change(repo, id);
  }

  /** Forces a round in `repos` and reports, per repo, whether every workspace converged. */
  async sync(repos: string[]): Promise<RoundInfo[]> {
    return Promise.all(
      repos.map(async (repo): Promise<RoundInfo> => {
        try {
          return await this.roundInfo(repo, await this.engine(repo).syncNow());
        } catch (error) {
          return { repo, converged: false, commits: 0, conflicts: [], problems: [messageOf(error)] };
        }
      }),
    );
  }

  /** A round's report as the CLI sees it: converged or not (and why), commits, conflicts. */
  async roundInfo(repo: string, report: RoundReport): Promise<RoundInfo> {
    const conflicts = await this.conflicts(repo);
    const problems = [...report.failed.map((f) => `${f.id}: ${f.error}`), ...report.behind.map((b) => `${b.id}: ${b.reason}`)];
    return { repo, converged: problems.length === 0, commits: report.committed.length, conflicts, problems };
  }

  /** Unresolved conflicts at `repo`'s main. */
  conflicts(repo: string): Promise<string[]> {
    return this.engine(repo).conflicts();
  }

  /** What workspace `id` of `repo` holds that history does not (no jj process). */
  unsynced(repo: string, id: string): Promise<UnsyncedReport> {
    return this.engine(repo).unsynced(id);
  }

  /** The engine's status of `repo`, or undefined before it has one (spawns nothing). */
  status(repo: string): RepoSyncStatus | undefined {
    return this.#engines.get(repo)?.status();
  }

  /** Stops every engine (after its running round) and every watcher. */
  async stop(): Promise<void> {
    // A repack in flight is killed first (the store stays readable); then the engines finish their round.
    await Promise.all([...this.#compactors.values()].map((c) => c.close().catch(() => undefined)));
    await Promise.all([...this.#engines.values()].map((e) => e.close().catch(() => undefined)));
    await this.#watchers.close().catch(() => undefined);
  }

  /** jj calls scoped to `repo`'s private repo (history queries use its `--ignore-working-copy` handle). */
  repoJj(repo: string): RepoJj {
    return new RepoJj(this.#init.jj, repoPaths(repoHome(this.#init.paths, repo)));
  }
}
