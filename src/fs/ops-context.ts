/**
 * What the pass-through's operation files (ops-lookup.ts, ops-names.ts, ops-attrs.ts, ops-files.ts)
 * share: the context `createPassthroughOps` (passthrough.ts) builds for one mount, and the
 * callback shapes they answer with.
 */
import type { Logger } from '../log.js';
import type { MountGate } from './write-gate.js';
import type { AnnounceState } from './announce.js';
import type { NativeSyscalls } from './fuse-types.js';
import type { HandleTable } from './handles.js';

/** Answers a negative errno or 0. */
export type Cb = (err: number) => void;
/** Answers a negative errno or 0 and a number (a handle), or a byte count in the first slot. */
export type CbN = (err: number, n?: number) => void;
/** Answers an open: a negative errno, or 0, the handle and whether the kernel may keep the file's pages. */
export type CbOpen = (err: number, handle?: number, keepCache?: boolean) => void;

/**
 * Runs one synchronous syscall on the backing directory and reports to `done` (null or the
 * error): the metadata calls that are a single syscall (passthrough.ts says when that is safe).
 */
export function syscallStep(done: (err: unknown) => void, call: () => unknown): void {
  try {
    call();
  } catch (err) {
    done(err);
    return;
  }
  done(null);
}

/** Who a new file belongs to. */
export interface Owner {
  uid: number;
  gid: number;
}

/** The first handle number of the files the patched addon opens on the FUSE thread (handles.ts). */
export const FUSE_THREAD_HANDLE = 0x80000000;

/** The name at the mount root that is invisible through the mount (the workspace's jj metadata). */
export const HIDDEN = '/.jj';

/** What the operations of one mount share. */
export interface OpsContext {
  /** The backing directory (absolute). */
  root: string;
  full: (path: string) => string;
  hidden: (path: string) => boolean;
  /** True for read-only mounts, and from the moment a mount starts closing. */
  readonly readOnly: boolean;
  gate: MountGate;
  handles: HandleTable;
  log: Logger;
  umask: number;
  /** Paths hidden or ghosted while synced changes are replayed as events (announce.ts). */
  announce: AnnounceState;
  /** Runs a lookup inside the write gate (no mutation reported); see passthrough.ts. */
  gated: (work: (leave: () => void) => void) => void;
  /** mknod and nanosecond utimensat from the patched addon; undefined with the stock build. */
  sys: NativeSyscalls | undefined;
  /**
   * The uid/gid a new file must get (an `--allow-other` mount served by root: files belong to
   * their creator), read from the request being served; undefined when files stay the daemon's.
   * Call it synchronously at the start of a handler.
   */
  creator: () => Owner | undefined;
  /** Gives `fullPath` (just created) to `owner`, keeping a setgid parent's group; no-op without one. */
  giveTo: (fullPath: string, owner: Owner | undefined, done: (err: unknown) => void) => void;
  /**
   * The backing descriptor of a handle the FUSE thread opened (numbered from
   * {@link FUSE_THREAD_HANDLE}; mount.ts, "Open files on the FUSE thread"), checked against `path`
   * as its next read there would be; or a negative errno. Writes and ftruncates on it reach the JS
   * handlers while the gate is closed.
   */
  fuseThreadFile: (fh: number, path: string) => number;
  /** Runs a mutating step inside the write gate; calls onMutation(path) when it succeeded. */
  mutate: (op: string, paths: string[], cb: Cb, work: (done: (err: unknown) => void) => void) => void;
}
