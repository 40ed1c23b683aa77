/**
 * Types for the parts of fuse-native jjfs uses (it ships none), and the one shape of a stat that
 * the pass-through hands back. Types only: importing this module loads nothing.
 */
import type { MountOptions } from './fuse-options.js';

/** Callback taking a negative errno (`Fuse.ENOENT`...) or 0. */
export type FuseErrCallback = (err: number) => void;
/** Callback taking a negative errno or 0, and a result. */
export type FuseResultCallback<T> = (err: number, result?: T) => void;

/**
 * What getattr/readdir report, the shape fuse-native turns into a `struct stat`: dates or epoch
 * milliseconds (the stock build truncates to ms); the patched build (native-shims/build-fuse.mjs)
 * takes the exact times from the bigint `*Ns` fields when they are there.
 */
export interface FuseStat {
  mode: number;
  uid?: number;
  gid?: number;
  size?: number;
  dev?: number;
  nlink?: number;
  /** Truncated to 32 bits by fuse-native. With `useIno`, must be non-zero. */
  ino?: number;
  rdev?: number;
  blksize?: number;
  blocks?: number;
  atime?: Date | number;
  mtime?: Date | number;
  ctime?: Date | number;
  atimeNs?: bigint;
  mtimeNs?: bigint;
  ctimeNs?: bigint;
}

/**
 * Syscalls Node has no API for, from the patched addon (native-shims/build-fuse.mjs). Synchronous,
 * on the backing directory only (never on a mount: the daemon must not touch its own mounts).
 * Each answers 0 or a negative errno.
 */
export interface NativeSyscalls {
  /** mknod(2): FIFOs, sockets, device nodes. `dev` as the kernel encodes it (makedev). */
  mknod(path: string, mode: number, dev: number): number;
  /**
   * utimensat(2) with AT_SYMLINK_NOFOLLOW: exact nanoseconds; a `nsec` of UTIME_NOW / UTIME_OMIT
   * means "now" / "leave unchanged", as in the syscall.
   */
  utimens(path: string, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): number;
  /** lsetxattr(2); `flags` XATTR_CREATE / XATTR_REPLACE as the caller gave them. */
  lsetxattr(path: string, name: string, value: Buffer, flags: number): number;
  /** lgetxattr(2): the value, or a negative errno. */
  lgetxattr(path: string, name: string): Buffer | number;
  /** llistxattr(2): the NUL-terminated names, or a negative errno. */
  llistxattr(path: string): Buffer | number;
  lremovexattr(path: string, name: string): number;
  /** FUSE_NOTIFY_INC_EPOCH on the mount whose fuse-native thread state is `thread`: 16, or -errno. */
  incEpoch(thread: Buffer): number;
  /**
   * Workers that mount's request loop woke or started to replace a reader that stayed too long on
   * one request (native-shims, "the request loop"), or -errno; absent in a build that does not count them.
   */
  loopHandovers?(thread: Buffer): number;
  /** Requests that mount's request loop took on another worker than the one before, or -errno. */
  loopReaderChanges?(thread: Buffer): number;
  /** Requests that mount's request loop found while looking for the next one after an answer, or -errno. */
  loopSpinCatches?(thread: Buffer): number;
  /**
   * Lets that mount's OPENDIR answers have the kernel keep directory listings (1) or not (0)
   * (src/fs/mount.ts, "Listings"): 0, -ENOTSUP without jjfs's request loop, or -errno; absent in
   * an older build.
   */
  cacheListings?(thread: Buffer, on: number): number;
  /** How many readdir calls that mount answered, or -errno. */
  listingReads?(thread: Buffer): number;
  /** FUSE_NOTIFY_INVAL_INODE of the root's attributes (node 1, no pages) on that mount: 40, or -errno. */
  invalRootAttrs(thread: Buffer): number;
  /**
   * Lists a directory in one synchronous call: its names (`.` and `..` included) and, per name,
   * the low 32 bits of its inode number and its d_type (0: unknown) in `info` (ino0, type0, ino1,
   * type1, ...); or -errno.
   */
  listDir(path: string): [names: string[], info: number[]] | number;
  /** Sets the backing directory getattr and readdir may be answered from on the FUSE thread: 0, or -errno. */
  fastRoot(thread: Buffer, root: string): number;
  /** Allows (1) or stops (0) those answers; returns how many are running after the change. */
  fastAllow(thread: Buffer, on: number): number;
  /** Makes the files opened on that mount's FUSE thread check their inode at their next use: 0, or -errno. */
  fastRecheck(thread: Buffer): number;
  /**
   * Lets that mount's FUSE thread change files and names (1: writable opens, writes, ftruncates,
   * unlinks, rmdirs, renames) and create files too (2), or neither (0); `umask` is the process's;
   * `wake` is called (no arguments, on the JS thread) when changed paths wait to be taken. 0, or
   * -errno.
   */
  fastWrites(thread: Buffer, mode: number, umask: number, wake: () => void): number;
  /**
   * Takes the mount-relative paths changed on the FUSE thread since the last call: those changed
   * (or still changing) and those whose change failed.
   */
  fastTakeNotes(thread: Buffer): [changed: string[], failed: string[]];
  /** The backing descriptor of FUSE-thread handle `fh`, checked against `path` first; or -EBADF. */
  fastFile(thread: Buffer, fh: number, path: string): number;
  /**
   * Whether the kernel may keep the cached pages of the backing file `path`, open as `fd`: 1 when
   * it is exactly the file it was at the previous open of that path (ops-files.ts, "Page cache").
   */
  keepPages(path: string, fd: number): number;
  /** uid and gid of the process whose request the running handler serves (read synchronously). */
  callerUid(): number;
  callerGid(): number;
}

