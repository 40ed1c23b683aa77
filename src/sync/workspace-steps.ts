import type { Logger } from '../log.js';
import { repairConflicts } from './conflict-repair.js';
import type { WorkspaceGate } from './gate.js';
import type { GitRunner } from './git.js';
import { JjError } from './jj-runner.js';
import { conflictTrailers, type ConflictNote } from './merge-paths.js';
import type { InsertionPolicy } from './merge-text.js';
import type { RefusedFile, RepoJj } from './repo-jj.js';
import {
  commitWorkspace,
  newOnMain,
  rebaseOntoMain,
  recoverWorkspace,
  snapshotWorkspace,
  workspaceConflicts,
  type RepoState,
} from './workspace-ops.js';

/** A workspace the engine keeps in sync: one per mount. */
export interface WorkspaceSpec {
  /** jj workspace name (see `assertWorkspaceId`). */
  id: string;
  /** The backing workspace directory. */
  dir: string;
  /** Human label, the mount path; goes into commit messages. */
  label: string;
  /**
   * A read-only view: brought onto every new `main` like any workspace, never committed from
   * (its mount refuses writes; a direct edit of its backing directory stays in its working copy).
   */
  readOnly?: boolean;
}

/** Silences change notifications for a workspace while the engine's own jj writes into it. */
export interface ChangeSuppressor {
  /** Starts suppressing events for `workspaceId`; call the returned function to stop. */
  suppress(workspaceId: string): () => void;
}

/** What the engine knows of one attached workspace. */
export interface SyncedWorkspace {
  spec: WorkspaceSpec;
  healthy: boolean;
  lastError?: string;
  /** Cached parent commit of W@ (undefined until first read, or when the last read found no W@). */
  parent?: string | undefined;
  refused: RefusedFile[];
  /** Conflicts resolved into W's files and not committed yet: trailers of W's next commit. */
  notes: ConflictNote[];
  /** The commits whose clash made {@link notes} (kept findable through the trailer). */
  sides: string[];
}

/** A fresh {@link SyncedWorkspace} for `spec`. */
export function syncedWorkspace(spec: WorkspaceSpec): SyncedWorkspace {
  return { spec, healthy: true, refused: [], notes: [], sides: [] };
}

/** Constructor argument of {@link WorkspaceSteps}. */
export interface WorkspaceStepsInit {
  repo: string;
  rj: RepoJj;
  git: GitRunner;
  gate: WorkspaceGate;
  log: Logger;
  insertions: InsertionPolicy;
  suppressor?: ChangeSuppressor;
}

/**
 * The jj steps the engine runs IN one workspace, each in that workspace's own jj process (only W's
 * own process rewrites W@), every step that rewrites W's files with W's write gate held and its
 * watcher suppressed. The caller (RepoSync) decides when and in which order; it guarantees that a
 * workspace never has two of these running at once and that only one thing moves `main`.
 */
export class WorkspaceSteps {
  readonly #init: WorkspaceStepsInit;

  constructor(init: WorkspaceStepsInit) {
    this.#init = { ...init };
  }

  /** How concurrent insertions end from now on (`jjfs config set concurrent_insertions`). */
  setInsertions(policy: InsertionPolicy): void {
    this.#init.insertions = policy;
  }

  /** Runs `fn` with W's write gate closed and W's watcher suppressed (fn rewrites W's files). */
  async rewriting<T>(w: SyncedWorkspace, fn: () => Promise<T>): Promise<T> {
    const unsuppress = this.#init.suppressor?.suppress(w.spec.id);
    try {
      const release = await this.#init.gate.hold(w.spec.id);
      try {
        return await fn();
      } finally {
        // Release the gate first: the suppression window (with its grace period) then still
        // covers the file events jj's own writes produce.
        release();
      }
    } finally {
      unsuppress?.();
    }
  }

