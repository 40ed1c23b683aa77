/**
 * One FUSE mount of a jj workspace: a pass-through onto the backing directory.
 *
 * ## Cache and coherence design
 *
 * The backing directory changes underneath the mount: jj rewrites files (unlink + recreate) when
 * the sync engine converges the workspace, and a user may edit it directly. The next open, stat or
 * readdir through the mount must show the new content, size, mtime and existence.
 *
 * ### Kernel name caches (`kernelCache`, daemon mounts: `invalidated`)
 * The kernel keeps names for NAME_CACHE_TIMEOUT (60 s, `entry_timeout`) and FuseMount drops ALL
 * of them at once whenever the gate says names changed (MountGate.namesChanged): the patched
 * fuse-native writes FUSE_NOTIFY_INC_EPOCH to the FUSE connection (docs/fuse.md, Invalidation).
 * The gate says so at every release after a jj rewrite — before the lookups and writes that
 * waited are let through — and when the announcer hides, ghosts or settles paths around a replay
 * (also for changes made directly in the backing directory: the watcher tells the announcer).
 * A re-lookup brings fresh attributes with it. Attributes stay `attr_timeout=1` (an open file's
 * are only refreshed by a lookup or the timeout: fstat on an fd kept across a rewrite).
 * "No such name" is NOT cached (`negative_timeout=0`): the announcer hides a name only from its
 * notifier, so a replay can raise a creation, and the kernel's dentry cache is shared — a cached
 * ENOENT of the notifier's would hide the file from every process until the replay settled
 * (session 5's failures with negatives cached: a read right after `jjfs sync` missed a file, a
 * subtree write missed its directory). Caching negatives bought little (bench/fuse-bench.mjs
 * --variants, "positive-cache" against "name-cache"). What is left: a ghost (a name jj deleted,
 * shown to the notifier only, so that it can replay the unlink) is cached from the notifier's
 * lookup until its unlink, microseconds to a millisecond in which another process could see it.
 * Self-test at mount: a kernel that refuses the first invalidation gets the mount again without
 * name caches (`timeouts`); `JJFS_KERNEL_CACHE=off` makes the daemon mount every live mount so.
 * Read-only mounts of a past state (`--at`) never change and are mounted without.
 *
 * ### Without invalidation (`timeouts`)
 * - `entry_timeout=0`: every path walk revalidates the final dentry with a LOOKUP, which returns
 *   fresh attributes (the kernel applies them: size, mtime, type). Deleted files vanish at once, a
 *   file replaced by a directory gets a new inode (no EIO), a grown file is not read short.
 * - `attr_timeout=ATTR_TIMEOUT`: see `DEFAULT_OPTIONS`. Every open and every stat by name goes
 *   through the LOOKUP above, so the attribute cache only serves calls on an inode without a
 *   path walk (fstat on an open fd, stat of the mount root).
 * - `negative_timeout=0`: a file created in the backing dir is visible at once.
 *
 * ### Both
 * - no `kernel_cache`, no `auto_cache`: without keep_cache the kernel drops the page cache of a
 *   file at every open, so a same-size overwrite is seen by the next open. (kernel_cache keeps
 *   stale data forever; auto_cache compares mtimes with a 1 s attr lag.)
 * - no `direct_io`: it would make even open readers coherent, but breaks shared mmap (SQLite WAL,
 *   some build tools) and costs the page cache entirely. A reader that keeps a file open across an
 *   external rewrite sees the old inode: that is Unix semantics for unlink + recreate anyway.
 * - `use_ino`: real inode numbers (git's index stays valid across remounts; readdir reports them).
 * - `big_writes`: 128 KiB writes instead of 4 KiB (16x faster sequential writes).
 * - `hard_remove`: no `.fuse_hidden*` files in the backing dir (the sync engine would see them).
 *   Cost: a file unlinked while open through the mount can no longer be read through that handle
 *   (libfuse 2.9 has no path for it and answers ENOENT).
 * - Times carry nanoseconds (patched build): git's index matches, the first `git status` after a
 *   mount or a restart re-hashes nothing.
 *
 * Writes through a stale handle: jj's rewrites happen inside the write gate (write-gate.ts); after
 * each release the gate's generation moves, and the first read/write on an older handle compares
 * its inode with the path's and reopens the path if jj replaced the file (ops-files.ts).
 *
 * What is left: long attribute caches need per-inode invalidation
 * (`fuse_lowlevel_notify_inval_inode`), which takes libfuse's private node ids; and every request
 * that still reaches us pays fuse-native's round trip (~90 µs: kernel → libfuse thread → JS main
 * thread → libuv pool → back).
 *
 * Cost against the native directory and bindfs (bench/fuse-bench.mjs --variants, one run of 3 on
 * 2026-12-01, ms; all rows in README.md, Benchmarks), without name caches / with them (as daemon
 * mounts run) / bindfs: git status 5k files repeated 520 / 165 / 35; delete 2,000 files 907 / 410
 * / 338; first git status after a restart 569 / 438 / 83; find+stat 10k hot 1,776 / 1,724 / 82
 * (attributes still expire after 1 s, and readdir is never cached).
 */
