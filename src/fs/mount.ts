/**
 * One FUSE mount of a jj workspace: a pass-through onto the backing directory.
 *
 * ## Cache and coherence design
 *
 * The backing directory changes underneath the mount: jj rewrites files (unlink + recreate) when
 * the sync engine converges the workspace, and a user may edit it directly. The next open, stat or
 * readdir through the mount must show the new content, size, mtime and existence.
 *
 * ### Kernel caches (`kernelCache`, daemon mounts: `invalidated`)
 * The kernel keeps names and attributes for CACHE_TIMEOUT (60 s, `entry_timeout`,
 * `attr_timeout`) and FuseMount drops ALL names at once whenever the gate says names changed
 * (MountGate.namesChanged): the patched fuse-native writes FUSE_NOTIFY_INC_EPOCH to the FUSE
 * connection (docs/fuse.md, Cache coherence). The gate says so at every release after a jj
 * rewrite — before the lookups and writes that waited are let through — and when the announcer
 * hides, ghosts or settles paths around a replay, or sees a change behind the mount that it does
 * not replay (changes made directly in the backing directory reach it through the watcher).
 * Attributes follow the names:
 * - every path walk after a drop looks each name up again, and the answer refreshes the inode's
 *   attributes (size, mtime, mode, type);
 * - the mount root is never looked up, so its attributes are dropped with the names
 *   (FUSE_NOTIFY_INVAL_INODE for node 1, the one node id the high-level API makes known);
 * - an inode used without a path walk (fstat on an fd kept open across a rewrite) is refreshed by
 *   the announcer's replay of the modification, whose setattr answer carries the new attributes
 *   (announce.ts); until then (milliseconds after the gate opens) fstat shows the old ones;
 * - changes made through the mount itself the kernel tracks on its own.
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
 * - no `kernel_cache`, no `auto_cache` (kernel_cache keeps stale data forever; auto_cache compares
 *   mtimes with the attribute cache's lag). Instead each open says whether the kernel may keep the
 *   file's pages: only when the backing file's device, inode, size, mtime and ctime are what they
 *   were at the previous open of the path (ops-files.ts, "Page cache"); any other open drops them,
 *   so a same-size overwrite — by jj or in place behind the mount — is seen by the next open.
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
 * ### getattr and readdir without the JS thread
 * Every request fuse-native serves crosses from a libfuse thread to the JS main thread and back
 * (~140 µs against ~25 µs answered on the libfuse thread: bench/fuse-bench.mjs --requests).
 * getattr — every LOOKUP and GETATTR, the bulk of a cold `find` or `git status` — readdir, access
 * (but a check for writing, which a read-only view answers EROFS in JS) and statfs are answered on
 * the libfuse thread instead (the patched addon: an lstat, a listing, an access check never
 * following a symlink, or a statvfs of the backing root, shaped exactly as the JS handlers shape
 * them, `.jj` at the root absent) while
 * nothing needs the JS side: the write gate is open (a hold stops them first and waits for the
 * calls already running, MountGate.setBypass) and the announcer pretends nothing about any path
 * (its pretences are for the notifier, whose pid only the JS side checks).
 *
 * ### Open files on the FUSE thread
 * Opens are answered there too, under the same conditions and the same in-flight count as getattr
 * (so a hold waits for them): the same open(2) the JS open makes (O_NOFOLLOW, close-on-exec), the
 * same page decision (a table in the addon both share), and a handle from the addon's own table,
 * numbered from 2^31 up where the JS table's numbers stay below (handles.ts). Reads, fsyncs and
 * the release of such a handle are answered there whatever the gate (reads and fsyncs on handles
 * were never gated); fgetattr as the JS one answers it, by path. Such a handle follows jj's
 * rewrites as a JS handle does: each time the gate opens the mount bumps the addon's generation
 * (`recheckOpenFiles`), and the next use compares the descriptor's inode with the path's and, when
 * jj replaced the file, puts the new file under the same descriptor number (dup3: a request
 * running meanwhile on another libfuse thread uses one file or the other, never a closed
 * descriptor).
 *
 * ### Writes on the FUSE thread
 * Opening for writing, writes and ftruncates on those handles, creates (which then make such a
 * handle), unlinks, rmdirs and renames are answered there only while the gate is open — never on
 * a read-only mount, and no creates where new files are given to their creator (`--allow-other`
 * as root) — inside the same in-flight count, so a hold waits for them as it waits for JS writes;
 * with the gate closed they go to the JS handlers, which wait at the gate and borrow the
 * descriptor (`fuseThreadFile`). The sync engine and the announcer still hear of every such
 * change: the addon notes its path BEFORE it touches the backing directory (for writes on a
 * handle: the first after each gate opening, then at most once a second) and wakes the JS thread,
 * which hands the paths to `onMutation` (a change that failed to `beforeMutation` only, as the JS
 * handlers report only what succeeded). The announcer collects them before it looks at what the
 * backing-dir watcher saw (so a change the watcher reports is always known as the mount's own),
 * and every hold, once the changes running at its start are done, collects them stamped as older
 * than the hold (so jj's change to such a path is still announced as jj's). The notifier's
 * "announce a modification" ftruncate is never applied, as in the JS ftruncate.
 *
 * Writes through a stale handle: jj's rewrites happen inside the write gate (write-gate.ts); after
 * each release the gate's generation moves, and the first read/write on an older handle compares
 * its inode with the path's and reopens the path if jj replaced the file (ops-files.ts).
 *
 * ### Listings
 * On a mount with the caches above, the kernel keeps a directory's listing across opens
 * (FOPEN_CACHE_DIR with FOPEN_KEEP_CACHE), so a repeated `find`, `ls -R` or `rg` sends one OPENDIR
 * and one RELEASEDIR per directory and no READDIR. libfuse 2.9 cannot say either flag for a
 * directory; the patched addon's opendir handler chooses them and its request loop adds them to
 * the OPENDIR answer (native-shims/build-fuse.mjs, jjfs_listing_answer, which gives the reasoning).
 * The rule, per backing directory at every OPENDIR: kept when its device, inode, size, mtime and
 * ctime are what the previous OPENDIR of the path saw, and its ctime was then at least a second
 * old. Any change of its entries — by jj, through the mount, directly in the backing directory —
 * moves the ctime past the recorded one, so the next open reads the listing anew; a directory
 * changed in the last second is not cached at all. Dropping names is not needed for it, so a jj
 * round keeps the listings of directories it did not touch. What the kernel may still serve old:
 * a directory handle kept open across a change behind the mount that rewinds and lists again,
 * until the kernel sees the directory's new mtime (a lookup of it, a change through the mount, the
 * announcer's replay). Not on the fallback, nor with `JJFS_FUSE_LOOP=libfuse` or
 * `JJFS_LISTING_CACHE=off` (nothing adds the flags then). Measured 2026-12-06 with
 * `node bench/fuse-bench.mjs --listings 30` (a repeated `find` with a stat per file over 10k files
 * in 100 directories, two mounts taking turns): median 24.3 ms against 32.8 with
 * `JJFS_LISTING_CACHE=off`, faster in 29 of 30 rounds, 0 listings read per find against 101; the
 * full bench's hot find+stat 18.1 ms against bindfs's 29.1 (README.md, Benchmarks).
 *
 * What is left: every name of a mount is dropped at every jj round while agents write; and every
 * other request (everything while the gate is closed or the announcer replays; mkdir, symlink,
 * link, mknod; attribute changes and truncation by path) pays fuse-native's dispatch: kernel →
 * libfuse thread → JS main thread → back.
 *
 * Cost against the native directory and bindfs (bench/fuse-bench.mjs --runs 3 --variants, one run
 * on 2026-12-02 03:19, ms; all rows in README.md, Benchmarks), as daemon mounts run / without
 * caches (`timeouts`) / bindfs: find+stat 10k cold 479 / 525 / 917, hot 47 / 351 / 79; create
 * 2,000 small files 572 / 643 / 828, read them back 365 / 359 / 478, delete them 156 / 326 / 338;
 * git status 5k cold 126 / 154 / 155, repeated 28 / 121 / 32; first git status after a restart
 * 78 / 123 / 90; 4 KiB append + fsync p50 340 / 297 / 223 µs. One request costs ~15–25 µs on the
 * libfuse thread and ~100–140 µs through the JS thread (--requests).
 *
 * Requests are read by the patched addon's own loop, not libfuse's fuse_loop_mt: ONE worker reads,
 * so a client's next request finds the worker that answered its last one instead of waking another
 * on the other CPU; a worker that stays longer than 1 ms on one request (waiting for the JS thread
 * or on the disk) is replaced by a parked or new one (docs/fuse.md, "Threads and deadlocks";
 * `JJFS_FUSE_LOOP=libfuse` brings libfuse's back). Measured 2026-12-03 against the two-reader loop
 * before it, interleaved: 1,000 fsync'd appends 215 ms against 261 (bindfs 213); 2,000 rewrites of
 * 1 KiB files 476 against 926 (bindfs 469: truncate and utimens, the SETATTR of open(O_TRUNC),
 * now answered on the libfuse thread as well).
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
 * Seconds the kernel may serve an inode's attributes without asking, on a mount without
 * invalidation. 1 s halves the requests of a stat by name (LOOKUP + GETATTR → LOOKUP) and every
 * named access still revalidates; see above.
 */