  /** Runs a jj step in W; a stale W is recovered (edits kept) and the step retried once. */
  async inWorkspace<T>(w: SyncedWorkspace, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof JjError) || err.kind !== 'stale') throw err;
      this.#init.log.warn('workspace is stale; recovering', { repo: this.#init.repo, id: w.spec.id });
      await this.rewriting(w, () => recoverWorkspace(this.#init.rj, w.spec.id, w.spec.dir, true));
      return await fn();
    }
  }

  /** Squashes a divergent W's stranded edits back into W@ (nothing dropped). */
  async squashStranded(w: SyncedWorkspace): Promise<void> {
    this.#init.log.warn('workspace is divergent; squashing stranded edits back in', { repo: this.#init.repo, id: w.spec.id });
    await this.rewriting(w, () => recoverWorkspace(this.#init.rj, w.spec.id, w.spec.dir, false));
  }

  /**
   * Puts W on main: `rebase -s @ -d main` in W. When that leaves conflicts (W and main changed the
   * same files), they are resolved into W's files at once, under the same gate, so no jj conflict
   * is ever committed into main (see conflict-repair.ts); W then holds edits that need a commit.
   * When main itself is conflicted (a repo from before) and W is clean we use `new main` instead,
   * so that W shows main's own conflict labels (identical bytes everywhere).
   * `needsCommit`: W holds edits the move made (a repair) or that main's conflict calls for.
   * `clean`: whether W@ has changes at all once moved, as the rebase reported it (undefined when
   * not known without a snapshot).
   */
  async bringToMain(w: SyncedWorkspace, state: RepoState): Promise<{ needsCommit: boolean; clean: boolean | undefined }> {
    const { rj } = this.#init;
    return this.rewriting(w, async () => {
      if (state.mainConflicted) {
        const snap = await snapshotWorkspace(rj, w.spec.dir);
        w.refused = snap.refused;
        if (snap.clean) {
          await newOnMain(rj, w.spec.dir, snap.changeId);
          return { needsCommit: false, clean: undefined };
        }
      }
      const rebase = await rebaseOntoMain(rj, w.spec.dir);
      w.refused = rebase.refused;
      const wc = rebase.workingCopy;
      if (rebase.conflicts.length === 0 || state.mainConflicted) {
        // A conflicted W@ whose paths jj did not list is left to the snapshot's check (unknown).
        const clean = wc === undefined || (wc.conflict && !state.mainConflicted) ? undefined : wc.empty;
        return { needsCommit: state.mainConflicted, clean };
      }
      await this.#repair(w, rebase.conflicts, wc?.commitId);
      return { needsCommit: true, clean: false };
    });
  }

  /**
   * The commit step of a round for W: onto main if it is not there, then `jj commit` if W holds
   * changes (main advances). Returns the conflicts the commit recorded, or undefined when W had
   * nothing to commit.
   */
  async commitChanges(w: SyncedWorkspace, state: RepoState): Promise<ConflictNote[] | undefined> {
    const { rj } = this.#init;
    let dirty = false;
    // Whether W@'s changes are known without a snapshot: the rebase that moved W reported W@, and
    // what was written since that rebase's own snapshot waits for the next round (each write
    // marks W, and the write gate held during the rebase kept writes from landing in between).
    let known = false;
    if (w.parent !== state.main) {
      const moved = await this.bringToMain(w, state);
      w.parent = state.main;
      dirty = moved.needsCommit || moved.clean === false;
      known = dirty || moved.clean === true;
    }
    if (!known) {
      const snap = await snapshotWorkspace(rj, w.spec.dir);
      w.refused = snap.refused;
      dirty = !snap.clean;
      // A crash between a rebase and its repair leaves W@ conflicted: repair it now, never commit
      // a jj conflict into main.
      if (snap.conflict && !state.mainConflicted) {
        const paths = await workspaceConflicts(rj, w.spec.id);
        if (paths.length > 0) await this.rewriting(w, () => this.#repair(w, paths));
      }
    }
    if (!dirty) return undefined;
    // Committing writes no files in W (the new @ has the same tree): no gate needed.
    const notes = w.notes;
    w.refused = await commitWorkspace(rj, w.spec.dir, `${w.spec.label} ${new Date().toISOString()}${conflictTrailers(notes, w.sides)}`);
    w.notes = [];
    w.sides = [];
    return notes;
  }

  /** Marks W healthy (logging a recovery). */
  healthy(w: SyncedWorkspace): void {
    if (!w.healthy) this.#init.log.info('workspace healthy again', { repo: this.#init.repo, id: w.spec.id });
    w.healthy = true;
    delete w.lastError;
  }

  /** Marks W unhealthy with `err`'s message (logged with jj's stderr) and returns the message. */
  fail(w: SyncedWorkspace, err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    w.healthy = false;
    w.lastError = message;
    this.#init.log.error('workspace sync failed', {
      repo: this.#init.repo,
      id: w.spec.id,
      error: message,
      ...(err instanceof JjError ? { stderr: err.stderr } : {}),
    });
    return message;
  }

  /** Resolves W@'s jj conflicts into W's files (caller holds W's gate); notes go to W's next commit. */
  async #repair(w: SyncedWorkspace, paths: string[], commit?: string): Promise<void> {
    const { rj, git, insertions, log, repo } = this.#init;
    const repair = await repairConflicts({ rj, git, policy: insertions }, w.spec, paths, commit);
    if (!repair) {
      log.warn('conflict with more than two sides left to jj', { repo, id: w.spec.id, paths });
      return;
    }
    w.notes.push(...repair.notes);
    if (repair.notes.length > 0) w.sides.push(...repair.sides);
    log.info('merged concurrent edits', { repo, id: w.spec.id, paths, conflicts: repair.notes.map((n) => n.path) });
  }
}
