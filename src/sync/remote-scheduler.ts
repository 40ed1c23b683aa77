import { redactText, redactUrl } from '../config/validate.js';
import { messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { SerialQueue } from '../util/serial-queue.js';
import type { RemoteRoundResult, RemoteSync } from './remote.js';
import type { RemoteInfo } from '../rpc/protocol.js';

/** Status of one repo's remote, as `jjfs status` shows it (never with credentials). */
export type RemoteFacts = RemoteInfo & { branch: string };

/** Delay before retry number `failures` (1, 2, 4 … capped at 60 s). */
export function backoffMs(failures: number): number {
  return Math.min(60, 2 ** Math.max(0, failures - 1)) * 1000;
}

/** Constructor argument of {@link RemoteScheduler}. */
export interface RemoteSchedulerInit {
  log: Logger;
  /** Seconds between rounds of `repo` (`push_interval`); 0 means only `jjfs sync --remote`. */
  intervalSeconds(repo: string): number;
  /** Quiet seconds after a local change before a round pushes it (`push_delay`); 0: only the timer. */
  delaySeconds(repo: string): number;
  /** Delay before the first round of a newly registered remote (default 0). */
  firstRoundMs?: number;
  /** Told of every finished round (`jjfs monitor`): its result, or why it failed. */
  onRound?: (repo: string, outcome: { result: RemoteRoundResult } | { error: string }) => void;
}

interface Entry {
  sync: RemoteSync;
  timer?: NodeJS.Timeout;
  /** When the timer fires (ms since the epoch). */
  dueAt?: number;
  /** Local changes recorded since the last round that pushed (or found nothing to push). */
  unpushed: number;
  /** When the oldest of them was recorded. */
  firstUnpushedAt?: number;
  /** The timer is a push-follows-the-edits timer (a new change may move it later). */
  pushTimer?: boolean;
  /** Tail of this repo's rounds: rounds never overlap. */
  rounds: SerialQueue;
  failures: number;
  facts: RemoteFacts;
  abort: AbortController;
  stopped: boolean;
}

/**
 * Runs every repo's remote rounds: one timer per repo at `push_interval`, exponential backoff
 * after a failure (1, 2, 4 … 60 s), on-demand rounds (`jjfs sync --remote`), and the status facts.
 * Rounds of one repo run one at a time; repos are independent. A failure is logged and shown in
 * status; it never reaches local sync (rounds only enter the repo's queue for their short local
 * step, see RemoteSync).
 */
export class RemoteScheduler {
  readonly #init: RemoteSchedulerInit;
  readonly #entries = new Map<string, Entry>();
  #stopped = false;

  constructor(init: RemoteSchedulerInit) {
    this.#init = init;
  }

  /** Starts (or replaces) the remote of `sync.repo`; its first round runs soon. */
  add(sync: RemoteSync): void {
    if (this.#stopped) return;
    this.remove(sync.repo);
    const entry: Entry = {
      sync,
      rounds: new SerialQueue(),
      failures: 0,
      unpushed: 0,
      facts: { url: redactUrl(sync.target.url), branch: sync.target.branch, delayed: false, unpushed: 0 },
      abort: new AbortController(),
      stopped: false,
    };
    this.#entries.set(sync.repo, entry);
    this.#schedule(entry, this.#init.firstRoundMs ?? 0);
  }

  /** Stops `repo`'s rounds; a round in flight is cancelled (its git process killed). */
  remove(repo: string): void {
    const entry = this.#entries.get(repo);
    if (!entry) return;
    this.#entries.delete(repo);
    this.#halt(entry);
  }

  /** The RemoteSync of `repo`, if it has a remote. */
  get(repo: string): RemoteSync | undefined {
    return this.#entries.get(repo)?.sync;
  }

  /** Repos with a remote. */
  repos(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * `commits` local changes reached `main` of `repo`: push them once the repo has been quiet for
   * `push_delay`, and at the latest `push_interval` after the first unpushed one. A sooner timer
   * (the interval's, or a backoff retry after a failure) is left alone: it pushes them too.
   */
  localChanges(repo: string, commits: number): void {
    const entry = this.#entries.get(repo);
    if (!entry || entry.stopped) return;
    const now = Date.now();
    entry.unpushed += commits;
    entry.facts.unpushed = entry.unpushed;
    if (commits > 0) entry.firstUnpushedAt ??= now;
    // With commits = 0 (a setting changed) a waiting push is only rescheduled.
    this.#schedulePush(entry, now);
  }

  #schedulePush(entry: Entry, now: number): void {
    const delay = this.#init.delaySeconds(entry.sync.repo) * 1000;
    if (delay <= 0 || entry.unpushed === 0 || entry.failures > 0) return;
    const interval = this.#init.intervalSeconds(entry.sync.repo) * 1000;
    let due = now + delay;
    if (interval > 0 && entry.firstUnpushedAt !== undefined) due = Math.min(due, Math.max(now, entry.firstUnpushedAt + interval));
    // Each new change moves a push timer later (the quiet period starts again), never past the
    // cap; a timer that is not a push timer and fires sooner stays.
    if (entry.timer && entry.dueAt !== undefined && entry.dueAt <= due && !entry.pushTimer) return;
    this.#schedule(entry, due - now);
    entry.pushTimer = true;
  }

  /** Status facts of `repo`'s remote, or undefined when it has none. */
  facts(repo: string): RemoteFacts | undefined {
    const entry = this.#entries.get(repo);
    return entry ? { ...entry.facts } : undefined;
  }

  /**
   * Runs a round of `repo` now (after the one in flight, if any) and resolves with its result;
   * rejects with its error. Either way the timer restarts from this round.
   */
  runNow(repo: string): Promise<RemoteRoundResult> {
    const entry = this.#entries.get(repo);
    if (!entry) return Promise.reject(new Error(`repo ${repo} has no remote`));
    return this.#enqueue(entry);
  }

  /** Stops every timer and cancels rounds in flight; resolves when they have ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    for (const entry of entries) this.#halt(entry);
    await Promise.all(entries.map((e) => e.rounds.settled));
  }

  #halt(entry: Entry): void {
    entry.stopped = true;
    if (entry.timer) clearTimeout(entry.timer);
    entry.abort.abort();
  }

  #schedule(entry: Entry, delayMs: number): void {
    if (entry.timer) clearTimeout(entry.timer);
    delete entry.timer;
    delete entry.dueAt;
    entry.pushTimer = false;
    if (entry.stopped) return;
    entry.dueAt = Date.now() + delayMs;
    entry.timer = setTimeout(() => {
      delete entry.timer;
      delete entry.dueAt;
      this.#enqueue(entry).catch(() => undefined); // failures are recorded in the facts and logged
    }, delayMs);
    entry.timer.unref();
  }

  #enqueue(entry: Entry): Promise<RemoteRoundResult> {
    return entry.rounds.run(() => this.#round(entry));
  }

  async #round(entry: Entry): Promise<RemoteRoundResult> {
    if (entry.stopped) throw new Error(`remote sync of ${entry.sync.repo} was stopped`);
    // An on-demand round replaces the scheduled one; the next is scheduled when this one ends.
    if (entry.timer) clearTimeout(entry.timer);
    delete entry.timer;
    delete entry.dueAt;
    const started = Date.now();
    const { sync, facts } = entry;
    // Changes recorded while this round runs may miss its push: only these are settled by it.
    const settles = entry.unpushed;
    try {
      const result = await sync.round(entry.abort.signal);
      entry.failures = 0;
      entry.unpushed -= settles;
      facts.unpushed = entry.unpushed;
      if (entry.unpushed === 0) delete entry.firstUnpushedAt;
      else entry.firstUnpushedAt = started;
      facts.lastFetch = result.fetchedAt;
      if (result.pushedAt) facts.lastPush = result.pushedAt;
      delete facts.lastError;
      delete facts.nextRetry;
      facts.delayed = false;
      facts.lastRoundMs = Date.now() - started;
      this.#init.onRound?.(sync.repo, { result });
      const interval = this.#init.intervalSeconds(sync.repo);
      if (interval > 0) this.#schedule(entry, interval * 1000);
      this.#schedulePush(entry, Date.now());
      return result;
    } catch (error) {
      if (sync.lastFetchAt) facts.lastFetch = sync.lastFetchAt;
      facts.lastRoundMs = Date.now() - started;
      if (entry.stopped) throw error;
      entry.failures++;
      const delay = backoffMs(entry.failures);
      facts.lastError = redactText(messageOf(error), sync.target.url);
      facts.nextRetry = new Date(Date.now() + delay).toISOString();
      facts.delayed = true;
      this.#init.log.warn('remote sync delayed', { repo: sync.repo, error: facts.lastError, retryInS: delay / 1000, failures: entry.failures });
      this.#init.onRound?.(sync.repo, { error: facts.lastError });
      this.#schedule(entry, delay);
      throw error;
    }
  }
}
