import { bool, num, object, optional, str } from './params.js';

// The protocol's constants live in wire-constants.ts, which the CLI loads without this file's
// param readers; they are re-exported here so the method table stays the one place to look.
export { MAX_REQUEST_BYTES, MONITOR_NOTIFICATION, PROTOCOL_VERSION } from './wire-constants.js';

export type MountState = 'mounted' | 'stale' | 'unhealthy' | 'unmounted';

export interface MountInfo {
  id: string;
  repo: string;
  path: string;
  workspace: string;
  state: MountState;
  /** Present for read-only mounts of a past state. */
  at?: string;
  /** A live view that follows main and refuses every write (`open --read-only`). */
  readOnly?: true;
  /** The folder of the repo this mount shows (`open REPO/SUB/DIR`); absent: the whole repo. */
  subtree?: string;
  /** Other local users may use it (`open --allow-other`). */
  allowOther?: true;
  /**
   * How the kernel caches its names: `invalidated` (names kept 60 s, all dropped at every change;
   * live mounts by default) or `timeouts` (no caching: `--at` views, `JJFS_KERNEL_CACHE=off`, or
   * the fallback when the kernel refuses the invalidation). Absent while unmounted.
   */
  kernelCache?: 'invalidated' | 'timeouts';
  lastSync?: string;
  error?: string;
  /** What this mount holds that history does not (status only; absent when nothing is left out). */
  unsynced?: UnsyncedReport;
}

/** Why a path is not synced. */
export type UnsyncedReason = 'git-repository' | 'too-large' | 'ignored';

/** One path that exists in a mount but not in history. */
export interface UnsyncedPath {
  /** Relative to the mount; a directory ends with `/`. */
  path: string;
  reason: UnsyncedReason;
  /** jj's size message or the ignore file. */
  detail?: string;
}

/** Everything a mount holds that history does not. */
export interface UnsyncedReport {
  /** Paths that exist only in this mount (ignored files included). */
  paths: UnsyncedPath[];
  /** Paths ignored by the user's ignore files, counted per file. */
  ignored: Array<{ source: string; count: number }>;
  /** Editor droppings ignored by jjfs's own list: counted, not listed. */
  droppings: number;
}

/** A repo's git remote as status shows it. The URL never carries credentials. */
export interface RemoteInfo {
  url: string;
  /** The remote branch `main` follows. */
  branch?: string;
  /** Last successful push / fetch (ISO time). */
  lastPush?: string;
  lastFetch?: string;
  /** Why the last round failed; set while remote sync is delayed. */
  lastError?: string;
  /** When the next attempt runs after a failure. */
  nextRetry?: string;
  /** The last round failed and a retry is scheduled ("remote sync delayed"). */
  delayed: boolean;
  /** Duration of the last finished round (ms). */
  lastRoundMs?: number;
  /** Local changes recorded since the last push (they go out after `push_delay` of quiet). */
  unpushed: number;
}

/** What `sync --remote` did with the remote. */
export interface RemoteRoundInfo {
  /** How remote changes came into main: not at all, fast-forward, merge, or adopting the remote's history. */
  integrated: 'none' | 'fast-forward' | 'merge' | 'adopt';
  pushed: boolean;
  /** Nothing changed on either side. */
  idle: boolean;
  /** Files published with conflict markers in their text. */
  published: string[];
  /** Why the round failed (remote sync is then delayed and retried). */
  error?: string;
}

export interface RepoInfo {
  name: string;
  path: string;
  remote: RemoteInfo | null;
  mounts: number;
  conflicts: string[];
  lastRound?: string;
  refusedFiles: string[];
  /** What the repo's history costs on disk (absent when it could not be measured). */
  history?: HistoryFacts;
}