/** What statfs reports (fuse-native carries the counts as uint32). */
export interface FuseStatfs {
  bsize?: number;
  frsize?: number;
  blocks?: number;
  bfree?: number;
  bavail?: number;
  files?: number;
  ffree?: number;
  favail?: number;
  fsid?: number;
  flag?: number;
  namemax?: number;
}

/**
 * A time handed to `utimens`. `now` is UTIME_NOW (e.g. plain `touch f`), `omit` is UTIME_OMIT
 * (leave that time unchanged, e.g. `touch -m` omits atime). `set` carries seconds + nanoseconds.
 */
export type FuseTime = { kind: 'set'; sec: number; nsec: number } | { kind: 'now' } | { kind: 'omit' };

/**
 * Operation handlers. Paths are mount-relative (`/a/b`). Errors are negative errnos.
 * Quirks: `fsync` is `(path, datasync, fd, cb)`; `create` gets no open flags; `fgetattr` is
 * routed to `getattr`; read/write `buf` is detached after `cb`, never keep it.
 */
export interface FuseOps {
  init?(cb: FuseErrCallback): void;
  access?(path: string, mode: number, cb: FuseErrCallback): void;
  statfs?(path: string, cb: FuseResultCallback<FuseStatfs>): void;
  getattr?(path: string, cb: FuseResultCallback<FuseStat>): void;
  flush?(path: string, fd: number, cb: FuseErrCallback): void;
  fsync?(path: string, datasync: number, fd: number, cb: FuseErrCallback): void;
  fsyncdir?(path: string, datasync: number, fd: number, cb: FuseErrCallback): void;
  readdir?(path: string, cb: (err: number, names?: string[], stats?: FuseStat[]) => void): void;
  truncate?(path: string, size: number, cb: FuseErrCallback): void;
  ftruncate?(path: string, fd: number, size: number, cb: FuseErrCallback): void;
  /** Times are already decoded (UTIME_NOW / UTIME_OMIT recognised when `mtimeFixed`). */
  utimens?(path: string, atime: FuseTime, mtime: FuseTime, cb: FuseErrCallback): void;
  readlink?(path: string, cb: FuseResultCallback<string>): void;
  chown?(path: string, uid: number, gid: number, cb: FuseErrCallback): void;
  chmod?(path: string, mode: number, cb: FuseErrCallback): void;
  mknod?(path: string, mode: number, dev: number, cb: FuseErrCallback): void;
  setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: FuseErrCallback): void;
  /** The whole value; the loader answers the caller's size question and ERANGE (fuse-loader.ts). */
  getxattr?(path: string, name: string, cb: FuseResultCallback<Buffer>): void;
  /** The names as llistxattr(2) gives them (each NUL-terminated); sizes as for getxattr. */
  listxattr?(path: string, cb: FuseResultCallback<Buffer>): void;
  removexattr?(path: string, name: string, cb: FuseErrCallback): void;
  /** `keepCache`: the kernel may keep the file's cached pages (patched build only; see ops-files.ts). */
  open?(path: string, flags: number, cb: (err: number, handle?: number, keepCache?: boolean) => void): void;
  opendir?(path: string, flags: number, cb: FuseResultCallback<number>): void;
  read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytesReadOrErr: number) => void): void;
  write?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytesWrittenOrErr: number) => void): void;
  release?(path: string, fd: number, cb: FuseErrCallback): void;
  releasedir?(path: string, fd: number, cb: FuseErrCallback): void;
  create?(path: string, mode: number, cb: FuseResultCallback<number>): void;
  unlink?(path: string, cb: FuseErrCallback): void;
  rename?(src: string, dest: string, cb: FuseErrCallback): void;
  link?(src: string, dest: string, cb: FuseErrCallback): void;
  symlink?(target: string, linkPath: string, cb: FuseErrCallback): void;
  mkdir?(path: string, mode: number, cb: FuseErrCallback): void;
  rmdir?(path: string, cb: FuseErrCallback): void;
}

