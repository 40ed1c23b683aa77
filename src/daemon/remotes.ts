import { CHOICE_DEFAULTS, REPO_DEFAULTS } from '../config/schema.js';
import type { ConfigStore } from '../config/store.js';
import type { Logger } from '../log.js';
import type { RemoteInfo, RemoteRoundInfo } from '../rpc/protocol.js';
import type { GitRunner } from '../sync/git.js';
import type { JjIdentity } from '../sync/jj-runner.js';
import { adoptRemote, checkRemote, RemoteSync, unreachable } from '../sync/remote.js';
import { RemoteScheduler } from '../sync/remote-scheduler.js';
import { probeRemote, type RemoteTarget, type TransportTimeouts } from '../sync/remote-transport.js';
import { messageOf } from '../errors.js';
import { redactText } from '../config/validate.js';
import type { RemoteEngine } from '../sync/remote.js';
import type { RepoJj } from '../sync/repo-jj.js';
import type { EventInput } from './events.js';
import type { RemoteHooks } from './repos.js';

/** What remote sync needs of the local sync side (SyncHub implements it). */
export interface RemoteLocalSide {
  /** The repo's engine: remote rounds enter its queue for their short local step. */
  engine(repo: string): RemoteEngine;
  repoJj(repo: string): RepoJj;
}

/** Constructor argument of {@link RemoteService}. */
export interface RemoteServiceInit {
  config: ConfigStore;
  local: RemoteLocalSide;
  /** Where remote rounds are reported (`jjfs monitor`). */
  emit: (event: EventInput) => void;
  git: GitRunner;
  identity: JjIdentity;
  log: Logger;
  timeouts?: TransportTimeouts;
}

/**
 * The daemon's remote side: one RemoteSync per repo with a remote (driven by the scheduler), the
 * checks behind `remote add` and `init --from`, and the facts `status` shows. It follows
 * config.json: `changed(repo)` after every config change of a repo's remote.
 */
export class RemoteService implements RemoteHooks {
  readonly scheduler: RemoteScheduler;
  readonly #init: RemoteServiceInit;

  constructor(init: RemoteServiceInit) {
    this.#init = init;
    this.scheduler = new RemoteScheduler({
      log: init.log,
      intervalSeconds: (repo) => init.config.snapshot().repos[repo]?.push_interval ?? REPO_DEFAULTS.push_interval,
      delaySeconds: (repo) => init.config.snapshot().repos[repo]?.push_delay ?? REPO_DEFAULTS.push_delay,
      onRound: (repo, outcome) =>
        init.emit(
          'error' in outcome
            ? { type: 'remote-error', repo, error: outcome.error }
            : { type: 'remote', repo, integrated: outcome.result.integrated, pushed: outcome.result.pushed, idle: outcome.result.idle, ms: outcome.result.durationMs },
        ),
    });
  }

