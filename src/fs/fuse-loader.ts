/**
 * Loads fuse-native (preferring the patched build from native-shims/build-fuse.mjs), types the
 * parts of its API jjfs uses, applies mount options fuse-native does not expose, and checks that
 * this machine can run FUSE at all.
 *
 * Facts this relies on (see shared notes on fuse-native):
 * - The stock prebuild needs `libfuse.so.2`, absent on a bare Debian 12. The patched build carries
 *   its own copy next to the addon (rpath $ORIGIN). For the stock prebuild, the process must be
 *   STARTED with LD_LIBRARY_PATH pointing at a shim dir: see {@link fuseProcessEnv}.
 * - fuse-native's `_close` shells out to `fusermount -uz`, missing on machines without fuse3; we
 *   replace its static `unmount` with ours (`umount -l` as root).
 */
import { mkdirSync, readFileSync, readlinkSync, renameSync, symlinkSync, existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findUnmountTool, unmount, type UnmountTool } from './unmount.js';

// ---------------------------------------------------------------------------------------------
// Types for the parts of fuse-native we use (it ships none).

/** Callback taking a negative errno (`Fuse.ENOENT`...) or 0. */
export type FuseErrCallback = (err: number) => void;
/** Callback taking a negative errno or 0, and a result. */
export type FuseResultCallback<T> = (err: number, result?: T) => void;

/** What getattr/readdir report; dates or epoch milliseconds (fuse-native truncates to ms). */
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
}

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
  getxattr?(path: string, name: string, position: number, cb: FuseResultCallback<Buffer | null>): void;
  listxattr?(path: string, cb: FuseResultCallback<string[]>): void;
  removexattr?(path: string, name: string, cb: FuseErrCallback): void;
  open?(path: string, flags: number, cb: FuseResultCallback<number>): void;
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
  /** Runs our {@link unmount} (lazy) and then stops the FUSE thread. */
  unmount(cb: (err: Error | null) => void): void;
}

/** Errno constants fuse-native exposes (negative values). The ones jjfs uses. */
export interface FuseErrnos {
  readonly EPERM: number; readonly ENOENT: number; readonly EIO: number; readonly EBADF: number;
  readonly EAGAIN: number; readonly EACCES: number; readonly EBUSY: number; readonly EEXIST: number;
  readonly EXDEV: number; readonly ENOTDIR: number; readonly EISDIR: number; readonly EINVAL: number;
  readonly ENOSPC: number; readonly EROFS: number; readonly ENAMETOOLONG: number; readonly ENOSYS: number;
  readonly ENOTEMPTY: number; readonly ELOOP: number; readonly ENODATA: number; readonly ENOTSUP?: number;
  readonly EOPNOTSUPP: number; readonly ENOTCONN: number; readonly ETIMEDOUT: number; readonly ESTALE: number;
}

/** The Fuse class handed out by {@link loadFuse}: fuse-native's class plus jjfs' options. */
export interface FuseConstructor extends FuseErrnos {
  new (mountPath: string, ops: FuseOps, opts?: MountOptions): FuseInstance;
}

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
}

/**
 * Mount options. Timeouts are seconds and `0` really means 0 (fuse-native drops numeric 0).
 * `bigWrites` is needed for write speed; `useIno` keeps inode numbers stable (readdir must then
 * report non-zero inodes); `hardRemove` stops libfuse renaming open-unlinked files to
 * `.fuse_hidden*`. `force` clears a stale mount first, `mkdir` creates the mount point.
 */
export interface MountOptions {
  entryTimeout?: number;
  attrTimeout?: number;
  negativeTimeout?: number;
  bigWrites?: boolean;
  useIno?: boolean;
  hardRemove?: boolean;
  fsname?: string;
  subtype?: string;
  readOnly?: boolean;
  allowOther?: boolean;
  maxWrite?: number;
  autoUnmount?: boolean;
  force?: boolean;
  mkdir?: boolean;
  debug?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Options

/** Escapes a value for libfuse's comma-separated `-o` list. */
function optValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/,/g, '\\,');
}