/** A mountable instance. `mount` calls back once the kernel has sent FUSE_INIT. */
export interface FuseInstance {
  readonly mnt: string;
  mount(cb: (err: Error | null) => void): void;
  /** Runs our `unmount` (unmount.ts, lazy) and then stops the FUSE thread. */
  unmount(cb: (err: Error | null) => void): void;
  /**
   * Makes the kernel drop every name it cached for this mount (FUSE_NOTIFY_INC_EPOCH, patched
   * build): 16 when the kernel took it, else a negative errno (stock build: ENOSYS).
   */
  invalidateNames(): number;
  /**
   * Makes the kernel drop the cached attributes of the mount root, the one inode no lookup
   * refreshes (patched build): 40 when the kernel took it, else a negative errno.
   */
  invalidateRootAttributes(): number;
  /**
   * Lets getattr and readdir of this mount be answered on the FUSE thread, from `root`, whenever
   * {@link allowFuseThreadAnswers} says so (patched build): 0, else a negative errno.
   */
  serveFromFuseThread(root: string): number;
  /** Allows or stops FUSE-thread answers; returns how many are running after the change. */
  allowFuseThreadAnswers(on: boolean): number;
  /**
   * Tells the files opened on the FUSE thread (mount.ts, "Open files on the FUSE thread") that jj
   * may have replaced files: each checks its inode against its path at its next read or fsync.
   * 0, else a negative errno.
   */
  recheckOpenFiles(): number;
  /**
   * Workers the request loop woke or started to replace a reader that stayed longer than the
   * hand-over delay on one request (waiting for JS or on the disk): a cost of answering, not a
   * fault. Negative errno without the count.
   */
  loopHandovers(): number;
  /**
   * Requests the request loop took on another worker than the one that took the request before
   * (each a wake-up of a sleeping thread). Negative errno without the count.
   */
  loopReaderChanges(): number;
  /**
   * Requests the request loop's workers found while they looked for the next one after an answer
   * (JJFS_FUSE_SPIN_US), with no wake-up. Negative errno without the count.
   */
  loopSpinCatches(): number;
  /**
   * Lets OPENDIR answers have the kernel keep directory listings (mount.ts, "Listings"): 0, or a
   * negative errno (-ENOTSUP without jjfs's request loop, which adds the flags).
   */
  cacheListings(on: boolean): number;
  /** readdir calls the mount answered (a listing the kernel keeps needs none). Negative errno without the count. */
  listingReads(): number;
  /**
   * fuse-native's own: one Buffer of thread locals for each thread it set up through the JS thread,
   * never freed (the patched loop hands an ended worker's to the next new one).
   */
  readonly _threads?: ReadonlySet<unknown>;
  /**
   * Lets changes be answered on the FUSE thread while {@link allowFuseThreadAnswers} says so:
   * writable opens, writes, ftruncates, unlinks, rmdirs and renames (`files`), creates too
   * (`creates`), or none (`off`); `wake` runs when changed paths wait for
   * {@link takeFuseThreadChanges}. 0, else a negative errno.
   */
  writeOnFuseThread(mode: 'off' | 'files' | 'creates', umask: number, wake: () => void): number;
  /**
   * The mount-relative paths changed on the FUSE thread since the last call (each may repeat):
   * `changed` (or still changing), and `failed` (the change failed, nothing was changed).
   */
  takeFuseThreadChanges(): { changed: string[]; failed: string[] };
  /** The backing descriptor of FUSE-thread handle `fh` (mount.ts), checked against `path`; or -EBADF. */
  fuseThreadFile(fh: number, path: string): number;
}

/** Errno constants fuse-native exposes (negative values). The ones jjfs uses. */
export interface FuseErrnos {
  readonly EPERM: number; readonly ENOENT: number; readonly EIO: number; readonly EBADF: number;
  readonly EAGAIN: number; readonly EACCES: number; readonly EBUSY: number; readonly EEXIST: number;
  readonly EXDEV: number; readonly ENOTDIR: number; readonly EISDIR: number; readonly EINVAL: number;
  readonly ENOSPC: number; readonly EROFS: number; readonly ENAMETOOLONG: number; readonly ENOSYS: number;
  readonly ENOTEMPTY: number; readonly ELOOP: number; readonly ENODATA: number; readonly ENOTSUP?: number;
  readonly EOPNOTSUPP: number; readonly ENOTCONN: number; readonly ETIMEDOUT: number; readonly ESTALE: number;
  readonly ERANGE: number;
}

/** The Fuse class handed out by `loadFuse` (fuse-loader.ts): fuse-native's class plus jjfs' options. */
export interface FuseConstructor extends FuseErrnos {
  new (mountPath: string, ops: FuseOps, opts?: MountOptions): FuseInstance;
}

/** What `loadFuse` (fuse-loader.ts) returns: the class and what the loaded build can do. */
export interface FuseBinding {
  Fuse: FuseConstructor;
  /** True when utimens receives the real mtime and UTIME_NOW/OMIT (patched build). */
  mtimeFixed: boolean;
  source: 'patched' | 'prebuild';
  /**
   * Pid of the process whose request the running handler serves (patched build only; read it
   * synchronously at the start of a handler). Lets the pass-through treat its own notifier
   * process differently from everyone else (announce.ts).
   */
  callerPid?: () => number;
  /** Present when the loaded build has the syscall patch (mknod, nanosecond times, caller ids). */
  syscalls?: NativeSyscalls;
}
