import { redactUrl } from '../config/validate.js';
import { JjfsError } from '../errors.js';
import type { Logger } from '../log.js';
import { GitError, type GitRunner } from './git.js';
import type { JjIdentity } from './jj-runner.js';
import type { ConflictNote } from './merge-paths.js';
import type { InsertionPolicy } from './merge-text.js';
import type { RepoJj } from './repo-jj.js';
import type { RoundReport } from './repo-sync.js';
import {
  adoptCommit,
  buildPublishCommit,
  hasConflictsInRange,
  importRemote,
  isPristine,
  relate,
  setMain,
} from './remote-integrate.js';
import { conflictNotesIn } from './conflict-list.js';
import { mergeWithRemote } from './remote-merge.js';
import { fetchBranch, probeRemote, pushCommit, type RemoteTarget, type TransportTimeouts } from './remote-transport.js';
import type { RepoState } from './workspace-ops.js';

/** What remote sync needs from the repo's engine (RepoSync implements it). */
export interface RemoteEngine {
  /** Runs `task` on the repo's serial queue, then brings every workspace onto `main`. */
  exclusive<T>(task: (state: RepoState) => Promise<T>): Promise<{ result: T; report: RoundReport }>;
  /** `main` as of the last round, without spawning anything. */
  cachedMain(): string | undefined;
  /** Records conflicts the remote merge left in `main`, so `jjfs conflicts` lists them. */
  noteConflicts(notes: readonly ConflictNote[]): void;
}

/** How the remote's changes came into `main`. */
export type Integration = 'none' | 'fast-forward' | 'merge' | 'adopt';

/** What one remote round did. */
export interface RemoteRoundResult {
  /** Nothing changed on either side: one fetch, no jj process. */
  idle: boolean;
  integrated: Integration;
  pushed: boolean;
  /** Files the remote merge (or a publish commit) left with a conflict for a person to look at. */
  published: string[];
  /** Pushes refused because the remote moved (each one led to a new fetch + integrate). */
  rejectedPushes: number;
  /** The fan-out after `main` moved (absent for an idle round). */
  report?: RoundReport;
  fetchedAt: string;
  pushedAt?: string;
  durationMs: number;
}

/** Constructor argument of {@link RemoteSync}. */
export interface RemoteSyncInit {
  repo: string;
  target: RemoteTarget;
  rj: RepoJj;
  git: GitRunner;
  engine: RemoteEngine;
  identity: JjIdentity;
  log: Logger;
  timeouts?: TransportTimeouts;
  /** Concurrent insertions at one place: merged (default) or written as conflicts; read at each merge. */
  insertions?: () => InsertionPolicy;
}

interface Plan {
  /** main after integration */
  local: string;
  /** commit to push, when the remote lacks something */
  push?: string;
  integrated: Integration;
  published: string[];
}

/** How often a round re-fetches after a refused (non-fast-forward) push before giving up. */
const MAX_PUSH_ATTEMPTS = 3;

/**
 * One repo's remote sync: fetch (outside the queue), integrate into `main` and fan out (inside
 * the queue, via `engine.exclusive`), push (outside the queue). Rounds of one repo must not
 * overlap; the scheduler guarantees that.
 */
export class RemoteSync {
  readonly repo: string;
  readonly target: RemoteTarget;
  /** When the last fetch succeeded (even if the round failed later). */
  lastFetchAt: string | undefined;
  readonly #init: RemoteSyncInit;
  readonly #gitDir: string;
  /** Remote head and local main after the last round that left both sides equal. */
  #synced: { remote: string | undefined; local: string } | undefined;

  constructor(init: RemoteSyncInit) {
    this.repo = init.repo;
    this.target = init.target;
    this.#init = init;
    this.#gitDir = init.rj.paths.gitDir;
  }

