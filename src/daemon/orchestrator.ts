import { JjfsError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import type { HistoryFacts, RemoteInfo, RemoteRoundInfo, RoundInfo } from '../rpc/protocol.js';
import type { RepoSyncStatus } from '../sync/repo-sync.js';
import type { RepoLiveInfo } from './repos.js';

/** The local rounds of every repo (SyncHub). */
export interface LocalRounds {
  sync(repos: string[]): Promise<RoundInfo[]>;
  conflicts(repo: string): Promise<string[]>;
  status(repo: string): RepoSyncStatus | undefined;
  /** What the repo's history costs on disk. */
  history(repo: string): Promise<HistoryFacts>;
  /** Compacts the repo's history now (`jjfs compact`); undefined when there was nothing to do. */
  compact(repo: string): Promise<HistoryFacts['lastCompaction']>;
  stop(): Promise<void>;
}

/** The remote rounds of every repo with a remote (RemoteService). */
export interface RemoteRounds {
  repos(): string[];
  has(repo: string): boolean;
  info(repo: string): RemoteInfo | undefined;
  syncNow(repo: string): Promise<{ info: RemoteRoundInfo; problems: string[] }>;
  startAll(): void;
  pushPending(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** The mount table (MountService). */
export interface MountTable {
  /** Repos with at least one live mount: the ones with something to sync. */
  mountedRepos(): string[];
  remountAll(): Promise<void>;
  unmountAll(): Promise<void>;
}

/** How long the steps of stopping may take. */
export interface StopTimeouts {
  /** The last local round, which records what was written before the unmount. */
  finalRoundMs: number;
  /** The push of changes not pushed yet. */
  pushMs: number;
}

/** Constructor argument of {@link Orchestrator}. */
export interface OrchestratorInit {
  local: LocalRounds;
  remote: RemoteRounds;
  mounts: MountTable;
  /** Refuses a name that is not a repo (not-found, with the fix). */
  requireRepo: (name: string) => void;
  /** Every repo, sorted. */
  repoNames: () => string[];
  log: Logger;
  timeouts?: Partial<StopTimeouts>;
}

const DEFAULT_TIMEOUTS: StopTimeouts = { finalRoundMs: 30_000, pushMs: 10_000 };

/**
 * Runs the daemon's rounds in the right order: `jjfs sync` (local, then remote), the conflicts of
 * every repo, the live facts `status` shows, and the order of start (mounts, then remotes) and stop
 * (unmount, last round, push, stop the engines).
 */
export class Orchestrator {
  readonly #init: OrchestratorInit;
  readonly #timeouts: StopTimeouts;

  constructor(init: OrchestratorInit) {
    this.#init = init;
    this.#timeouts = { ...DEFAULT_TIMEOUTS, ...init.timeouts };
  }

  /** `jjfs sync [--remote]`: a round in `repo` (or every mounted repo), with a remote round after. */
  async sync(repo: string | undefined, remote: boolean): Promise<RoundInfo[]> {
    const { local } = this.#init;
    if (!remote) return local.sync(this.#reposToSync(repo));
    const names = this.#reposWithRemote(repo);
    // Local round first, so everything written so far is in main before it is pushed.
    const rounds = await local.sync(names);
    return Promise.all(
      rounds.map(async (round): Promise<RoundInfo> => {
        const { info, problems } = await this.#init.remote.syncNow(round.repo);
        const all = [...round.problems, ...problems];
        // The remote round may have merged conflicts in: list them again.
        return { ...round, converged: all.length === 0, problems: all, conflicts: await this.#conflictsOr(round.repo, round.conflicts), remote: info };
      }),
    );
  }

  /** Unresolved conflicts of `repo`, or of every mounted repo. */
  conflicts(repo: string | undefined): Promise<Array<{ repo: string; paths: string[] }>> {
    return Promise.all(this.#reposToSync(repo).map(async (name) => ({ repo: name, paths: await this.#init.local.conflicts(name) })));
  }

  /** `jjfs compact`: packs the history of `repo` (or of every repo) now, and says what it costs after. */
  compact(repo: string | undefined): Promise<Array<{ repo: string; compaction?: NonNullable<HistoryFacts['lastCompaction']>; history: HistoryFacts }>> {
    if (repo !== undefined) this.#init.requireRepo(repo);
    const { local } = this.#init;
    return Promise.all(
      (repo === undefined ? this.#init.repoNames() : [repo]).map(async (name) => {
        const compaction = await local.compact(name);
        return { repo: name, ...(compaction ? { compaction } : {}), history: await local.history(name) };
      }),
    );
  }

  /** Daemon start: every mount back, then remote rounds (the first may move main; its fan-out reaches every mount). */
  async start(): Promise<void> {
    await this.#init.mounts.remountAll();
    this.#init.remote.startAll();
  }

  /**
   * Daemon stop. The order matters: unmount first (writes stop), then one last round records
   * everything written before (bounded: what it does not reach stays in the workspaces and is
   * recorded at the next start), then what is not pushed goes out if the remote answers soon, then
   * the engines and remote timers stop.
   */
  async stop(): Promise<void> {
    const { mounts, local, remote, log } = this.#init;
    await mounts.unmountAll();
    const final = local.sync(mounts.mountedRepos());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), this.#timeouts.finalRoundMs)));
    const outcome = await Promise.race([final, timeout]).catch((e: unknown) => messageOf(e));
    clearTimeout(timer);
    if (outcome === 'timeout') log.warn('final round did not finish in time; changes stay in the workspaces and are recorded at the next start');
    await remote.pushPending(this.#timeouts.pushMs);
    await remote.stop();
    await local.stop();
  }

  #conflictsOr(repo: string, known: string[]): Promise<string[]> {
    return conflictsOr(this.#init.local, repo, known);
  }

  #reposToSync(repo: string | undefined): string[] {
    if (repo === undefined) return this.#init.mounts.mountedRepos();
    this.#init.requireRepo(repo);
    return [repo];
  }

  #reposWithRemote(repo: string | undefined): string[] {
    const { remote } = this.#init;
    if (repo === undefined) {
      const names = remote.repos();
      if (names.length === 0) throw new JjfsError('not-found', 'No repo has a remote. Add one with: jjfs remote add URL [--repo NAME]');
      return names;
    }
    this.#init.requireRepo(repo);
    if (!remote.has(repo)) throw new JjfsError('not-found', `Repo "${repo}" has no remote. Add one with: jjfs remote add URL --repo ${repo}`);
    return [repo];
  }
}

/** A conflict listing that failed (jj or git trouble) falls back to what was known: it never fails a request. */
function conflictsOr(local: Pick<LocalRounds, 'conflicts'>, repo: string, known: string[]): Promise<string[]> {
  return local.conflicts(repo).catch(() => known);
}

/** What `status` and `jjfs repos` show of a repo beyond config: remote, conflicts, last round, refused files. */
export function repoLiveInfo(local: Pick<LocalRounds, 'conflicts' | 'status' | 'history'>, remote: Pick<RemoteRounds, 'info'>): RepoLiveInfo {
  return async (name) => {
    const st = local.status(name);
    const info = remote.info(name);
    const [conflicts, history] = await Promise.all([conflictsOr(local, name, st?.conflicts ?? []), local.history(name).catch(() => undefined)]);
    return {
      ...(info ? { remote: info } : {}),
      ...(history ? { history } : {}),
      conflicts,
      ...(st
        ? {
            refusedFiles: st.refusedFiles.map((f) => `${f.path} (${f.reason})`),
            ...(st.lastRound ? { lastRound: st.lastRound.startedAt } : {}),
          }
        : {}),
    };
  };
}
