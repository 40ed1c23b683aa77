import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { GitError, type GitRunner } from './git.js';
import type { RepoPaths } from './repo-jj.js';
import { countObjects, measureStore, type StoreFacts } from './store-facts.js';

/** What the last compaction of a repo did. */
export interface CompactionReport {
  at: string;
  ms: number;
  looseBefore: number;
  looseAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  error?: string;
}

/** Constructor argument of {@link StoreCompactor}. */
export interface StoreCompactorInit {
  repo: string;
  paths: RepoPaths;
  git: GitRunner;
  log: Logger;
  /**
   * Runs a step on the repo's serial queue, between rounds (RepoSync.maintain): nothing else runs
   * jj in the repo meanwhile, and a round waits for at most one step.
   */
  between: <T>(task: () => Promise<T>) => Promise<T>;
  /** Loose objects that trigger packing, read at every check (0: never compact). */
  threshold: () => number;
  /** Quiet time after the last change before an idle check (default 60 s). */
  idleMs?: number;
  /** Least time between two checks after changes (default 10 s). */
  checkEveryMs?: number;
}

/** A temp pack older than this was left by a git that died (fetches time out after a minute). */
const STALE_TEMP_PACK_MS = 60 * 60_000;

/**
 * Keeps one repo's store small. Every snapshot jj takes writes its trees and blobs as loose git
 * objects, one file each (a 4 KiB block for a few bytes): an agent writing all day makes hundreds
 * of thousands. After changes (at most every `checkEveryMs`) and once the repo has been quiet for
 * `idleMs`, the loose objects are counted (one `git count-objects`); past the threshold they are
 * packed with `git repack -d --geometric=2` (and jj's keep refs with `git pack-refs`), which writes new packs, then removes only the loose
 * objects and packs whose every object is in a new pack. So nothing is ever pruned: an object jj
 * may still read is never deleted, and a kill -9 at any moment leaves packs and loose objects that
 * git and jj both read (at worst a duplicate, packed again next time, or a temp pack, removed
 * later).
 *
 * The repack runs on the repo's queue — never while a round runs — with one pack thread, leaving
 * the other core to the mounts; writes through the mounts never wait for it (only jj steps in a
 * workspace take its write gate). jj's operation log is NOT trimmed: `jj op abandon` rewrites every
 * later operation, and every other workspace then fails with "Could not read working copy's
 * operation" (docs/jj.md).
 */
export class StoreCompactor {
  readonly #init: StoreCompactorInit;
  readonly #abort = new AbortController();
  #idleTimer: NodeJS.Timeout | undefined;
  #lastCheck = 0;
  #running: Promise<CompactionReport | undefined> | undefined;
  #last: CompactionReport | undefined;
  #closed = false;

  constructor(init: StoreCompactorInit) {
    this.#init = init;
  }

  /** Local changes reached the repo: check soon (rate-limited), and again once it is quiet. */
  changed(): void {
    if (this.#closed) return;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => void this.#check(), this.#init.idleMs ?? 60_000);
    this.#idleTimer.unref();
    if (Date.now() - this.#lastCheck >= (this.#init.checkEveryMs ?? 10_000)) void this.#check();
  }

  /** What the last compaction did (undefined before the first). */
  last(): CompactionReport | undefined {
    return this.#last;
  }

  /**
   * Packs the loose objects now when there are at least `minLoose` (default: the threshold; 1 for
   * `jjfs compact`). Resolves with what it did, or undefined when there was nothing to do.
   */
  compactNow(minLoose?: number): Promise<CompactionReport | undefined> {
    // One compaction at a time: a second request joins the running one.
    this.#running ??= this.#compact(minLoose).finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Stops timers and kills a repack in flight (shutdown); the store stays readable. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#abort.abort();
    await this.#running?.catch(() => undefined);
  }

  async #check(): Promise<void> {
    if (this.#closed || this.#init.threshold() <= 0) return;
    this.#lastCheck = Date.now();
    await this.compactNow().catch((error: unknown) => this.#init.log.warn('compaction failed', { repo: this.#init.repo, error: messageOf(error) }));
  }

  async #compact(minLoose?: number): Promise<CompactionReport | undefined> {
    const { git, paths, repo, log } = this.#init;
    const threshold = minLoose ?? this.#init.threshold();
    if (this.#closed || threshold <= 0) return undefined;
    // Counting reads only: it runs outside the queue, so an idle check never delays a round; the
    // walk of jj's own files (thousands) is done only when there is something to pack.
    if ((await countObjects(git, paths)).looseObjects < threshold) return undefined;
    const before = await measureStore(git, paths);
    return this.#init.between(async () => {
      if (this.#closed) return undefined;
      const started = Date.now();
      let error: string | undefined;
      try {
        await this.#removeStaleTempPacks();
        // jj keeps every commit it made alive with a ref of its own (refs/jj/keep/*), one 4 KiB
        // file each: packed into packed-refs. git locks and rewrites packed-refs atomically and
        // drops a loose ref only if it did not change meanwhile.
        await git.run(['pack-refs', '--all'], { gitDir: paths.gitDir, signal: this.#abort.signal, summary: 'git pack-refs' });
        await git.run(['-c', 'pack.threads=1', 'repack', '-d', '-q', '--geometric=2'], {
          gitDir: paths.gitDir,
          signal: this.#abort.signal,
          // A repack of a large store may take a while; it is killed at shutdown, never by a timer.
          timeoutMs: 60 * 60_000,
          summary: 'git repack',
        });
      } catch (e) {
        if (e instanceof GitError && e.kind === 'cancelled') throw e;
        error = messageOf(e);
      }
      const after: StoreFacts = await measureStore(git, paths).catch(() => before);
      const report: CompactionReport = {
        at: new Date(started).toISOString(),
        ms: Date.now() - started,
        looseBefore: before.looseObjects,
        looseAfter: after.looseObjects,
        bytesBefore: before.bytes,
        bytesAfter: after.bytes,
        ...(error === undefined ? {} : { error }),
      };
      this.#last = report;
      if (error === undefined) log.info('store compacted', { repo, ...report });
      else log.warn('compaction failed; the store is unchanged', { repo, error });
      return report;
    });
  }

  /** Temp packs left by a git killed mid-write (kill -9, a full disk) only take space. */
  async #removeStaleTempPacks(): Promise<void> {
    const dir = join(this.#init.paths.gitDir, 'objects', 'pack');
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.startsWith('tmp_') || n.startsWith('.tmp-'))) {
      const st = await stat(join(dir, name)).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > STALE_TEMP_PACK_MS) await rm(join(dir, name), { force: true });
    }
  }
}