  /** Runs one round. Throws (GitError, Error) when it could not finish; nothing is lost then. */
  async round(signal?: AbortSignal): Promise<RemoteRoundResult> {
    const started = Date.now();
    const { git, engine, timeouts } = this.#init;
    let rejectedPushes = 0;
    for (let attempt = 1; attempt <= MAX_PUSH_ATTEMPTS; attempt++) {
      const remoteHead = await fetchBranch(git, this.#gitDir, this.target, {
        ...(timeouts?.fetchMs === undefined ? {} : { timeoutMs: timeouts.fetchMs }),
        ...(signal ? { signal } : {}),
      });
      const fetchedAt = new Date().toISOString();
      this.lastFetchAt = fetchedAt;
      const base = { fetchedAt, rejectedPushes };
      if (this.#synced && this.#synced.remote === remoteHead && engine.cachedMain() === this.#synced.local) {
        return { ...base, idle: true, integrated: 'none', pushed: false, published: [], durationMs: Date.now() - started };
      }
      const { result: plan, report } = await engine.exclusive((state) => this.#integrate(state, remoteHead));
      if (plan.integrated !== 'none' || plan.published.length > 0) {
        this.#init.log.info('remote changes integrated', { repo: this.repo, how: plan.integrated, published: plan.published });
      }
      if (plan.push === undefined) {
        this.#synced = { remote: remoteHead, local: plan.local };
        return { ...base, idle: false, integrated: plan.integrated, pushed: false, published: plan.published, report, durationMs: Date.now() - started };
      }
      const outcome = await pushCommit(git, this.#gitDir, this.target, plan.push, {
        ...(timeouts?.pushMs === undefined ? {} : { timeoutMs: timeouts.pushMs }),
        ...(signal ? { signal } : {}),
      });
      if (outcome === 'pushed') {
        this.#synced = { remote: plan.push, local: plan.local };
        this.#init.log.info('pushed', { repo: this.repo, commit: plan.push, url: redactUrl(this.target.url) });
        return {
          ...base,
          idle: false,
          integrated: plan.integrated,
          pushed: true,
          published: plan.published,
          report,
          pushedAt: new Date().toISOString(),
          durationMs: Date.now() - started,
        };
      }
      // Someone pushed between our fetch and our push: fetch again, integrate, retry.
      rejectedPushes++;
      this.#init.log.info('push refused (the remote moved); fetching again', { repo: this.repo, attempt });
    }
    throw new Error(`the remote branch ${this.target.branch} kept moving: push refused ${rejectedPushes} times; will retry`);
  }

  /**
   * Runs inside the queue: import what was fetched, move `main`, decide what to push. Conflicts
   * recorded by the commits that reached `main` (ours from the merge, the other machine's own) are
   * handed to the engine's list.
   */
  async #integrate(state: RepoState, remoteHead: string | undefined): Promise<Plan> {
    const plan = await this.#plan(state, remoteHead);
    if (plan.local !== state.main) this.#init.engine.noteConflicts(await conflictNotesIn(this.#init.rj, `${state.main}..${plan.local}`));
    return plan;
  }

  async #plan(state: RepoState, remoteHead: string | undefined): Promise<Plan> {
    const { rj, git, identity } = this.#init;
    await importRemote(rj, git, this.target.branch, remoteHead);
    let local = state.main;
    let integrated: Integration = 'none';
    let published: string[] = [];
    if (remoteHead !== undefined) {
      const relation = await relate(git, this.#gitDir, local, remoteHead);
      if (relation === 'same') return { local, integrated, published: [] };
      if (relation === 'remote-ahead') {
        await setMain(rj, remoteHead);
        return { local: remoteHead, integrated: 'fast-forward', published: [] };
      }
      if (relation === 'unrelated') {
        if (!(await isPristine(rj, local))) throw unrelatedHistory(this.repo, this.target);
        // Our history holds no file at all: take the remote's.
        await setMain(rj, remoteHead, true);
        return { local: remoteHead, integrated: 'adopt', published: [] };
      }
      if (relation === 'diverged') {
        // A merge, not a rebase: rebasing would rewrite the commits every workspace sits on.
        const merge = await mergeWithRemote(git, this.#gitDir, local, remoteHead, {
          identity,
          message: `jjfs: merge ${this.target.branch} from ${redactUrl(this.target.url)}`,
          names: { ours: identity.name, theirs: `${redactUrl(this.target.url)} ${this.target.branch}` },
          policy: this.#init.insertions?.() ?? 'merge',
        });
        await adoptCommit(rj, git, merge.sha);
        local = merge.sha;
        integrated = 'merge';
        published = merge.notes.map((n) => n.path);
      }
    }
    if (await hasConflictsInRange(rj, remoteHead, local)) {
      // A repo from before jjfs resolved conflicts itself may still hold jj-conflicted commits.
      const publish = await buildPublishCommit(
        rj,
        git,
        remoteHead,
        local,
        identity,
        `jjfs: changes from ${identity.name}, published as one commit (git remotes cannot hold jj's conflicted commits)`,
      );
      await adoptCommit(rj, git, publish.sha);
      return { local: publish.sha, push: publish.sha, integrated, published: [...published, ...publish.conflicts] };
    }
    return { local, push: local, integrated, published };
  }
}