/** A repo's history on disk: `jjfs status`, `jjfs doctor`, bench/storage.mjs. */
export interface HistoryFacts {
  /** Disk use of the private repo: git objects plus jj's operation log, index and metadata. */
  bytes: number;
  /** Commits reachable from main. */
  commits?: number;
  looseObjects: number;
  packs: number;
  /** Operations in jj's operation log (trimmed to `op_log_keep` once past `op_log_max`). */
  operations: number;
  /** The last compaction (since the daemon started). */
  lastCompaction?: CompactionFacts;
}

/** What one compaction of a repo's history did (StoreCompactor). */
export interface CompactionFacts {
  at: string;
  ms: number;
  looseBefore: number;
  looseAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  /** jj operations before and after, when the operation log was trimmed. */
  opsBefore?: number;
  opsAfter?: number;
  /** True when unreachable objects were pruned (a full repack). */
  pruned?: boolean;
  error?: string;
}

export interface StatusResult {
  pid: number;
  version: string;
  startedAt: string;
  home: string;
  jj: { path: string; version: string };
  fuse: { ok: boolean; detail: string };
  repos: RepoInfo[];
  mounts: MountInfo[];
  warnings: string[];
  /** Counters since start: jj processes spawned (an idle daemon spawns none). */
  stats: { jjCalls: number };
}

export interface RoundInfo {
  repo: string;
  converged: boolean;
  commits: number;
  conflicts: string[];
  problems: string[];
  /** Present for `sync --remote`. */
  remote?: RemoteRoundInfo;
}


/** What the daemon does, as `jjfs monitor` streams it. `time` is ISO 8601. */
export type MonitorEvent = { time: string; repo: string } & (
  /** Something was written in a mount (at most one per mount per second). */
  | { type: 'change'; mount: string }
  /** A sync round: mounts whose changes were recorded, mounts brought up to date, failures. */
  | { type: 'round'; committed: string[]; updated: number; failed: string[]; ms: number }
  /** A conflict appeared at `path` / was resolved. */
  | { type: 'conflict'; path: string }
  | { type: 'resolved'; path: string }
  /** A remote round: how remote changes came in, whether it pushed. */
  | { type: 'remote'; integrated: RemoteRoundInfo['integrated']; pushed: boolean; idle: boolean; ms: number }
  | { type: 'remote-error'; error: string }
);

/** One setting of a repo as `jjfs config` shows it. */
export interface SettingInfo {
  key: string;
  value: number | string;
  default: number | string;
  isDefault: boolean;
  summary: string;
}

/** A version the user named (REV or TIME), resolved to one commit. */
export interface CommitRef {
  commit: string;
  change: string;
  /** ISO 8601: when the change was recorded. */
  time: string;
}

/** One file changed by a version. */
export interface FileChange {
  path: string;
  /** added, removed, modified, renamed, copied */
  status: string;
  added: number;
  removed: number;
}

/** One version in `log`: when, which mount (or jjfs command) made it, and what changed. */
export interface HistoryEntry extends CommitRef {
  /** The mount path that made the change, or `jjfs restore` / `jjfs undo`. */
  by: string;
  /** The mount path when a mount made the change. */
  mount: string | null;
  action?: 'restore' | 'undo';
  /** What a restore or undo did, in a sentence. */
  note?: string;
  /** The commit a restore came from / an undo reversed. */
  source?: string;
  description: string;
  parents: string[];
  files: FileChange[];
  /** e.g. `notes.md +2 -1`, `todo.md created (+3)` */
  summary: string;
  conflict: boolean;
}

/** `show`: a file's content, a directory's files, or (no path) a whole change with its diff. */
export type ShowResult =
  | {
      kind: 'file';
      repo: string;
      path: string;
      version: CommitRef;
      /** `file`, `symlink` or `conflict` (content then holds the markers) */
      fileType: string;
      executable: boolean;
      size: number;
      sha256: string;
      /** base64 */
      content: string;
    }
  | { kind: 'dir'; repo: string; path: string; version: CommitRef; entries: string[] }
  | { kind: 'change'; repo: string; entry: HistoryEntry; diff: string };

