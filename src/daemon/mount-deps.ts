import type { Paths } from '../config/paths.js';
import type { ConfigStore } from '../config/store.js';
import type { FuseMountOptions } from '../fs/mount.js';
import type { Notifier } from '../fs/notifier.js';
import type { MountGate } from '../fs/write-gate.js';
import type { Logger } from '../log.js';
import type { CommitRef, UnsyncedReport } from '../rpc/protocol.js';
import type { RepoSyncStatus, WorkspaceSpec } from '../sync/repo-sync.js';

// What MountService (mounts.ts) depends on: interfaces, so it can be built with fakes.

/** Everything the mount service needs to know about FUSE on this machine. */
export interface FuseAvailability {
  ok: boolean;
  /** Problems with their fixes, when not ok. */
  detail: string;
}

/** Resolves `open --at`'s revision or ISO instant to one commit of a repo. */
export type VersionResolver = (repo: string, at: string) => Promise<CommitRef>;

/** What mounts need of the sync side (SyncHub implements it). */
export interface MountSync {
  createWorkspace(repo: string, id: string, dir: string, rev?: string, subtree?: string): Promise<void>;
  /** Which of `paths` (repo-relative) are files at `rev` (default main). */
  filesAt(repo: string, paths: readonly string[], rev?: string): Promise<string[]>;
  forgetWorkspace(repo: string, id: string): Promise<void>;
  /** Starts syncing and watching a workspace. */
  attach(repo: string, ws: WorkspaceSpec): Promise<void>;
  /** Stops syncing a workspace without touching it. */
  detach(repo: string, id: string): Promise<void>;
  /** Final commit, then forget the workspace and delete its directory. */
  remove(repo: string, id: string): Promise<void>;
  markDirty(id: string): void;
  unsynced(repo: string, id: string): Promise<UnsyncedReport>;
  status(repo: string): RepoSyncStatus | undefined;
  registerGate(id: string, gate: MountGate): void;
  unregisterGate(id: string, gate: MountGate | undefined): void;
}

/** What mounts need of the repo service. */
export interface MountRepos {
  validateName(name: string): void;
  require(name: string): void;
  init(name: string): Promise<unknown>;
}

/** What `jjfs open` asks for (see the RPC method `open`). */
export interface OpenRequest {
  repo: string;
  /** Absolute mount point. */
  path: string;
  /** A past state (read-only): revision or ISO instant. */
  at?: string;
  /** A live read-only view. */
  readOnly?: boolean;
  /** Only this folder of the repo (repo-relative). */
  subtree?: string;
  /** Other local users may use the mount (`open --allow-other`). */
  allowOther?: boolean;
}

/** One FUSE pass-through mount as the mount service drives it (FuseMount). */
export interface ServedMount {
  readonly mounted: boolean;
  /** How the kernel caches its names (mount.ts): long with invalidation, or not at all. */
  readonly cacheMode?: 'invalidated' | 'timeouts';
  mount(): Promise<void>;
  /** From now on every write answers EROFS (a process left inside after close). */
  freeze(): void;
  unmount(): Promise<void>;
}

/** Constructor argument of {@link MountService}. */
export interface MountServiceInit {
  paths: Paths;
  config: ConfigStore;
  repos: MountRepos;
  sync: MountSync;
  fuse: FuseAvailability;
  /** Replays synced changes as events on mounts (absent with the stock fuse-native). */
  notifier?: Notifier;
  log: Logger;
  resolveVersion: VersionResolver;
  /**
   * Live mounts keep names in the kernel's cache with invalidation (FuseMount kernelCache; each
   * falls back by itself when the kernel refuses). False: every mount runs without (`timeouts`).
   */
  kernelCache?: boolean;
  /** Builds a mount (default: a real FUSE mount); unit tests pass a fake. */
  serve?: (options: FuseMountOptions) => ServedMount;
}