import path from 'node:path';
import type { Logger } from '../log.js';
import { createFuse, loadFuse } from './fuse-loader.js';
import type { MountOptions } from './fuse-options.js';
import type { FuseInstance } from './fuse-types.js';
import { clearStaleMount } from './unmount.js';
import { createPassthroughOps, type PassthroughOps } from './passthrough.js';
import type { AnnounceState } from './announce.js';
import type { MountGate } from './write-gate.js';

/**
 * Seconds the kernel may serve an inode's attributes without asking. 1 s halves the requests of a
 * stat by name (LOOKUP + GETATTR → LOOKUP) and every named access still revalidates; see above.
 */
const ATTR_TIMEOUT = 1;

/**
 * Seconds the kernel keeps names (never "no such name") of a mount whose invalidation works. Every
 * change jjfs knows of drops them at once; the timeout only bounds a change it could miss.
 */
const NAME_CACHE_TIMEOUT = 60;

/** What the kernel answers a FUSE_NOTIFY_INC_EPOCH write it took: the 16 bytes written. */
const EPOCH_NOTIFY_BYTES = 16;

/** How the kernel caches a mount's names: `invalidated` (long, dropped at every change) or `timeouts` (not at all). */
export type CacheMode = 'invalidated' | 'timeouts';

/** The mount options jjfs uses unless a caller overrides them. */
const DEFAULT_OPTIONS: Readonly<MountOptions> = {
  entryTimeout: 0,
  attrTimeout: ATTR_TIMEOUT,
  negativeTimeout: 0,
  bigWrites: true,
  useIno: true,
  hardRemove: true,
  subtype: 'jjfs',
  force: true,
  // Device nodes made in a mount (mknod) open only on a mount without `nodev`, which libfuse sets
  // unless told otherwise. Only root may mount with `dev`; making a device node still needs
  // CAP_MKNOD in the calling process (the kernel checks it before the request reaches us).
  dev: process.getuid?.() === 0,
};

export interface FuseMountOptions {
  /** Where the mount appears (an existing, empty directory). */
  mountPath: string;
  /** The jj workspace directory served through the mount. */
  backingDir: string;
  /** Mounted read-only by the kernel (`ro`): a past state (`open --at`). */
  readOnly?: boolean;
  /**
   * Every write answers EROFS from the pass-through while the kernel mount stays read-write, so
   * the notifier can still replay synced changes as events (a live read-only view).
   */
  refuseWrites?: boolean;
  gate: MountGate;
  log: Logger;
  /** Called with the workspace-relative path after every successful mutation through the mount. */
  onMutation?: (relPath: string) => void;
  /** Called with the workspace-relative path just before a mutation touches the backing dir. */
  beforeMutation?: (relPath: string) => void;
  /** Hidden/ghost paths while synced changes are replayed as events (see announce.ts). */
  announce?: AnnounceState;
  /**
   * Other local users may use the mount (`open --allow-other`): `allow_other` with
   * `default_permissions`, so the kernel checks every access against modes and owners as on any
   * file system; new files belong to their creator when the daemon runs as root (it can chown).
   */
  allowOther?: boolean;
  /**
   * Long kernel caches of names, dropped at every change the gate hears of (jj rewrites, the
   * announcer's replays); see "Kernel name caches" above. Falls back to no caching when the kernel
   * refuses the invalidation.
   */
  kernelCache?: boolean;
  /** Overrides of {@link DEFAULT_OPTIONS} (tests, benchmarks). */
  options?: Partial<MountOptions>;
  /**
   * Runs after a stale mount was cleared and right before mounting, while the mount point is a
   * plain directory (the daemon uses it to rescue files written there while nothing was mounted).
   */
  beforeMount?: () => Promise<void>;
}

/** The mount point is already a mount (another jjfs, or anything else). */
export class MountpointInUseError extends Error {
  override readonly name = 'MountpointInUseError';
  constructor(readonly mountPath: string) {
    super(
      `Mountpoint in use: ${mountPath} is already a mount point. ` +
        `Unmount it first (\`umount -l ${mountPath}\` as root, else \`fusermount -uz ${mountPath}\`) ` +
        'or choose another directory.',
    );
  }
}

/** A FUSE pass-through mount of one backing directory. */
export class FuseMount {
  private readonly opts: FuseMountOptions;
  private readonly log: Logger;
  private fuse: FuseInstance | null = null;
  private ops: PassthroughOps | null = null;
  private isMounted = false;
  private cache: CacheMode = 'timeouts';
  private stopInvalidating: (() => void) | undefined;

  constructor(opts: FuseMountOptions) {
    this.opts = { ...opts, mountPath: path.resolve(opts.mountPath), backingDir: path.resolve(opts.backingDir) };
    this.log = opts.log;
  }

