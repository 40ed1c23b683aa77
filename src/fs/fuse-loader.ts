/**
 * Loads fuse-native (preferring the patched build from native-shims/build-fuse.mjs) and adapts its
 * class to jjfs: the whole `-o` list built from {@link MountOptions} (fuse-options.ts), utimens
 * times decoded (utimens.ts), and its static `unmount` replaced by ours.
 *
 * Facts this relies on (docs/fuse.md):
 * - The stock prebuild needs `libfuse.so.2`, absent on a bare Debian 12. The patched build carries
 *   its own copy next to the addon (rpath $ORIGIN). For the stock prebuild, the process must be
 *   STARTED with LD_LIBRARY_PATH pointing at a shim dir: see `fuseProcessEnv` (fuse-env.ts).
 * - fuse-native's `_close` shells out to `fusermount -uz`, missing on machines without fuse3; we
 *   replace its static `unmount` with ours (`umount -l` as root).
 *
 * The types live in fuse-types.ts, the options in fuse-options.ts, the process environment in
 * fuse-env.ts and the preflight in fuse-preflight.ts.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';
import { fuseOptionList, type MountOptions } from './fuse-options.js';
import type { FuseBinding, FuseConstructor, FuseErrnos, FuseInstance, FuseOps, FuseTime, NativeSyscalls } from './fuse-types.js';
import { unmount } from './unmount.js';
import { decodeStockMs, decodeTimespec } from './utimens.js';


/** What fuse-native's module exports, as far as we touch it. */
interface RawFuseClass extends FuseErrnos {
  new (mnt: string, ops: FuseOps, opts?: Record<string, unknown>): RawFuseInstance;
  unmount(mnt: string, cb: (err: Error | null) => void): void;
}
interface RawFuseInstance extends FuseInstance {
  ops: FuseOps;
}
type Signal = (err: number) => void;
type BufferSignal = (errOrLength: number, buffer: ArrayBufferLike) => void;

/** What a getxattr/listxattr answer means for a caller's buffer of `into.length` bytes. */
function sized(err: number, value: Buffer | undefined, into: Buffer, errnos: FuseErrnos): [number, ArrayBufferLike] {
  if (err !== 0 || !value) return [err !== 0 ? err : errnos.ENODATA, into.buffer];
  if (into.length === 0) return [value.length, into.buffer];
  if (value.length > into.length) return [errnos.ERANGE, into.buffer];
  value.copy(into);
  return [value.length, into.buffer];
}

/** Where native-shims/build-fuse.mjs puts the patched copy. */
const patchedFuseDir = path.join(PACKAGE_ROOT, 'native-shims', 'build', 'fuse-native');

