import { bool, num, object, optional, str } from './params.js';

/**
 * Bumped whenever a method's params or result change incompatibly. The CLI checks it in `hello`
 * and tells the user to restart the daemon when it differs.
 */
export const PROTOCOL_VERSION = 1;

/** Largest request line the daemon accepts; a longer one is refused and the connection closed. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export type MountState = 'mounted' | 'stale' | 'unhealthy' | 'unmounted';

export interface MountInfo {
  id: string;
  repo: string;
  path: string;
  workspace: string;
  state: MountState;
  /** Present for read-only mounts of a past state. */
  at?: string;
  lastSync?: string;
  error?: string;
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
    params: { repo: string; path: string; at?: string };
    result: { mount: MountInfo; createdRepo: boolean };
  };
  /** Unmounts the mount at absolute `path` after recording its last changes. */
  close: { params: { path: string }; result: { mount: MountInfo } };
  /**
   * Forces a sync round (all repos when `repo` is absent) and waits for convergence; with `remote`,
   * then a remote round too (fetch, integrate, fan out, push).
   */
  sync: { params: { repo?: string; remote?: boolean }; result: { rounds: RoundInfo[] } };
  /** Conflicted paths per repo. */
  conflicts: { params: { repo?: string }; result: { repos: Array<{ repo: string; paths: string[] }> } };
  /** Stops the daemon gracefully. */
  shutdown: { params: Empty; result: { stopping: true } };
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
  open: object<{ repo: string; path: string; at?: string }>({ repo: str, path: str, at: optional(str) }),
  close: object({ path: str }),
  sync: object<{ repo?: string; remote?: boolean }>({ repo: optional(str), remote: optional(bool) }),
  conflicts: object<{ repo?: string }>({ repo: optional(str) }),
  shutdown: none,
};