function seconds(name: string, v: number): string {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number of seconds >= 0, got ${v}`);
  return String(v);
}

/** The libfuse `-o` options for `opts` (exported for tests). */
export function fuseOptionList(opts: MountOptions): string[] {
  const o: string[] = [];
  if (opts.debug) o.push('debug');
  if (opts.readOnly) o.push('ro');
  if (opts.allowOther) o.push('allow_other');
  if (opts.autoUnmount) o.push('auto_unmount');
  if (opts.fsname !== undefined) o.push(`fsname=${optValue(opts.fsname)}`);
  if (opts.subtype !== undefined) o.push(`subtype=${optValue(opts.subtype)}`);
  // `!== undefined`, not truthiness: 0 is the interesting value (no kernel caching).
  if (opts.entryTimeout !== undefined) o.push(`entry_timeout=${seconds('entryTimeout', opts.entryTimeout)}`);
  if (opts.attrTimeout !== undefined) o.push(`attr_timeout=${seconds('attrTimeout', opts.attrTimeout)}`);
  if (opts.negativeTimeout !== undefined) o.push(`negative_timeout=${seconds('negativeTimeout', opts.negativeTimeout)}`);
  if (opts.bigWrites) o.push('big_writes');
  if (opts.useIno) o.push('use_ino');
  if (opts.hardRemove) o.push('hard_remove');
  if (opts.maxWrite !== undefined) {
    if (!Number.isInteger(opts.maxWrite) || opts.maxWrite <= 0) throw new RangeError(`maxWrite must be a positive integer, got ${opts.maxWrite}`);
    o.push(`max_write=${opts.maxWrite}`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// utimens decoding

const UTIME_NOW = 0x3fffffff;
const UTIME_OMIT = 0x3ffffffe;
/**
 * What the stock C code would make of UTIME_NOW and UTIME_OMIT alike: floor((2^30 - 1) / 1e6) ms.
 * Measured with the stock build, they never arrive: without `flag_utime_omit_ok` libfuse 2.9 drops
 * single-time changes and turns UTIME_NOW into the kernel's current time. Kept as a guard.
 */
const STOCK_SPECIAL_MS = 1073;

/** Decodes a raw timespec (patched build). */
export function decodeTimespec(sec: number, nsec: number): FuseTime {
  if (nsec === UTIME_NOW) return { kind: 'now' };
  if (nsec === UTIME_OMIT) return { kind: 'omit' };
  return { kind: 'set', sec, nsec };
}

/** Decodes the stock build's milliseconds; UTIME_NOW and UTIME_OMIT both look like 1073 ms. */
function decodeStockMs(ms: number): FuseTime {
  if (ms === STOCK_SPECIAL_MS) return { kind: 'now' };
  return { kind: 'set', sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
}

/**
 * Turns a {@link FuseTime} into the seconds value `fs.utimes` takes. `currentSec` is the file's
 * present time (used for `omit`); `nowSec` defaults to the clock.
 */
export function fuseTimeToSeconds(t: FuseTime, currentSec: number, nowSec: number = Date.now() / 1000): number {
  switch (t.kind) {
    case 'set':
      return t.sec + t.nsec / 1e9;
    case 'now':
      return nowSec;
    case 'omit':
      return currentSec;
  }
}

// ---------------------------------------------------------------------------------------------
// Loading

/** What fuse-native's module exports, as far as we touch it. */
interface RawFuseClass extends FuseErrnos {
  new (mnt: string, ops: FuseOps, opts?: Record<string, unknown>): RawFuseInstance;
  unmount(mnt: string, cb: (err: Error | null) => void): void;
}
interface RawFuseInstance extends FuseInstance {
  ops: FuseOps;
}
type Signal = (err: number) => void;

const here = path.dirname(fileURLToPath(import.meta.url));
/** src/fs or dist/fs -> repository root. */
const packageRoot = path.resolve(here, '..', '..');
/** Where native-shims/build-fuse.mjs puts the patched copy. */
export const patchedFuseDir = path.join(packageRoot, 'native-shims', 'build', 'fuse-native');

function stockFuseDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('fuse-native/package.json'));
}

/** Replaces fuse-native's `fusermount -uz` (absent without fuse3) by our tool choice. */
function installUnmount(Base: RawFuseClass): void {
  Base.unmount = (mnt, cb) => {
    unmount(mnt, { lazy: true }).then(
      () => cb(null),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
  };
}

function subclass(Base: RawFuseClass, mtimeFixed: boolean): FuseConstructor {
  class JjfsFuse extends Base {
    readonly jjfsOptions: MountOptions;
    constructor(mountPath: string, ops: FuseOps, opts: MountOptions = {}) {
      // Only the options fuse-native's constructor reads itself; the rest go through _fuseOptions.
      super(mountPath, ops, { force: opts.force ?? false, mkdir: opts.mkdir ?? false });
      this.jjfsOptions = opts;
      fuseOptionList(opts); // validate now, not at mount time
    }

    /** Overrides fuse-native: builds the whole `-o` list from MountOptions. */
    _fuseOptions(): string {
      const list = fuseOptionList(this.jjfsOptions);
      return list.length > 0 ? `-o${list.join(',')}` : '';
    }

    /** Overrides fuse-native: decodes times (patched: raw timespecs; stock: ms, atime twice). */
    _op_utimens(signal: Signal, p: string, aLow: number, aHigh: number, mLow: number, mHigh: number, aSec?: number, aNsec?: number, mSec?: number, mNsec?: number): void {
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called as handler.call(this.ops, …) below
      const handler = this.ops.utimens;
      if (!handler) return signal(0);
      let atime: FuseTime;
      let mtime: FuseTime;
      if (mtimeFixed && aSec !== undefined && aNsec !== undefined && mSec !== undefined && mNsec !== undefined) {
        atime = decodeTimespec(aSec, aNsec);
        mtime = decodeTimespec(mSec, mNsec);
      } else {
        // Stock: the "mtime" pair is a copy of atime; the best we can do is use it for both.
        atime = decodeStockMs(aLow + aHigh * 4294967296);
        mtime = decodeStockMs(mLow + mHigh * 4294967296);
      }
      handler.call(this.ops, p, atime, mtime, (err) => signal(err));
    }
  }
  return JjfsFuse;
}

function readPatchedStamp(): boolean {
  try {
    const stamp = JSON.parse(readFileSync(path.join(patchedFuseDir, '.jjfs-build.json'), 'utf8')) as { hash?: unknown };
    return typeof stamp.hash === 'string' && existsSync(path.join(patchedFuseDir, 'build', 'Release', 'fuse.node'));
  } catch {
    return false;
  }
}

/** Raised when neither the patched build nor the stock prebuild can be loaded. */
export class FuseLoadError extends Error {
  override readonly name = 'FuseLoadError';
  constructor(readonly causes: { source: 'patched' | 'prebuild'; message: string }[]) {
    super(
      `fuse-native cannot be loaded: ${causes.map((c) => `${c.source}: ${c.message}`).join('; ')}. ` +
        'Start this process with fuseProcessEnv() (LD_LIBRARY_PATH with a libfuse.so.2 shim), ' +
        'or run `node native-shims/build-fuse.mjs`, or install libfuse2.',
    );
  }
}

/**
 * Loads fuse-native: the patched build (native-shims/build/fuse-native) when present and loadable,
 * else the stock prebuild (then `mtimeFixed` is false: utimens gets atime for both times).
 * The returned `Fuse` applies {@link MountOptions} and decodes utimens times. Cached by Node's
 * module cache; calling it twice is cheap. `allowPatched: false` forces the stock prebuild
 * (diagnostics and tests).
 */
export function loadFuse(opts: { allowPatched?: boolean } = {}): FuseBinding {
  const req = createRequire(import.meta.url);
  const causes: { source: 'patched' | 'prebuild'; message: string }[] = [];
  if (opts.allowPatched === false) {
    causes.push({ source: 'patched', message: 'not allowed by the caller' });
  } else if (readPatchedStamp()) {
    try {
      const Base = req(patchedFuseDir) as RawFuseClass;
      installUnmount(Base);
      // The same addon instance fuse-native loaded (Node caches native modules by path).
      const raw = (req('node-gyp-build') as (dir: string) => { jjfs_caller_pid?: () => number })(patchedFuseDir);
      return {
        Fuse: subclass(Base, true),
        mtimeFixed: true,
        source: 'patched',
        ...(typeof raw.jjfs_caller_pid === 'function' ? { callerPid: raw.jjfs_caller_pid } : {}),
      };
    } catch (err) {
      causes.push({ source: 'patched', message: err instanceof Error ? err.message : String(err) });
    }
  } else {
    causes.push({ source: 'patched', message: 'not built (run `node native-shims/build-fuse.mjs`)' });
  }
  try {
    const Base = req('fuse-native') as RawFuseClass;
    installUnmount(Base);
    return { Fuse: subclass(Base, false), mtimeFixed: false, source: 'prebuild' };
  } catch (err) {
    causes.push({ source: 'prebuild', message: err instanceof Error ? err.message : String(err) });
  }
  throw new FuseLoadError(causes);
}

/** `new binding.Fuse(mountPath, ops, opts)` with the options applied (0 timeouts included). */
export function createFuse(mountPath: string, ops: FuseOps, opts: MountOptions, binding: FuseBinding = loadFuse()): FuseInstance {
  return new binding.Fuse(mountPath, ops, opts);
}

// ---------------------------------------------------------------------------------------------
// Process environment

/**
 * Ensures `shimDir/libfuse.so.2` is a symlink to the libfuse that fuse-native's prebuild ships
 * (`<fuse-native>/prebuilds/linux-x64/libfuse.so`). Returns the shim dir. Idempotent; replaces a
 * link pointing elsewhere (e.g. after fuse-native moved) atomically.
 */
export function ensureLibfuseShim(shimDir: string): string {
  const target = path.join(stockFuseDir(), 'prebuilds', `${process.platform}-${process.arch}`, 'libfuse.so');
  const link = path.join(shimDir, 'libfuse.so.2');
  mkdirSync(shimDir, { recursive: true });
  let current: string | undefined;
  try {
    current = readlinkSync(link);
  } catch {
    current = undefined;
  }
  if (current !== target) {
    const tmp = `${link}.${process.pid}.tmp`;
    symlinkSync(target, tmp);
    renameSync(tmp, link); // atomic: a concurrently starting process sees the old or the new link
  }
  return shimDir;
}

/** Minimum libuv pool for processes serving FUSE mounts. */
const MIN_THREADPOOL = 64;

/**
 * Environment for a process that will load fuse-native (the daemon; test children):
 * - `LD_LIBRARY_PATH` prefixed with {@link ensureLibfuseShim}(shimDir). Always, not only when the
 *   system lacks libfuse.so.2: one tested library everywhere (the one fuse-native ships), and it
 *   only affects libfuse.so.2 lookups. It must be in place before the process starts (the dynamic
 *   loader reads it once; `process.dlopen` of the lib first does not help).
 * - `UV_THREADPOOL_SIZE` at least 64: every FUSE op handler runs its fs call on the libuv pool; if
 *   anything in the process makes async calls that end up on one of our mounts (directly, or jj /
 *   watcher work touching them), those calls can occupy the whole pool while waiting for handlers
 *   that need the pool themselves: a deadlock (seen with 8 reads and the default 4). Many mounts
 *   multiply the concurrency. Threads are cheap and idle; libuv caps the value at 1024.
 */
export function fuseProcessEnv(baseEnv: NodeJS.ProcessEnv, shimDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...baseEnv };
  if (process.platform === 'linux') {
    const dir = ensureLibfuseShim(shimDir);
    const rest = (baseEnv.LD_LIBRARY_PATH ?? '').split(':').filter((p) => p !== '' && p !== dir);
    env.LD_LIBRARY_PATH = [dir, ...rest].join(':');
  }
  env.UV_THREADPOOL_SIZE = fuseThreadPoolSize(baseEnv);
  return env;
}

/** The `UV_THREADPOOL_SIZE` a FUSE-serving process gets: `baseEnv`'s if larger, else the minimum. */
export function fuseThreadPoolSize(baseEnv: NodeJS.ProcessEnv): string {
  const pool = Number.parseInt(baseEnv.UV_THREADPOOL_SIZE ?? '', 10);
  return String(Number.isFinite(pool) && pool > MIN_THREADPOOL ? pool : MIN_THREADPOOL);
}

// ---------------------------------------------------------------------------------------------
// Preflight

export type FuseCheck =
  | { ok: true; mtimeFixed: boolean; unmountTool: UnmountTool }
  | { ok: false; problems: Array<{ problem: string; fix: string }> };

/**
 * Checks that this process can serve FUSE mounts: Linux, /dev/fuse openable read-write, fuse-native
 * loadable here (so call it in a process started with {@link fuseProcessEnv}), an unmount tool.
 */
export async function checkFuse(): Promise<FuseCheck> {
  const problems: Array<{ problem: string; fix: string }> = [];
  if (process.platform === 'darwin') {
    return {
      ok: false,
      problems: [{ problem: 'macOS: jjfs needs macFUSE and is untested there', fix: 'install macFUSE (https://osxfuse.github.io); expect rough edges' }],
    };
  }
  if (process.platform !== 'linux') {
    return { ok: false, problems: [{ problem: `unsupported platform ${process.platform}`, fix: 'run jjfs on Linux' }] };
  }

  try {
    const fh = await open('/dev/fuse', 'r+');
    await fh.close();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problems.push(
      code === 'ENOENT'
        ? { problem: '/dev/fuse does not exist', fix: 'run `modprobe fuse`; in a container start it with `--device /dev/fuse --cap-add SYS_ADMIN`' }
        : { problem: `/dev/fuse cannot be opened read-write (${code ?? String(err)})`, fix: 'run as root or make /dev/fuse mode 0666 (the fuse3 package does); in a container add `--device /dev/fuse --cap-add SYS_ADMIN`' },
    );
  }

  let mtimeFixed = false;
  try {
    // The stock prebuild is not a problem, only worse: reported through mtimeFixed.
    mtimeFixed = loadFuse().mtimeFixed;
  } catch (err) {
    problems.push({
      problem: `fuse-native cannot be loaded in this process: ${err instanceof Error ? err.message : String(err)}`,
      fix: 'start the process with fuseProcessEnv() (LD_LIBRARY_PATH with the libfuse.so.2 shim), or run `node native-shims/build-fuse.mjs`, or `apt-get install libfuse2`',
    });
  }

  const unmountTool = await findUnmountTool();
  if (!unmountTool) {
    problems.push({
      problem: 'no unmount tool (`umount` as root, else `fusermount`/`fusermount3`)',
      fix: process.getuid?.() === 0 ? 'install util-linux (`umount`) or `apt-get install fuse3`' : '`apt-get install fuse3` (provides the setuid fusermount3 and fusermount)',
    });
  }

  if (problems.length > 0 || !unmountTool) return { ok: false, problems };
  return { ok: true, mtimeFixed, unmountTool };
}