/** Replaces fuse-native's `fusermount -uz` (absent without fuse3) by our tool choice. */
function installUnmount(Base: RawFuseClass): void {
  Base.unmount = (mnt, cb) => {
    unmount(mnt, { lazy: true }).then(
      () => cb(null),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
  };
}

function subclass(Base: RawFuseClass, mtimeFixed: boolean, sys?: NativeSyscalls): FuseConstructor {
  class JjfsFuse extends Base {
    readonly jjfsOptions: MountOptions;
    constructor(mountPath: string, ops: FuseOps, opts: MountOptions = {}) {
      // Only the options fuse-native's constructor reads itself; the rest go through _fuseOptions.
      super(mountPath, ops, { force: opts.force ?? false, mkdir: opts.mkdir ?? false });
      this.jjfsOptions = opts;
      fuseOptionList(opts); // validate now, not at mount time
    }

    /**
     * Calls `call` with fuse-native's per-mount thread state (set while mounted; the addon checks
     * it is mounted), or answers `otherwise` without the patched build or before mounting.
     */
    private withThread<T>(otherwise: T, call: (s: NativeSyscalls, thread: Buffer) => T): T {
      const thread = (this as unknown as { _thread?: Buffer | null })._thread;
      return sys && thread ? call(sys, thread) : otherwise;
    }

    /** {@inheritDoc FuseInstance.invalidateNames} */
    invalidateNames(): number {
      return this.withThread(Base.ENOSYS, (s, t) => s.incEpoch(t));
    }

    /** {@inheritDoc FuseInstance.invalidateRootAttributes} */
    invalidateRootAttributes(): number {
      return this.withThread(Base.ENOSYS, (s, t) => s.invalRootAttrs(t));
    }

    /** {@inheritDoc FuseInstance.serveFromFuseThread} */
    serveFromFuseThread(root: string): number {
      return this.withThread(Base.ENOSYS, (s, t) => s.fastRoot(t, root));
    }

    /** {@inheritDoc FuseInstance.allowFuseThreadAnswers} */
    allowFuseThreadAnswers(on: boolean): number {
      return this.withThread(0, (s, t) => s.fastAllow(t, on ? 1 : 0));
    }

    /** {@inheritDoc FuseInstance.recheckOpenFiles} */
    recheckOpenFiles(): number {
      return this.withThread(Base.ENOSYS, (s, t) => s.fastRecheck(t));
    }

    /** {@inheritDoc FuseInstance.loopHandovers} */
    loopHandovers(): number {
      return this.withThread(Base.ENOSYS, (s, t) => s.loopHandovers?.(t) ?? Base.ENOSYS);
    }

    /** {@inheritDoc FuseInstance.loopSpinCatches} */
    loopSpinCatches(): number {
      return this.withThread(Base.ENOSYS, (s, t) => s.loopSpinCatches?.(t) ?? Base.ENOSYS);
    }

    /** {@inheritDoc FuseInstance.loopReaderChanges} */
    loopReaderChanges(): number {
      return this.withThread(Base.ENOSYS, (s, t) => s.loopReaderChanges?.(t) ?? Base.ENOSYS);
    }

    /** {@inheritDoc FuseInstance.cacheListings} */
    cacheListings(on: boolean): number {
      return this.withThread(Base.ENOSYS, (s, t) => s.cacheListings?.(t, on ? 1 : 0) ?? Base.ENOSYS);
    }

    /** {@inheritDoc FuseInstance.listingReads} */
    listingReads(): number {
      return this.withThread(Base.ENOSYS, (s, t) => s.listingReads?.(t) ?? Base.ENOSYS);
    }

    /** {@inheritDoc FuseInstance.writeOnFuseThread} */
    writeOnFuseThread(mode: 'off' | 'files' | 'creates', umask: number, wake: () => void): number {
      const level = mode === 'creates' ? 2 : mode === 'files' ? 1 : 0;
      return this.withThread(Base.ENOSYS, (s, t) => s.fastWrites(t, level, umask, wake));
    }

    /** {@inheritDoc FuseInstance.takeFuseThreadChanges} */
    takeFuseThreadChanges(): { changed: string[]; failed: string[] } {
      const [changed, failed] = this.withThread<[string[], string[]]>([[], []], (s, t) => s.fastTakeNotes(t));
      return { changed, failed };
    }

    /** {@inheritDoc FuseInstance.fuseThreadFile} */
    fuseThreadFile(fh: number, path: string): number {
      return this.withThread(Base.EBADF, (s, t) => s.fastFile(t, fh, path));
    }

    /** Overrides fuse-native: builds the whole `-o` list from MountOptions. */
    _fuseOptions(): string {
      const list = fuseOptionList(this.jjfsOptions);
      return list.length > 0 ? `-o${list.join(',')}` : '';
    }

    /**
     * Overrides fuse-native, whose wrapper copies a value into the caller's buffer whatever its
     * size and answers the full length (libfuse would then send more bytes than the buffer has).
     * Here: size 0 asks for the length; a buffer too small gets ERANGE, as getxattr(2) says.
     */
    _op_getxattr(signal: BufferSignal, p: string, name: string, valueBuf: Buffer): void {
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called as handler.call(this.ops, …) below
      const handler = this.ops.getxattr;
      if (!handler) return signal(Base.ENOSYS, valueBuf.buffer);
      handler.call(this.ops, p, name, (err, value) => signal(...sized(err, value, valueBuf, Base)));
    }

    /** Overrides fuse-native (which pads the length for macOS): the same size rules as getxattr. */
    _op_listxattr(signal: BufferSignal, p: string, listBuf: Buffer): void {
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called as handler.call(this.ops, …) below
      const handler = this.ops.listxattr;
      if (!handler) return signal(Base.ENOSYS, listBuf.buffer);
      handler.call(this.ops, p, (err, list) => signal(...sized(err, list, listBuf, Base)));
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

/** The jjfs exports of the patched addon (native-shims/build-fuse.mjs); absent ones are undefined. */
interface RawAddon {
  jjfs_caller_pid?: () => number;
  jjfs_caller_uid?: () => number;
  jjfs_caller_gid?: () => number;
  jjfs_mknod?: NativeSyscalls['mknod'];
  jjfs_utimens?: NativeSyscalls['utimens'];
  jjfs_inc_epoch?: NativeSyscalls['incEpoch'];
  jjfs_loop_handovers?: NativeSyscalls['loopHandovers'];
  jjfs_loop_reader_changes?: NativeSyscalls['loopReaderChanges'];
  jjfs_loop_spin_catches?: NativeSyscalls['loopSpinCatches'];
  jjfs_cache_listings?: NativeSyscalls['cacheListings'];
  jjfs_listing_reads?: NativeSyscalls['listingReads'];
  jjfs_inval_root_attrs?: NativeSyscalls['invalRootAttrs'];
  jjfs_list_dir?: NativeSyscalls['listDir'];
  jjfs_fast_root?: NativeSyscalls['fastRoot'];
  jjfs_fast_allow?: NativeSyscalls['fastAllow'];
  jjfs_fast_recheck?: NativeSyscalls['fastRecheck'];
  jjfs_keep_pages_of?: NativeSyscalls['keepPages'];
  jjfs_fast_writes?: NativeSyscalls['fastWrites'];
  jjfs_fast_take_notes?: NativeSyscalls['fastTakeNotes'];
  jjfs_fast_file?: NativeSyscalls['fastFile'];
  jjfs_lsetxattr?: NativeSyscalls['lsetxattr'];
  jjfs_lgetxattr?: NativeSyscalls['lgetxattr'];
  jjfs_llistxattr?: NativeSyscalls['llistxattr'];
  jjfs_lremovexattr?: NativeSyscalls['lremovexattr'];
  jjfs_syscalls_patch?: number;
}

/** The syscall functions, when this build has all of them (an older patched build has none). */
function nativeSyscalls(raw: RawAddon): NativeSyscalls | undefined {
  const { jjfs_mknod: mknod, jjfs_utimens: utimens, jjfs_caller_uid: callerUid, jjfs_caller_gid: callerGid } = raw;
  const { jjfs_lsetxattr: lsetxattr, jjfs_lgetxattr: lgetxattr, jjfs_llistxattr: llistxattr, jjfs_lremovexattr: lremovexattr } = raw;
  if (raw.jjfs_syscalls_patch !== 4 || !mknod || !utimens || !callerUid || !callerGid) return undefined;
  const { jjfs_inc_epoch: incEpoch, jjfs_inval_root_attrs: invalRootAttrs, jjfs_list_dir: listDir } = raw;
  const { jjfs_fast_root: fastRoot, jjfs_fast_allow: fastAllow, jjfs_fast_recheck: fastRecheck, jjfs_keep_pages_of: keepPages } = raw;
  if (!lsetxattr || !lgetxattr || !llistxattr || !lremovexattr || !incEpoch || !invalRootAttrs || !listDir) return undefined;
  const { jjfs_fast_writes: fastWrites, jjfs_fast_take_notes: fastTakeNotes, jjfs_fast_file: fastFile } = raw;
  if (!fastRoot || !fastAllow || !fastRecheck || !keepPages || !fastWrites || !fastTakeNotes || !fastFile) return undefined;
  // The caller ids are uid_t/gid_t carried as int32: (uid_t)-1 would read -1, others as they are.
  return {
    mknod, utimens, lsetxattr, lgetxattr, llistxattr, lremovexattr, incEpoch, invalRootAttrs, listDir, fastRoot, fastAllow,
    fastRecheck, keepPages, fastWrites, fastTakeNotes, fastFile,
    ...(raw.jjfs_loop_handovers ? { loopHandovers: raw.jjfs_loop_handovers } : {}),
    ...(raw.jjfs_loop_reader_changes ? { loopReaderChanges: raw.jjfs_loop_reader_changes } : {}),
    ...(raw.jjfs_loop_spin_catches ? { loopSpinCatches: raw.jjfs_loop_spin_catches } : {}),
    ...(raw.jjfs_cache_listings ? { cacheListings: raw.jjfs_cache_listings } : {}),
    ...(raw.jjfs_listing_reads ? { listingReads: raw.jjfs_listing_reads } : {}),
    callerUid: () => callerUid() >>> 0,
    callerGid: () => callerGid() >>> 0,
  };
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
      const raw = (req('node-gyp-build') as (dir: string) => RawAddon)(patchedFuseDir);
      const syscalls = nativeSyscalls(raw);
      return {
        Fuse: subclass(Base, true, syscalls),
        mtimeFixed: true,
        source: 'patched',
        ...(typeof raw.jjfs_caller_pid === 'function' ? { callerPid: raw.jjfs_caller_pid } : {}),
        ...(syscalls ? { syscalls } : {}),
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
