import { rm } from 'node:fs/promises';
import type { Logger } from '../log.js';
import type { UnsyncedReport } from '../rpc/protocol.js';
import { SerialQueue } from '../util/serial-queue.js';
import { BackoffTimer } from './backoff-timer.js';
import { Debouncer } from './debounce.js';
import type { GitRunner } from './git.js';
import { MainConflicts } from './main-conflicts.js';
import { trimOperationLog, type OpLogTrimReport } from './op-log-trim.js';
import type { ConflictNote } from './merge-paths.js';
import { RepoJj, repoPaths } from './repo-jj.js';
import type { RepoSyncInit, RepoSyncOptions, RepoSyncStatus, RoundReport, WorkspaceStatus } from './repo-sync-types.js';
import { scanUnsynced } from './unsynced.js';
import { assertWorkspaceId, forgetWorkspace, readRepoState, snapshotWorkspace, type RepoState } from './workspace-ops.js';
import { syncedWorkspace, WorkspaceSteps, type SyncedWorkspace, type WorkspaceSpec } from './workspace-steps.js';

/** Times a maintenance step gives way to a queued `jjfs sync` before it runs regardless. */
const MAINTENANCE_YIELDS = 3;

export type { ChangeSuppressor, WorkspaceSpec } from './workspace-steps.js';
export type { RepoSyncInit, RepoSyncOptions, RepoSyncStatus, RoundReport, WorkspaceStatus } from './repo-sync-types.js';

/**
 * Keeps every attached workspace of one repo converged on bookmark `main`.
 *
 * Invariants (docs/jj.md says why each matters):
 * - Everything runs on ONE serial queue per repo, so only one thing moves `main` at a time
 *   (concurrent movers make `main??`) and a workspace never has two jj processes at once
 *   (that makes it stale/divergent). Within a round, fan-out runs in parallel ACROSS workspaces.
 * - Only W's own jj process (cwd = W) rewrites W@; rewriting it from elsewhere strands edits.
 * - Every jj command that rewrites W's files runs with W's write gate held and watcher suppressed.
 * - Idle repos spawn no jj process: work starts only from markDirty/attach/syncNow.
 */
export class RepoSync {
  readonly name: string;
  readonly #rj: RepoJj;
  readonly #git: GitRunner;
  readonly #steps: WorkspaceSteps;
  readonly #conflicts: MainConflicts;
  readonly #log: Logger;
  readonly #onCommitted: ((commits: number) => void) | undefined;
  readonly #onRound: ((report: RoundReport) => void) | undefined;
  readonly #onConflicts: ((notes: readonly ConflictNote[]) => void) | undefined;
  readonly #ws = new Map<string, SyncedWorkspace>();
  readonly #ready = new Set<string>();
  readonly #debouncer: Debouncer;
  readonly #queue = new SerialQueue();
  #roundQueued = false;
  /** Rounds over every workspace (syncNow) queued and not yet started. */
  #fullRoundsQueued = 0;
  #closed = false;
  #state: RepoState | undefined;
  #lastRound: RoundReport | undefined;
  /** Retries workspaces whose jj step failed (a full disk, a lock): see #scheduleRetry. */
  readonly #retry = new BackoffTimer(1_000, 30_000);

