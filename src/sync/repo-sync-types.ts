import type { Logger } from '../log.js';
import type { WorkspaceGate } from './gate.js';
import type { GitRunner } from './git.js';
import type { JjRunner } from './jj-runner.js';
import type { ConflictNote } from './merge-paths.js';
import type { InsertionPolicy } from './merge-text.js';
import type { RefusedFile } from './repo-jj.js';
import type { ChangeSuppressor } from './workspace-steps.js';

/** Timing knobs of {@link RepoSync}. */
export interface RepoSyncOptions {
  /** Quiet period after the last `markDirty` before a workspace is committed. */
  debounceMs: number;
  /** Upper bound from the first `markDirty` to the commit, so constant writes still sync. */
  maxWaitMs: number;
  /** Concurrent insertions at one place: merged (default) or written as conflicts for review. */
  insertions?: InsertionPolicy;
}

/** Constructor argument of {@link RepoSync}. */
export interface RepoSyncInit {
  name: string;
  repoHome: string;
  jj: JjRunner;
  /** git plumbing on jj's store (reading the sides of a conflict). */
  git: GitRunner;
  gate: WorkspaceGate;
  log: Logger;
  options: RepoSyncOptions;
  suppressor?: ChangeSuppressor;
  /** Called with the number of local changes each time some reached main (remote push follows). */
  onCommitted?: (commits: number) => void;
  /** Called with conflicts just recorded in main (desktop notification). */
  onConflicts?: (notes: readonly ConflictNote[]) => void;
  /** Called after every round that recorded, updated or failed something (`jjfs monitor`). */
  onRound?: (report: RoundReport) => void;
}

/** What one round did. */
export interface RoundReport {
  startedAt: string;
  durationMs: number;
  /** main after the round */
  main: string;
  /** Workspaces whose changes were committed into main, in order. */
  committed: string[];
  /** Workspaces moved onto the new main. */
  updated: string[];
  /** Workspaces whose jj command failed this round. */
  failed: { id: string; error: string }[];
  /** Workspaces not sitting on main after the round, and why. */
  behind: { id: string; reason: string }[];
}

/** Per-workspace status. */
export interface WorkspaceStatus {
  id: string;
  label: string;
  dir: string;
  healthy: boolean;
  lastError?: string;
  /** Cached parent commit of the working-copy commit (undefined until first read). */
  parent?: string;
}

/** Status of one repo engine. */
export interface RepoSyncStatus {
  name: string;
  lastRound?: RoundReport;
  main?: string;
  conflicts: string[];
  refusedFiles: (RefusedFile & { workspace: string })[];
  workspaces: WorkspaceStatus[];
}