  /** Starts remote sync for every repo that has a remote (daemon start, after mounts are back). */
  startAll(): void {
    for (const repo of Object.keys(this.#init.config.snapshot().repos)) this.changed(repo);
  }

  /** Refuses a URL that is not a reachable git repo or whose branch has unrelated history. */
  async check(repo: string, url: string): Promise<{ branch: string }> {
    const target = await checkRemote(this.#init.local.repoJj(repo), this.#init.git, repo, url, this.#init.timeouts);
    return { branch: target.branch };
  }

  /** Refuses a URL that is not a reachable git repo; says which branch `main` will follow. */
  async probe(url: string): Promise<{ branch: string }> {
    try {
      const probe = await probeRemote(this.#init.git, url, this.#init.timeouts?.probeMs);
      return { branch: probe.headBranch ?? 'main' };
    } catch (error) {
      throw unreachable(url, error);
    }
  }

  /** For `init --from`: `main` of the new repo becomes the remote branch. */
  async adopt(repo: string, url: string, branch: string): Promise<void> {
    await adoptRemote(this.#init.local.repoJj(repo), this.#init.git, repo, { url, branch }, this.#init.timeouts);
  }

  /** Re-reads `repo`'s remote from config and starts, restarts or stops its rounds. */
  changed(repo: string): void {
    const cfg = this.#init.config.snapshot().repos[repo];
    const current = this.scheduler.get(repo);
    if (!cfg || cfg.remote === null) {
      if (current) {
        this.scheduler.remove(repo);
        this.#init.log.info('remote sync stopped', { repo });
      }
      return;
    }
    const target: RemoteTarget = { url: cfg.remote, branch: cfg.remote_branch ?? 'main' };
    if (current && current.target.url === target.url && current.target.branch === target.branch) return;
    const engine = this.#init.local.engine(repo);
    this.scheduler.add(
      new RemoteSync({
        repo,
        target,
        rj: this.#init.local.repoJj(repo),
        git: this.#init.git,
        engine,
        identity: this.#init.identity,
        log: this.#init.log,
        ...(this.#init.timeouts ? { timeouts: this.#init.timeouts } : {}),
        insertions: () => this.#init.config.snapshot().repos[repo]?.concurrent_insertions ?? CHOICE_DEFAULTS.concurrent_insertions,
      }),
    );
    this.#init.log.info('remote sync started', { repo, url: this.scheduler.facts(repo)?.url, branch: target.branch });
  }

  /** Local changes reached `main` of `repo`: its remote round follows (see RemoteScheduler.localChanges). */
  localChanges(repo: string, commits: number): void {
    this.scheduler.localChanges(repo, commits);
  }

  /**
   * Pushes what is not pushed yet, for every repo whose remote answers within `timeoutMs` (daemon
   * stop: the backup should not lag the last edit). A remote that does not answer in time is left
   * to the next start; nothing is lost either way.
   */
  async pushPending(timeoutMs: number): Promise<void> {
    const pending = this.scheduler.repos().filter((repo) => (this.scheduler.facts(repo)?.unpushed ?? 0) > 0);
    await Promise.all(
      pending.map(async (repo) => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), timeoutMs)));
        const outcome = await Promise.race([this.scheduler.runNow(repo).then(() => 'pushed' as const), late]).catch((e: unknown) => messageOf(e));
        clearTimeout(timer);
        if (outcome !== 'pushed') this.#init.log.warn('pending changes not pushed before stopping', { repo, why: outcome === 'late' ? `no answer within ${timeoutMs} ms` : outcome });
      }),
    );
  }

  /** True when `repo` has a remote. */
  has(repo: string): boolean {
    return this.scheduler.get(repo) !== undefined;
  }

  /** Repos with a remote. */
  repos(): string[] {
    return this.scheduler.repos();
  }

  /**
   * Runs a remote round of `repo` now. Failures come back as `info.error` (and are retried on the
   * backoff schedule); `problems` lists workspaces the fan-out could not bring onto `main`.
   */
  async syncNow(repo: string): Promise<{ info: RemoteRoundInfo; problems: string[] }> {
    try {
      const r = await this.scheduler.runNow(repo);
      const problems = [
        ...(r.report?.failed ?? []).map((f) => `${f.id}: ${f.error}`),
        ...(r.report?.behind ?? []).map((b) => `${b.id}: ${b.reason}`),
      ];
      return { info: { integrated: r.integrated, pushed: r.pushed, idle: r.idle, published: r.published }, problems };
    } catch (error) {
      const url = this.scheduler.get(repo)?.target.url;
      const message = redactText(messageOf(error), url);
      return { info: { integrated: 'none', pushed: false, idle: false, published: [], error: message }, problems: [`remote: ${message}`] };
    }
  }

  /** Status of `repo`'s remote, or undefined when it has none. */
  info(repo: string): RemoteInfo | undefined {
    return this.scheduler.facts(repo);
  }

  /** Stops every timer and cancels rounds in flight. */
  stop(): Promise<void> {
    return this.scheduler.stop();
  }
}
