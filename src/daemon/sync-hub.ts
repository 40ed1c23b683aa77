import { repoHome, type Paths } from '../config/paths.js';
import { REPO_DEFAULTS, type RepoConfig } from '../config/schema.js';
import { messageOf } from '../errors.js';
import { GateRegistry } from '../fs/write-gate.js';
import type { Logger } from '../log.js';
import type { MonitorEvent, RoundInfo, UnsyncedReport } from '../rpc/protocol.js';
import type { GitRunner } from '../sync/git.js';
import type { JjRunner } from '../sync/jj-runner.js';
import { DAEMON_IGNORES, writeRepoSettings } from '../sync/repo-init.js';
import { RepoJj, repoPaths } from '../sync/repo-jj.js';
import { RepoSync, type RepoSyncOptions, type RepoSyncStatus, type RoundReport, type WorkspaceSpec } from '../sync/repo-sync.js';
import { addWorkspace, forgetWorkspace } from '../sync/workspace-ops.js';
import { WorkspaceWatchers } from '../watch/workspace-watcher.js';
import { notifyDesktop } from './desktop-notify.js';
import { EventBus } from './events.js';

/** Receives every change seen in a backing workspace (see WorkspaceWatchers' onEvents). */
export type BackingEventsListener = (
  workspaceId: string,
  events: Array<{ path: string; type: 'create' | 'update' | 'delete' }>,
) => void;

/**
 * The sync side of the daemon: one RepoSync engine per repo (created on first use), the gates of
 * every mount, and one watcher set for every backing workspace.
 */
export class SyncHub {
  readonly gates = new GateRegistry();
  private readonly engines = new Map<string, RepoSync>();
  /** workspace id → repo name, for routing watcher events. */
  private readonly owners = new Map<string, string>();
  private readonly watchers: WorkspaceWatchers;
  /** What the daemon does, for `jjfs monitor`. */
  readonly events = new EventBus();
  private readonly labels = new Map<string, string>();
  private readonly lastChangeEvent = new Map<string, number>();
  /** Conflicts last reported to monitors, per repo. */
  private readonly knownConflicts = new Map<string, string[]>();
  /** Told when local changes reach a repo's main (the remote side pushes them). */
  private commitListener: ((repo: string, commits: number) => void) | undefined;

  constructor(
    private readonly paths: Paths,
    private readonly jj: JjRunner,
    private readonly git: GitRunner,
    private readonly log: Logger,
    private readonly repoConfig: (name: string) => RepoConfig | undefined,
    onBackingEvents?: BackingEventsListener,
  ) {
    this.watchers = new WorkspaceWatchers({
      log,
      ignore: DAEMON_IGNORES,
      onChange: (id) => this.markDirty(id),
      // Every write through a mount marks its workspace dirty itself (after waiting at the write
      // gate while jj runs), so re-checking each workspace after each fan-out would only find
      // jj's own writes: one extra jj process per workspace per round. A direct edit of a backing
      // dir that lands while jj writes there stays in the file and is recorded by the next round
      // that touches the workspace (every round snapshots first), or at close/stop at the latest.
      verifyAfterSuppression: false,
      ...(onBackingEvents ? { onEvents: onBackingEvents } : {}),
    });
  }

  /** The engine of `repo`, created with that repo's timing settings. */
  engine(repo: string): RepoSync {
    let engine = this.engines.get(repo);
    if (!engine) {
      engine = new RepoSync({
        name: repo,
        repoHome: repoHome(this.paths, repo),
        jj: this.jj,
        git: this.git,
        gate: this.gates,
        log: this.log,
        options: this.engineOptions(repo),
        suppressor: this.watchers,
        onCommitted: (commits) => this.commitListener?.(repo, commits),
        onRound: (report) => this.announceRound(repo, report),
        onConflicts: (notes) => {
          if ((this.repoConfig(repo)?.notify_conflicts ?? 'on') === 'off') return;
          const paths = notes.map((n) => n.path);
          notifyDesktop(`jjfs: conflict in ${repo}`, `${paths.join(', ')} — see: jjfs conflicts ${repo}`);
        },
      });
      this.engines.set(repo, engine);
    }
    return engine;
  }

  /** The engine settings of `repo` from its config (defaults from one place: REPO_DEFAULTS). */
  private engineOptions(repo: string): RepoSyncOptions {
    const cfg = this.repoConfig(repo);
    return {
      debounceMs: cfg?.debounce_ms ?? REPO_DEFAULTS.debounce_ms,
      maxWaitMs: cfg?.max_wait_ms ?? REPO_DEFAULTS.max_wait_ms,
      insertions: cfg?.concurrent_insertions ?? 'merge',
    };
  }

  /**
   * Applies `repo`'s settings from config now: the engine's timings and merge policy, and jj's
   * repo config (the new-file size limit), which every later jj call reads.
   */
  async configure(repo: string): Promise<void> {
    this.engines.get(repo)?.configure(this.engineOptions(repo));
    await this.writeJjSettings(repo);
  }

  private writeJjSettings(repo: string): Promise<void> {
    const size = this.repoConfig(repo)?.max_new_file_size ?? REPO_DEFAULTS.max_new_file_size;
    return writeRepoSettings(repoHome(this.paths, repo), { maxNewFileSize: String(size) });
  }