function unrelatedHistory(repo: string, target: RemoteTarget): JjfsError {
  return new JjfsError(
    'invalid-input',
    `The branch "${target.branch}" of ${redactUrl(target.url)} has history unrelated to repo "${repo}"; jjfs will not ` +
      'merge unrelated histories. Use an empty remote (git init --bare -b main PATH), or start a new repo from this one: ' +
      `jjfs init NAME --from ${redactUrl(target.url)}`,
  );
}

/** Turns a failed `ls-remote` into a message naming the cause and the fix. */
export function unreachable(url: string, error: unknown): JjfsError {
  const detail = error instanceof GitError ? error.message : String(error);
  return new JjfsError(
    'invalid-input',
    `${redactUrl(url)} is not a git repository jjfs can reach (${detail}). ` +
      'Check the URL and your access to it; for a new remote create an empty one first: git init --bare -b main PATH',
  );
}

/**
 * Checks a remote before `remote add`: it must be a git repository we can read, and its branch
 * (HEAD's, else `main`) must share history with the repo's `main` — unless the repo has no content
 * of its own yet, which then adopts the remote's history at the first round. Returns the branch.
 */
export async function checkRemote(rj: RepoJj, git: GitRunner, repo: string, url: string, timeouts: TransportTimeouts = {}): Promise<RemoteTarget> {
  let probe;
  try {
    probe = await probeRemote(git, url, timeouts.probeMs);
  } catch (error) {
    throw unreachable(url, error);
  }
  const target: RemoteTarget = { url, branch: probe.headBranch ?? 'main' };
  if (!probe.branches.has(target.branch)) return target;
  const gitDir = rj.paths.gitDir;
  const remoteHead = await fetchBranch(git, gitDir, target, timeouts.fetchMs === undefined ? {} : { timeoutMs: timeouts.fetchMs });
  if (remoteHead === undefined) return target;
  const local = (await rj.repo(['log', '--no-graph', '-r', 'main', '-T', 'commit_id'])).stdout.trim();
  if ((await relate(git, gitDir, local, remoteHead)) === 'unrelated' && !(await isPristine(rj, local))) {
    throw unrelatedHistory(repo, target);
  }
  return target;
}

/**
 * For `init --from` (the repo was just created, no workspace yet): points `main` at the remote
 * branch when the remote has one, and drops the now unused empty initial commit. A repo that
 * already has content of its own is never moved: related history is merged at the first round,
 * unrelated history is refused.
 */
export async function adoptRemote(rj: RepoJj, git: GitRunner, repo: string, target: RemoteTarget, timeouts: TransportTimeouts = {}): Promise<void> {
  const gitDir = rj.paths.gitDir;
  const remoteHead = await fetchBranch(git, gitDir, target, timeouts.fetchMs === undefined ? {} : { timeoutMs: timeouts.fetchMs });
  if (remoteHead === undefined) return;
  const local = (await rj.repo(['log', '--no-graph', '-r', 'main', '-T', 'commit_id'])).stdout.trim();
  await importRemote(rj, git, target.branch, remoteHead);
  if (!(await isPristine(rj, local))) {
    if ((await relate(git, gitDir, local, remoteHead)) === 'unrelated') throw unrelatedHistory(repo, target);
    return;
  }
  await setMain(rj, remoteHead, true);
  // Abandon only a commit nothing sits on: abandoning rebases children, and a workspace's commit
  // must never be rewritten from outside that workspace.
  const children = (await rj.repo(['log', '--no-graph', '--limit', '1', '-r', `children(${local})`, '-T', 'commit_id'])).stdout.trim();
  if (local !== remoteHead && children === '') await rj.repo(['abandon', local]).catch(() => undefined);
}