/** `diff`: from a version to the current state, or what the last change did. */
export interface DiffResult {
  repo: string;
  path?: string;
  from: CommitRef;
  to: CommitRef;
  files: FileChange[];
  /** git-style */
  diff: string;
}

/** What `restore` / `undo` did and whether every mount has it. */
export interface ChangeResult {
  repo: string;
  /** The new commit; absent when nothing had to change. */
  commit?: string;
  /** Whether the new state was checked against the version it came from. */
  verified: boolean;
  /** Changes recorded from the mounts just before (so nothing unsaved was replaced unrecorded). */
  recordedFirst: number;
  round: RoundInfo;
}

type Empty = Record<string, never>;

/**
 * The one method table shared by client and server: each method's params and result types.
 * Every method is documented where the daemon implements it (daemon/handlers.ts).
 */
export interface Methods {
  /** Version handshake; the CLI's first call on every connection. */
  hello: { params: { client: string; protocol: number }; result: { version: string; protocol: number; pid: number } };
  /** Daemon, repos and mounts at a glance. */
  status: { params: Empty; result: StatusResult };
  /** Every mount with its state. */
  list: { params: Empty; result: { mounts: MountInfo[] } };
  /** Every repo. */
  repos: { params: Empty; result: { repos: RepoInfo[] } };
  /** Creates repo `name` (idempotent); with `from`, starts it from an existing git repository. */
  init: { params: { name: string; from?: string }; result: { name: string; path: string; created: boolean } };
  /** Sets the git remote of a repo. */
  'remote.add': { params: { repo: string; url: string }; result: { repo: string; url: string } };
  /** Removes the git remote of a repo. */
  'remote.remove': { params: { repo: string }; result: { repo: string } };
  /** Mounts `repo` at absolute `path`, creating the repo when needed. */
  open: {
    params: { repo: string; path: string; at?: string; readOnly?: boolean; subtree?: string; allowOther?: boolean };
    result: { mount: MountInfo; createdRepo: boolean; version?: CommitRef };
  };
  /**
   * Unmounts the mount at absolute `path` after recording its last changes. Refused while the
   * mount holds paths that exist nowhere else (see `unsynced`); `force` moves them to `rescued`.
   */
  close: { params: { path: string; force?: boolean }; result: { mount: MountInfo; rescued?: string } };
  /** What each live mount (of `repo`, or the one at absolute `path`) holds that history does not. */
  unsynced: {
    params: { repo?: string; path?: string };
    result: { mounts: Array<{ repo: string; path: string; report: UnsyncedReport }> };
  };
  /**
   * Forces a sync round (all repos when `repo` is absent) and waits for convergence; with `remote`,
   * then a remote round too (fetch, integrate, fan out, push).
   */
  sync: { params: { repo?: string; remote?: boolean }; result: { rounds: RoundInfo[] } };
  /** Every setting of `repo` (default: the only repo) with its value and default. */
  'config.list': { params: { repo?: string }; result: { repo?: string; settings: SettingInfo[] } };
  /** Sets `key` of `repo` to `value` (text as typed; validated), written atomically and applied at once. */
  'config.set': { params: { repo?: string; key: string; value: string }; result: { repo?: string; setting: SettingInfo } };
  /** Puts `key` of `repo` back to its default, applied at once. */
  'config.unset': { params: { repo?: string; key: string }; result: { repo?: string; setting: SettingInfo } };
  /**
   * Subscribes this connection to {@link MonitorEvent}s (of `repo`, or all): the answer comes at
   * once, then `event` notifications until the connection closes.
   */
  monitor: { params: { repo?: string }; result: { subscribed: true } };
  /** Conflicted paths per repo. */
  conflicts: { params: { repo?: string }; result: { repos: Array<{ repo: string; paths: string[] }> } };
  /**
   * Compacts `repo`'s history now (every repo when absent), between rounds: trims the operation
   * log, packs and prunes; `compaction` is absent for a repo with nothing to do.
   */
  compact: { params: { repo?: string }; result: { repos: Array<{ repo: string; compaction?: NonNullable<HistoryFacts['lastCompaction']>; history: HistoryFacts }> } };
  /** Stops the daemon gracefully. */
  shutdown: { params: Empty; result: { stopping: true } };
  /** Versions of a path (or of the repo), newest first. `since`: ISO 8601 instant. */
  log: {
    params: { repo: string; path?: string; since?: string; limit?: number };
    result: { repo: string; path?: string; entries: HistoryEntry[] };
  };
  /** A path's content at a version, or a version's change. `at`: revision or ISO 8601 instant. */
  show: { params: { repo: string; at: string; path?: string }; result: ShowResult };
  /** From version `from` to now, or (no `from`) what the last change did. */
  diff: { params: { repo: string; from?: string; path?: string }; result: DiffResult };
  /**
   * Puts a path (no `path`: the whole tree) back as it was `at` (absent: the last version of a
   * deleted path), in place or at `to`, as a new change every mount receives.
   */
  restore: {
    params: { repo: string; at?: string; path?: string; to?: string };
    result: ChangeResult & { path: string; to?: string; from: CommitRef };
  };
  /** Reverses the last change not yet undone, as a new change. */
  undo: { params: { repo: string }; result: ChangeResult & { undone: HistoryEntry } };
}