  /** Registers who hears of local changes reaching a repo's main (one listener: the remote service). */
  onCommitted(listener: (repo: string, commits: number) => void): void {
    this.commitListener = listener;
  }

  /** Creates the jj workspace `id` of `repo` at `dir`, checked out at `rev` (default main). */
  async createWorkspace(repo: string, id: string, dir: string, rev?: string): Promise<void> {
    await addWorkspace(this.repoJj(repo), id, dir, rev);
  }

  /** Forgets a workspace jj knows but no engine has attached (undoing a failed open). */
  async forgetWorkspace(repo: string, id: string): Promise<void> {
    await forgetWorkspace(this.repoJj(repo), id);
  }

  /** Starts syncing a workspace (recovering it first) and watching its backing directory. */
  async attach(repo: string, ws: WorkspaceSpec): Promise<void> {
    // jj's settings follow config.json (a limit changed while the daemon was down applies now).
    await this.writeJjSettings(repo);
    this.owners.set(ws.id, repo);
    this.labels.set(ws.id, ws.label);
    await this.engine(repo).attach(ws);
    await this.watchers.watch(ws.id, ws.dir);
  }

  /** Final commit of the workspace's changes, then forget it and delete its directory. */
  async remove(repo: string, id: string): Promise<void> {
    await this.watchers.unwatch(id).catch(() => undefined);
    await this.engine(repo).removeWorkspace(id);
    this.owners.delete(id);
    this.labels.delete(id);
    this.lastChangeEvent.delete(id);
  }

  /** Stops syncing a workspace without touching it (daemon shutdown, unhealthy mount). */
  /** Starts streaming events to `push` (of `repo`, or all); returns the unsubscribe function. */
  subscribe(repo: string | undefined, push: (event: MonitorEvent) => void): () => void {
    // Conflicts already there are not news: seed what monitors were told.
    for (const [name, engine] of this.engines) {
      if (!this.knownConflicts.has(name)) void engine.conflicts().then((c) => this.knownConflicts.set(name, c), () => undefined);
    }
    return this.events.subscribe((event) => {
      if (repo === undefined || event.repo === repo) push(event);
    });
  }

  async detach(repo: string, id: string): Promise<void> {
    await this.watchers.unwatch(id).catch(() => undefined);
    await this.engine(repo).detach(id);
    this.owners.delete(id);
    this.labels.delete(id);
    this.lastChangeEvent.delete(id);
  }

  markDirty(id: string): void {
    const repo = this.owners.get(id);
    if (!repo) return;
    this.engines.get(repo)?.markDirty(id);
    // At most one `change` event per mount per second: a write storm is one line in monitor.
    const now = Date.now();
    if (this.events.active && now - (this.lastChangeEvent.get(id) ?? 0) >= 1_000) {
      this.lastChangeEvent.set(id, now);
      this.events.emit({ type: 'change', repo, mount: this.labels.get(id) ?? id });
    }
  }

  /** A round's event, then the conflicts it made or cleared (computed only while someone listens). */
  private announceRound(repo: string, report: RoundReport): void {
    if (!this.events.active) return;
    const label = (id: string) => this.labels.get(id) ?? id;
    this.events.emit({
      type: 'round',
      repo,
      committed: report.committed.map(label),
      updated: report.updated.length,
      failed: report.failed.map((f) => `${label(f.id)}: ${f.error}`),
      ms: report.durationMs,
    });
    const before = new Set(this.knownConflicts.get(repo) ?? []);
    void this.engine(repo)
      .conflicts()
      .then((now) => {
        this.knownConflicts.set(repo, now);
        for (const path of now) if (!before.has(path)) this.events.emit({ type: 'conflict', repo, path });
        for (const path of before) if (!now.includes(path)) this.events.emit({ type: 'resolved', repo, path });
      })
      .catch(() => undefined);
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
    const conflicts = await this.engine(repo).conflicts();
    const problems = [...report.failed.map((f) => `${f.id}: ${f.error}`), ...report.behind.map((b) => `${b.id}: ${b.reason}`)];
    return { repo, converged: problems.length === 0, commits: report.committed.length, conflicts, problems };
  }

  async conflicts(repo: string): Promise<string[]> {
    return this.engine(repo).conflicts();
  }

  /** What workspace `id` of `repo` holds that history does not (no jj process). */
  unsynced(repo: string, id: string): Promise<UnsyncedReport> {
    return this.engine(repo).unsynced(id);
  }

  status(repo: string): RepoSyncStatus | undefined {
    return this.engines.get(repo)?.status();
  }

  /** Stops every engine (after its running round) and every watcher. */
  async stop(): Promise<void> {
    await Promise.all([...this.engines.values()].map((e) => e.close().catch(() => undefined)));
    await this.watchers.close().catch(() => undefined);
  }

  /** jj calls scoped to `repo`'s private repo (history queries use its `--ignore-working-copy` handle). */
  repoJj(repo: string): RepoJj {
    return new RepoJj(this.jj, repoPaths(repoHome(this.paths, repo)));
  }
}