  constructor(init: RepoSyncInit) {
    this.name = init.name;
    this.#rj = new RepoJj(init.jj, repoPaths(init.repoHome));
    this.#git = init.git;
    this.#conflicts = new MainConflicts(this.#rj, init.git);
    this.#log = init.log.child('sync');
    this.#onCommitted = init.onCommitted;
    this.#onRound = init.onRound;
    this.#onConflicts = init.onConflicts;
    this.#steps = new WorkspaceSteps({
      repo: init.name,
      rj: this.#rj,
      git: init.git,
      gate: init.gate,
      log: this.#log,
      insertions: init.options.insertions ?? 'merge',
      ...(init.suppressor ? { suppressor: init.suppressor } : {}),
    });
    this.#debouncer = new Debouncer(init.options, (id) => {
      this.#ready.add(id);
      this.#scheduleRound();
    });
  }

  /**
   * Starts syncing workspace `ws`. Recovers it first if it is stale or divergent (edits are
   * squashed back in, never dropped), then commits anything it holds and brings it onto main.
   * Resolves when that first round is done.
   */
  async attach(ws: WorkspaceSpec): Promise<void> {
    assertWorkspaceId(ws.id);
    if (this.#ws.has(ws.id)) throw new Error(`workspace ${ws.id} is already attached to ${this.name}`);
    this.#ws.set(ws.id, syncedWorkspace(ws));
    await this.#enqueue(async () => {
      const st = this.#ws.get(ws.id);
      if (st) await this.#recover(st);
    });
    await this.#enqueue(() => this.#round([ws.id]));
  }

  /** Stops syncing `id` (its files untouched); resolves once no jj process of ours runs in it. */
  async detach(id: string): Promise<void> {
    this.#debouncer.cancel(id);
    this.#ready.delete(id);
    this.#ws.delete(id);
    await this.#enqueue(() => Promise.resolve());
  }

  /**
   * Records a final commit of `id`'s changes into main (and fans it out), then forgets the jj
   * workspace and deletes its directory. Throws (and keeps everything) if the final commit fails.
   */
  async removeWorkspace(id: string): Promise<void> {
    const st = this.#ws.get(id);
    if (!st) throw new Error(`workspace ${id} is not attached to ${this.name}`);
    this.#debouncer.cancel(id);
    await this.#enqueue(async () => {
      const report = await this.#round([id]);
      const failed = report.failed.find((f) => f.id === id);
      if (failed) throw new Error(`not removing ${id}: its last changes could not be committed: ${failed.error}`);
      this.#ws.delete(id);
      this.#ready.delete(id);
      await forgetWorkspace(this.#rj, id);
      await rm(st.spec.dir, { recursive: true, force: true });
      this.#log.info('workspace removed', { repo: this.name, id });
    });
  }

  /** Notes that workspace `id` changed (FUSE on every mutation; the watcher). Debounced. */
  markDirty(id: string): void {
    const w = this.#ws.get(id);
    if (this.#closed || !w || w.spec.readOnly === true) return;
    this.#debouncer.mark(id);
  }

  /**
   * Forces a round over EVERY attached workspace (each is snapshotted, so changes nobody marked are
   * found too) and resolves when it is done; `behind` lists workspaces not on main and why.
   */
  syncNow(): Promise<RoundReport> {
    for (const id of this.#debouncer.pendingKeys()) this.#debouncer.cancel(id);
    this.#fullRoundsQueued++;
    return this.#enqueue(() => {
      this.#fullRoundsQueued--;
      return this.#round([...this.#ws.keys()], true);
    });
  }

  /**
   * Runs `task` on this repo's serial queue — so nothing else moves `main` and no jj process runs in
   * any workspace meanwhile — with the repo state read fresh at its start. Afterwards (also when the
   * task failed: it may have moved `main` before failing) every workspace not on `main` is brought
   * onto it as a round's fan-out does (own jj process, gate held): how work that moves `main` from
   * outside (remote sync) reaches every mount. Keep it short and local: no network I/O inside.
   *
   * `recordFirst` (restore, undo): a round over every workspace runs before the task and records
   * whatever each holds (its report is `recorded`), so the task never replaces content that is not
   * in history. The task must move `main` only FORWARD, with commits made on the repo
   * (`--ignore-working-copy`) or in a workspace of its own, never in an attached one (only W's own
   * process rewrites W@); an edit landing in W meanwhile is rebased on top by the final fan-out.
   */
  async exclusive<T>(
    task: (state: RepoState) => Promise<T>,
    opts: { recordFirst?: boolean } = {},
  ): Promise<{ result: T; report: RoundReport; recorded?: RoundReport }> {
    if (opts.recordFirst) for (const id of this.#debouncer.pendingKeys()) this.#debouncer.cancel(id);
    return this.#enqueue(async () => {
      const recorded = opts.recordFirst ? await this.#round([...this.#ws.keys()], true) : undefined;
      const state = await this.#refresh();
      let outcome: { ok: true; value: T } | { ok: false; error: unknown };
      try {
        outcome = { ok: true, value: await task(state) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      const report = await this.#round([], true);
      if (!outcome.ok) throw outcome.error;
      // A restore/undo that moved main made a change of its own to push (remote integration is not
      // counted: what it brought came from there).
      if (opts.recordFirst && report.main !== state.main) this.#onCommitted?.(1);
      return { result: outcome.value, report, ...(recorded ? { recorded } : {}) };
    });
  }

  /**
   * Runs `task` on the repo's serial queue between rounds — no jj process runs in the repo
   * meanwhile, and no round follows (store maintenance: it changes no commit). Keep it short: a
   * round that comes due waits for it; a `jjfs sync` already queued goes first (#enqueueMaintenance).
   */
  maintain<T>(task: () => Promise<T>): Promise<T> {
    return this.#enqueueMaintenance(task);
  }

  /**
   * Trims jj's operation log to its newest `keep` operations (op-log-trim.ts), in three tasks on
   * the repo's queue between rounds. Resolves undefined when the log is not longer than that.
   */
  trimOperations(keep: number): Promise<OpLogTrimReport | undefined> {
    return trimOperationLog({
      rj: this.#rj,
      workspaces: () => [...this.#ws.values()].map((w) => ({ id: w.spec.id, dir: w.spec.dir })),
      rewriting: (id, fn) => {
        const w = this.#ws.get(id);
        if (!w) throw new Error(`workspace ${id} is not attached to ${this.name}`);
        return this.#steps.rewriting(w, fn);
      },
      keep,
      queue: (fn) => this.#enqueueMaintenance(fn),
    });
  }

  /** Commit id of `main` as of the last round (undefined before the first); spawns nothing. */
  cachedMain(): string | undefined {
    return this.#state?.main;
  }

  /**
   * Commits now what is waiting for its debounce (nothing to do: no jj process) and resolves once
   * the queue has caught up, so a history query right after a save sees that save. Resolves with
   * the number of commits made.
   */
  async flush(): Promise<number> {
    for (const id of this.#debouncer.pendingKeys()) {
      this.#debouncer.cancel(id);
      this.#ready.add(id);
    }
    return this.#enqueue(async () => {
      if (this.#ready.size === 0 || this.#closed) return 0;
      return (await this.#round([...this.#ready])).committed.length;
    });
  }

  /** Unresolved conflicts at main (repo-relative, sorted; see MainConflicts). */
  async conflicts(): Promise<string[]> {
    return this.#conflicts.list(this.#state ?? (await readRepoState(this.#rj)));
  }

  /**
   * What workspace `id` holds that history does not (nested repositories, refused, special and
   * ignored files). Reads its directory and jj's git store against the last known `main`; spawns
   * no jj process.
   */
  async unsynced(id: string): Promise<UnsyncedReport> {
    const w = this.#ws.get(id);
    if (!w) throw new Error(`workspace ${id} is not attached to ${this.name}`);
    const main = this.#state?.main ?? (await this.#refresh()).main;
    const { gitDir, excludeFile } = this.#rj.paths;
    return scanUnsynced({ git: this.#git, gitDir, dir: w.spec.dir, commit: main, refused: w.refused, excludeFile });
  }

  /** Applies changed settings at once (`jjfs config set`): timings from the next change on. */
  configure(options: RepoSyncOptions): void {
    this.#debouncer.setOptions(options);
    this.#steps.setInsertions(options.insertions ?? 'merge');
  }

  /** Records conflicts that reached main from elsewhere (the remote merge), so they are listed. */
  noteConflicts(notes: readonly ConflictNote[]): void {
    this.#noteConflicts(notes);
  }

  #noteConflicts(notes: readonly ConflictNote[]): void {
    this.#conflicts.add(notes);
    if (notes.length > 0) this.#onConflicts?.(notes);
  }

  /** Current health and position of every workspace, and of the repo. */
  status(): RepoSyncStatus {
    const workspaces: WorkspaceStatus[] = [...this.#ws.values()].map((w) => ({
      id: w.spec.id,
      label: w.spec.label,
      dir: w.spec.dir,
      healthy: w.healthy,
      ...(w.lastError === undefined ? {} : { lastError: w.lastError }),
      ...(w.parent === undefined ? {} : { parent: w.parent }),
    }));
    const mainId = this.#state?.main;
    return {
      name: this.name,
      ...(this.#lastRound ? { lastRound: this.#lastRound } : {}),
      ...(mainId === undefined ? {} : { main: mainId }),
      conflicts: this.#conflicts.cached(this.#state),
      refusedFiles: [...this.#ws.values()].flatMap((w) => w.refused.map((r) => ({ ...r, workspace: w.spec.id }))),
      workspaces,
    };
  }

  /** Stops scheduling; resolves after the running task. Attached workspaces are left as they are. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#debouncer.clear();
    this.#retry.cancel();
    await this.#enqueue(() => Promise.resolve());
  }

  // ---- internals ----------------------------------------------------------------------------

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    return this.#queue.run(task);
  }

  /**
   * Queues a maintenance step (compaction) that gives way to `jjfs sync`: when it reaches the head
   * of the queue while a round over every workspace waits behind it, it goes to the back instead
   * (at most MAINTENANCE_YIELDS times, so writers that keep syncing cannot starve it). The queue
   * task itself returns at once and the step is queued again from outside it: a task that waited
   * for one queued behind it would never end.
   */
  #enqueueMaintenance<T>(task: () => Promise<T>, yields = 0): Promise<T> {
    const run = this.#enqueue(async (): Promise<{ value: T } | undefined> => {
      if (this.#fullRoundsQueued > 0 && yields < MAINTENANCE_YIELDS && !this.#closed) return undefined;
      return { value: await task() };
    });
    return run.then((done) => (done === undefined ? this.#enqueueMaintenance(task, yields + 1) : done.value));
  }

  #scheduleRound(): void {
    if (this.#roundQueued || this.#closed) return;
    this.#roundQueued = true;
    // The round picks up the ready set when it STARTS, so marks that arrive while another round
    // runs are handled by this one.
    void this.#enqueue(async () => {
      this.#roundQueued = false;
      // A round over every workspace waits further down the queue (jjfs sync): it commits what is
      // ready too (the ready set stays as it is), so this one would only make it wait a round
      // longer. Nothing but queue tasks can stand between the two, and every queued task runs.
      if (this.#fullRoundsQueued > 0) return;
      if (this.#ready.size === 0 || this.#closed) return;
      await this.#round([...this.#ready]);
    }).catch((err: unknown) => this.#log.error('round failed', { repo: this.name, err }));
  }

  async #refresh(): Promise<RepoState> {
    const state = await readRepoState(this.#rj);
    this.#state = state;
    for (const w of this.#ws.values()) w.parent = state.workingCopies.get(w.spec.id)?.parents[0];
    return state;
  }

  async #recover(w: SyncedWorkspace): Promise<void> {
    try {
      await this.#steps.inWorkspace(w, () => snapshotWorkspace(this.#rj, w.spec.dir));
      const state = await this.#refresh();
      const own = state.workingCopies.get(w.spec.id);
      if (!own) throw new Error(`jj has no workspace named ${w.spec.id}`);
      if (own.divergent || state.divergent.some((d) => d.changeId === own.changeId)) {
        await this.#steps.squashStranded(w);
        await this.#refresh();
      }
      this.#steps.healthy(w);
    } catch (err) {
      this.#steps.fail(w, err);
    }
  }

  async #round(targetIds: string[], all = false): Promise<RoundReport> {
    const started = Date.now();
    const report: RoundReport = { startedAt: new Date(started).toISOString(), durationMs: 0, main: '', committed: [], updated: [], failed: [], behind: [] };
    for (const id of targetIds) this.#ready.delete(id);
    let state = this.#state ?? (await this.#refresh());

    // 1. Commit each changed target, one at a time: each commit moves main.
    // Targets whose commit failed here stay unhealthy through step 2 even if their move onto main
    // succeeds there: being unhealthy is what gets them retried (#scheduleRetry), and their edits
    // are still uncommitted. Marked healthy by step 2, a workspace whose commit failed on a full
    // disk was never retried once space was freed, and its edits reached no other mount until the
    // next write (seen in test/disk-full.test.ts: 57 of 115 lines missing in the other mount).
    const commitFailed = new Set<string>();
    for (const id of targetIds) {
      const w = this.#ws.get(id);
      if (!w || w.spec.readOnly) continue; // a read-only view is only ever brought to main (step 2)
      try {
        const notes = await this.#steps.inWorkspace(w, () => this.#steps.commitChanges(w, state));
        if (notes) {
          this.#noteConflicts(notes);
          report.committed.push(id);
          state = await this.#checkMainAdvanced(w, await this.#refresh());
        }
        this.#steps.healthy(w);
      } catch (err) {
        commitFailed.add(id);
        report.failed.push({ id, error: this.#steps.fail(w, err) });
      }
    }

    // 2. Fan out: every other workspace not on main moves onto it, in parallel across workspaces.
    // Commits above already refreshed the cache; a forced round re-reads in case jj was used behind
    // our back.
    if (all && report.committed.length === 0) state = await this.#refresh();
    // A workspace with writes waiting for their round is left to that round: it will be brought to
    // main right before its commit, so moving it now would only merge the same files twice. Not in
    // a round over every workspace (jjfs sync): its caller waits for every mount to be on main, and
    // a mark that arrived while step 1 ran — a watcher event late for a write step 1 already
    // committed, on a busy machine — left that mount behind and the round reported it unconverged
    // (seen in CI: `jjfs sync` exited 1 right after five writers stopped).
    const waiting = all ? new Set<string>() : new Set([...this.#ready, ...this.#debouncer.pendingKeys()]);
    // Unhealthy ones only when forced or retried (targets), so a failing one is not hammered.
    const targets = new Set(targetIds);
    const behind = [...this.#ws.values()].filter((w) => w.parent !== state.main && (w.healthy || all || targets.has(w.spec.id)) && !waiting.has(w.spec.id));
    await Promise.all(
      behind.map(async (w) => {
        try {
          const { needsCommit } = await this.#steps.inWorkspace(w, () => this.#steps.bringToMain(w, state));
          w.parent = state.main;
          report.updated.push(w.spec.id);
          if (!commitFailed.has(w.spec.id)) this.#steps.healthy(w);
          if (needsCommit) this.markDirty(w.spec.id);
        } catch (err) {
          report.failed.push({ id: w.spec.id, error: this.#steps.fail(w, err) });
        }
      }),
    );

    await this.#conflicts.noteMain(state);
    report.main = state.main;
    for (const w of this.#ws.values()) {
      if (w.parent !== state.main) report.behind.push({ id: w.spec.id, reason: w.lastError ?? 'not updated yet' });
    }
    report.durationMs = Date.now() - started;
    this.#lastRound = report;
    if (report.committed.length > 0) this.#onCommitted?.(report.committed.length);
    if (report.committed.length > 0 || report.updated.length > 0 || report.failed.length > 0) this.#onRound?.(report);
    if (report.committed.length > 0 || report.failed.length > 0) {
      this.#log.info('round', { repo: this.name, committed: report.committed, updated: report.updated.length, failed: report.failed, ms: report.durationMs });
    }
    this.#scheduleRetry(report);
    if (this.#ready.size > 0) this.#scheduleRound();
    return report;
  }

  /**
   * A workspace whose jj step failed is retried on its own, with backoff (1 s doubling to 30 s):
   * the cause may go away with nobody writing (space freed on a full disk), and its changes must
   * then reach main without a restart or a `jjfs sync`. A round without failures resets the delay.
   */
  #scheduleRetry(report: RoundReport): void {
    const unhealthy = () => [...this.#ws.values()].filter((w) => !w.healthy).map((w) => w.spec.id);
    if (report.failed.length === 0 && unhealthy().length === 0) return this.#retry.reset();
    if (this.#closed) return;
    // When it fires, every workspace unhealthy by then is retried, also those that failed in a
    // round while a retry was already pending.
    this.#retry.schedule(() => {
      for (const id of unhealthy()) this.#ready.add(id);
      this.#scheduleRound();
    });
  }


  /** advance-branches should have moved main to W@-; if it did not, move it explicitly. */
  async #checkMainAdvanced(w: SyncedWorkspace, state: RepoState): Promise<RepoState> {
    const parent = state.workingCopies.get(w.spec.id)?.parents[0];
    if (parent === undefined || parent === state.main) return state;
    this.#log.warn('main did not advance with the commit; moving it explicitly', { repo: this.name, id: w.spec.id });
    await this.#rj.repo(['bookmark', 'set', 'main', '-r', parent]);
    return this.#refresh();
  }
}