  /** True between a successful `mount()` and `unmount()`. */
  get mounted(): boolean {
    return this.isMounted;
  }

  /**
   * Mounts. Clears a stale mount left by a dead process at the mount point first; rejects with
   * {@link MountpointInUseError} when a live mount is there.
   */
  async mount(): Promise<void> {
    if (this.isMounted) return;
    const { mountPath, backingDir, readOnly, refuseWrites, gate, log, onMutation, beforeMutation, announce, allowOther } = this.opts;
    const cleared = await clearStaleMount(mountPath);
    if (cleared) this.log.warn('cleared a stale mount (its process had died)', { mountPath });
    await this.opts.beforeMount?.();
    const binding = loadFuse();
    const ops = createPassthroughOps({
      root: backingDir,
      ...(binding.syscalls ? { sys: binding.syscalls } : {}),
      ...(allowOther && process.getuid?.() === 0 ? { creatorOwns: true } : {}),
      readOnly: readOnly === true || refuseWrites === true,
      gate,
      log,
      ...(onMutation ? { onMutation } : {}),
      ...(announce ? { announce } : {}),
      ...(beforeMutation ? { beforeMutation } : {}),
    });
    const options = (cached: boolean): MountOptions => ({
      ...DEFAULT_OPTIONS,
      ...(cached ? { entryTimeout: NAME_CACHE_TIMEOUT } : {}),
      fsname: `jjfs:${path.basename(backingDir)}`,
      ...(readOnly ? { readOnly: true } : {}),
      ...(allowOther ? { allowOther: true, defaultPermissions: true } : {}),
      ...this.opts.options,
    });
    const wantCache = this.opts.kernelCache === true && binding.syscalls !== undefined;
    let fuse = await this.mountWith(createFuse(mountPath, ops, options(wantCache), binding));
    let mode: CacheMode = 'timeouts';
    if (wantCache) {
      // Self-test: the kernel must take the invalidation, or cached names could go stale. If it
      // does not (an older kernel answers the write with an error), mount again without caches.
      const answer = fuse.invalidateNames();
      if (answer === EPOCH_NOTIFY_BYTES) mode = 'invalidated';
      else {
        this.log.warn('kernel refused name invalidation; mounting without long caches', { mountPath, answer });
        const refused = fuse;
        await new Promise<void>((resolve) => refused.unmount(() => resolve()));
        fuse = await this.mountWith(createFuse(mountPath, ops, options(false), binding));
      }
    }
    this.fuse = fuse;
    this.ops = ops;
    this.cache = mode;
    // Every release of a jj rewrite (and every replay the announcer prepares) drops the kernel's
    // cached names, before waiting lookups are let through (write-gate.ts).
    if (mode === 'invalidated') this.stopInvalidating = gate.onNamesChanged(() => this.dropNames());
    this.isMounted = true;
    this.log.info('mounted', { mountPath, backingDir, readOnly: readOnly === true || refuseWrites === true, kernelCache: mode });
  }

  /** How the kernel caches this mount's names: long with invalidation, or not at all (fallback). */
  get cacheMode(): CacheMode {
    return this.cache;
  }

  private async mountWith(fuse: FuseInstance): Promise<FuseInstance> {
    const { mountPath, backingDir } = this.opts;
    await new Promise<void>((resolve, reject) => {
      fuse.mount((err) => {
        if (!err) return resolve();
        if (/Mountpoint in use/i.test(err.message)) return reject(new MountpointInUseError(mountPath));
        reject(new Error(`cannot mount ${backingDir} at ${mountPath}: ${err.message}`, { cause: err }));
      });
    });
    return fuse;
  }

  /** Tells the kernel to forget every cached name of this mount (see "Kernel caches" above). */
  private dropNames(): void {
    const fuse = this.fuse;
    if (!fuse || !this.isMounted) return;
    const answer = fuse.invalidateNames();
    if (answer !== EPOCH_NOTIFY_BYTES) this.log.error('kernel cache invalidation failed', { mountPath: this.opts.mountPath, answer });
  }

  /** Makes every further mutation through this mount fail with EROFS (before closing it). */
  freeze(): void {
    this.ops?.freeze();
  }

  /**
   * Unmounts lazily: the mount disappears from the namespace at once even while a shell or an
   * editor is inside it; processes inside keep being served (and their handles stay open) until
   * they leave.
   */
  async unmount(): Promise<void> {
    const fuse = this.fuse;
    if (!fuse || !this.isMounted) return;
    // No invalidation from here on: the connection is going away.
    this.stopInvalidating?.();
    this.stopInvalidating = undefined;
    await new Promise<void>((resolve, reject) => {
      fuse.unmount((err) => (err ? reject(err) : resolve()));
    });
    this.isMounted = false;
    this.fuse = null;
    this.log.info('unmounted', { mountPath: this.opts.mountPath });
  }
}