export type MethodName = keyof Methods;
export type ParamsOf<M extends MethodName> = Methods[M]['params'];
export type ResultOf<M extends MethodName> = Methods[M]['result'];

const none = object<Empty>({});

/** Runtime readers for every method's params (the server never trusts the wire). */
export const paramReaders: { [M in MethodName]: (raw: unknown) => ParamsOf<M> } = {
  hello: object({ client: str, protocol: num }),
  status: none,
  list: none,
  repos: none,
  init: object<{ name: string; from?: string }>({ name: str, from: optional(str) }),
  'remote.add': object({ repo: str, url: str }),
  'remote.remove': object({ repo: str }),
  open: object<{ repo: string; path: string; at?: string; readOnly?: boolean; subtree?: string; allowOther?: boolean }>({
    repo: str,
    path: str,
    at: optional(str),
    readOnly: optional(bool),
    subtree: optional(str),
    allowOther: optional(bool),
  }),
  close: object<{ path: string; force?: boolean }>({ path: str, force: optional(bool) }),
  unsynced: object<{ repo?: string; path?: string }>({ repo: optional(str), path: optional(str) }),
  sync: object<{ repo?: string; remote?: boolean }>({ repo: optional(str), remote: optional(bool) }),
  conflicts: object<{ repo?: string }>({ repo: optional(str) }),
  compact: object<{ repo?: string }>({ repo: optional(str) }),
  monitor: object<{ repo?: string }>({ repo: optional(str) }),
  'config.list': object<{ repo?: string }>({ repo: optional(str) }),
  'config.set': object<{ repo?: string; key: string; value: string }>({ repo: optional(str), key: str, value: str }),
  'config.unset': object<{ repo?: string; key: string }>({ repo: optional(str), key: str }),
  shutdown: none,
  log: object<{ repo: string; path?: string; since?: string; limit?: number }>({
    repo: str,
    path: optional(str),
    since: optional(str),
    limit: optional(num),
  }),
  show: object<{ repo: string; at: string; path?: string }>({ repo: str, at: str, path: optional(str) }),
  diff: object<{ repo: string; from?: string; path?: string }>({ repo: str, from: optional(str), path: optional(str) }),
  restore: object<{ repo: string; at?: string; path?: string; to?: string }>({
    repo: str,
    at: optional(str),
    path: optional(str),
    to: optional(str),
  }),
  undo: object({ repo: str }),
};