const ATTR_TIMEOUT = 1;

/**
 * Seconds the kernel keeps names (never "no such name") and attributes of a mount whose
 * invalidation works. Every change jjfs knows of drops them (see above); the timeout only bounds a
 * change it could miss.
 */
const CACHE_TIMEOUT = 60;

/** What the kernel answers a FUSE_NOTIFY_INC_EPOCH write it took: the 16 bytes written. */
const EPOCH_NOTIFY_BYTES = 16;

/** What the kernel answers a FUSE_NOTIFY_INVAL_INODE write it took: the 40 bytes written. */
const ROOT_NOTIFY_BYTES = 40;

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
  /**
   * Called with the workspace-relative path after every successful mutation through the mount;
   * for writes answered on the FUSE thread, soon after and at the latest before the next hold
   * closes the gate, with `before` when they happened before that time (see "Writes on the FUSE
   * thread").
   */
  onMutation?: (relPath: string, before?: number) => void;
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
   * Long kernel caches of names and attributes, dropped at every change the gate hears of (jj
   * rewrites, the announcer's replays); see "Kernel caches" above. Falls back to no caching when the kernel
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
  private stopFuseThreadAnswers: (() => void) | undefined;
  private stopFuseThreadWrites: (() => void) | undefined;

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
      ...(cached ? { entryTimeout: CACHE_TIMEOUT, attrTimeout: CACHE_TIMEOUT } : {}),
      fsname: `jjfs:${path.basename(backingDir)}`,
      ...(readOnly ? { readOnly: true } : {}),
      ...(allowOther ? { allowOther: true, defaultPermissions: true } : {}),
      ...this.opts.options,
    });
    const wantCache = this.opts.kernelCache === true && binding.syscalls !== undefined;
    let fuse = await this.mountWith(createFuse(mountPath, ops, options(wantCache), binding));
    let mode: CacheMode = 'timeouts';
    if (wantCache) {
      // Self-test: the kernel must take both invalidations, or cached names and attributes could
      // go stale. If it does not (an older kernel answers the write with an error), mount again
      // without caches.
      const answer = fuse.invalidateNames();
      const rootAnswer = answer === EPOCH_NOTIFY_BYTES ? fuse.invalidateRootAttributes() : undefined;
      if (rootAnswer === ROOT_NOTIFY_BYTES) mode = 'invalidated';
      else {
        this.log.warn('kernel refused cache invalidation; mounting without long caches', { mountPath, answer, rootAnswer });
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
    if (binding.syscalls) {
      const writes = readOnly === true || refuseWrites === true ? 'off' : allowOther && process.getuid?.() === 0 ? 'files' : 'creates';
      this.stopFuseThreadAnswers = this.answerOnFuseThread(fuse, ops, writes);
    }
    // Listings kept across opens only with the caches and their invalidation: the fallback mounts
    // exactly as before (see "Listings").
    if (mode === 'invalidated') {
      const answer = fuse.cacheListings(true);
      if (answer !== 0) this.log.info('directory listings are not kept by the kernel', { mountPath, answer });
    }
    this.isMounted = true;
    this.log.info('mounted', { mountPath, backingDir, readOnly: readOnly === true || refuseWrites === true, kernelCache: mode });
  }

  /** How the kernel caches this mount's names: long with invalidation, or not at all (fallback). */
  get cacheMode(): CacheMode {
    return this.cache;
  }

  /**
   * How many threads fuse-native set up for this mount's requests so far (each holds a block of
   * thread locals it never frees): at most as many as ever ran at once with jjfs's request loop.
   */
  get threadSetups(): number {
    return this.fuse?._threads?.size ?? 0;
  }

  /**
   * Workers this mount's request loop woke or started to replace a reader that stayed too long on
   * one request (a futex wake or a thread start each); undefined unmounted or without the patched loop.
   */
  get loopHandovers(): number | undefined {
    const n = this.fuse?.loopHandovers() ?? -1;
    return n >= 0 ? n : undefined;
  }

  /**
   * readdir calls this mount answered (a listing the kernel keeps is served without one); undefined
   * unmounted or without the patched build.
   */
  get listingReads(): number | undefined {
    const n = this.fuse?.listingReads() ?? -1;
    return n >= 0 ? n : undefined;
  }

  /**
   * Requests this mount's request loop took on another worker than the request before; undefined
   * unmounted or without the patched loop.
   */
  get loopReaderChanges(): number | undefined {
    const n = this.fuse?.loopReaderChanges() ?? -1;
    return n >= 0 ? n : undefined;
  }

  /**
   * Requests this mount's request loop found while looking for the next one after an answer
   * (native-shims, "the request loop": JJFS_FUSE_SPIN_US); undefined unmounted or without the patched loop.
   */
  get loopSpinCatches(): number | undefined {
    const n = this.fuse?.loopSpinCatches() ?? -1;
    return n >= 0 ? n : undefined;
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

  /**
   * Tells the kernel to forget every cached name of this mount, and the root's attributes (see
   * "Kernel caches" above). Names first: a lookup racing with the two writes fetches fresh
   * attributes either way.
   */
  private dropNames(): void {
    const fuse = this.fuse;
    if (!fuse || !this.isMounted) return;
    const answer = fuse.invalidateNames();
    const rootAnswer = fuse.invalidateRootAttributes();
    if (answer !== EPOCH_NOTIFY_BYTES || rootAnswer !== ROOT_NOTIFY_BYTES) {
      this.log.error('kernel cache invalidation failed', { mountPath: this.opts.mountPath, answer, rootAnswer });
    }
  }

  /**
   * getattr, readdir and files without the JS thread (see above): allowed while the gate is open
   * and the announcer pretends nothing; `writes`: what of writing may be answered there (nothing on
   * a read-only mount; no creates where new files must be given to their creator). Returns what
   * turns it off for good.
   */
  private answerOnFuseThread(fuse: FuseInstance, ops: PassthroughOps, writes: 'off' | 'files' | 'creates'): (() => void) | undefined {
    const { backingDir, gate, announce, onMutation, beforeMutation } = this.opts;
    const rooted = fuse.serveFromFuseThread(backingDir);
    if (rooted !== 0) {
      this.log.warn('getattr and readdir stay on the JS thread', { mountPath: this.opts.mountPath, answer: rooted });
      return undefined;
    }
    ops.useFuseThreadFiles((fh, p) => fuse.fuseThreadFile(fh, p));
    // Paths changed on the FUSE thread reach onMutation here, each once per take (see "Writes on
    // the FUSE thread"); `before`: they were changed before that time (a hold's). A change that
    // failed reaches beforeMutation only, as from the JS handlers.
    const collect = (before?: number): void => {
      const { changed, failed } = fuse.takeFuseThreadChanges();
      const report = (paths: string[], to: ((rel: string) => void) | undefined): void => {
        for (const p of new Set(paths)) {
          // Also called straight from the addon's wake-up, where a throw would end the process.
          try {
            to?.(p.slice(1));
          } catch (error) {
            this.log.error('mutation listener threw', { path: p, error: (error as Error).message });
          }
        }
      };
      report(changed, onMutation && ((rel) => onMutation(rel, before)));
      report(failed, beforeMutation);
    };
    if (writes !== 'off') {
      const answer = fuse.writeOnFuseThread(writes, ops.umask, () => collect());
      if (answer !== 0) this.log.warn('writes stay on the JS thread', { mountPath: this.opts.mountPath, answer });
      else this.stopFuseThreadWrites = () => fuse.writeOnFuseThread('off', ops.umask, () => undefined);
    }
    let gateOpen = false;
    let pretending = (announce?.pending ?? 0) > 0;
    const apply = (): number => fuse.allowFuseThreadAnswers(gateOpen && !pretending);
    // A hold stops the answers before it drains; the pretence stops them before the notifier is
    // told to replay (both synchronous, on this thread, ahead of what they guard).
    gate.setBypass({
      stop: () => {
        gateOpen = false;
        return apply();
      },
      running: apply,
      collect,
      resume: () => {
        // Before any answer there may run again: jj may have replaced files under open handles.
        fuse.recheckOpenFiles();
        gateOpen = true;
        apply();
      },
    });
    const unwatch = announce?.onPendingChange((pending) => {
      pretending = pending;
      apply();
    });
    return () => {
      unwatch?.();
      gate.setBypass(undefined);
      gateOpen = false;
      apply();
    };
  }

  /** Makes every further mutation through this mount fail with EROFS (before closing it). */
  freeze(): void {
    // The FUSE thread first: a write it no longer takes queues for the JS thread, behind this call.
    this.stopFuseThreadWrites?.();
    this.stopFuseThreadWrites = undefined;
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
    this.stopFuseThreadAnswers?.();
    this.stopFuseThreadAnswers = undefined;
    await new Promise<void>((resolve, reject) => {
      fuse.unmount((err) => (err ? reject(err) : resolve()));
    });
    this.isMounted = false;
    this.fuse = null;
    this.log.info('unmounted', { mountPath: this.opts.mountPath });
  }
}
