/**
 * The pass-through operations of a jjfs mount: every FUSE operation on `/x` is the same operation
 * on `<root>/x`, with three twists:
 *  - `.jj` at the root is invisible (lookups: ENOENT; creating it: EPERM), so nothing in the mount
 *    can corrupt the workspace's jj metadata;
 *  - every mutation runs inside the mount's write gate and, once it succeeded, reports the path to
 *    `onMutation` (the sync engine's dirty signal);
 *  - read-only mounts answer EROFS to every mutation.
 *
 * Handlers never use synchronous fs and never wait on anything slow (a FUSE request blocks a
 * kernel thread and the caller; fuse-native times out after 15 s). The only wait is the bounded
 * one in the write gate.
 *
 * fuse-native call conventions (checked against its index.js / fuse-native.c 2.2.6):
 *  - callbacks take a negative errno or 0 first; read/write answer the byte count in that slot;
 *  - open/create answer `(0, handle)`, and a handle of 0 is not stored, so handles start at 1;
 *  - offsets and sizes arrive as two uint32 halves recombined into a double: exact up to 2^53;
 *  - fsync is `(path, datasync, fd, cb)`; fgetattr is routed to `getattr` by fuse-native;
 *  - readdir may answer `(0, names, stats)`; with `use_ino` the stats must carry non-zero inode
 *    numbers or glibc drops the entries, so every entry is lstat'ed;
 *  - utimens gets times decoded by our loader (fuse-loader.ts, utimens.ts), not fuse-native's milliseconds.
 *
 * Deliberately not implemented: `flush` (our writes go straight to the backing file, there is
 * nothing to flush, and leaving it out lets the kernel skip one round trip per close(2));
 * `opendir`/`releasedir` (readdir works by path); `mknod` (Node cannot create FIFOs/devices: ENOSYS);
 * xattrs (ENOSYS, which the kernel remembers; cp -a and tar carry on without them).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { MountGate } from './write-gate.js';
import { ANNOUNCE_SIZE, AnnounceState } from './announce.js';
import { HandleTable } from './handles.js';
import { Errno, toErrno, toFuseStat } from './ops-errno.js';
import { fileOps, type Cb, type FileContext } from './ops-files.js';
import type { FuseOps, FuseStat, FuseTime } from './fuse-types.js';

export interface PassthroughOptions {
  /** Backing directory (the jj workspace). */
  root: string;
  readOnly?: boolean;
  gate: MountGate;
  /** Called with the path relative to `root` (no leading slash) after every successful mutation. */
  onMutation?: (relPath: string) => void;
  /**
   * Called with the same paths just BEFORE a mutation touches the backing dir: the backing-dir
   * watcher may report the change before the operation's own completion callback runs, and the
   * announcer must already know the change is the mount's own (see mount-announcer.ts).
   */
  beforeMutation?: (relPath: string) => void;
  log: Logger;
  /** Paths hidden or ghosted while synced changes are replayed as events (see announce.ts). */
  announce?: AnnounceState;
}

export interface StatfsResult {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

/** The operations object handed to fuse-native, plus the handle table (for tests and unmount). */
export type PassthroughOps = ReturnType<typeof createPassthroughOps>;

const HIDDEN = '/.jj';
const U32 = 0xffffffff;

/**
 * Seconds for fs.lutimes that land on the intended microsecond. Node passes a double to libuv,
 * which truncates to whole microseconds: 1273129689.123 is stored as ...089.122999, so half a
 * microsecond is added (a double near 2^31 s resolves ~0.24 µs). Sub-microsecond digits are lost
 * (libuv's limit); fuse-native reports times in whole milliseconds anyway.
 */
function timeToSeconds(t: FuseTime, currentNs: bigint, nowSec: number): number {
  const exact = (sec: number, nsec: number): number => sec + (Math.floor(nsec / 1000) * 1000 + 500) / 1e9;
  switch (t.kind) {
    case 'set':
      return exact(t.sec, t.nsec);
    case 'now':
      return nowSec;
    case 'omit':
      return exact(Number(currentNs / 1_000_000_000n), Number(currentNs % 1_000_000_000n));
  }
}

/** Creates the fuse-native operations for a pass-through onto `opts.root`. */
export function createPassthroughOps(opts: PassthroughOptions) {
  const root = path.resolve(opts.root);
  const { gate, log } = opts;
  // `readOnly` for mounts of a past state; `frozen` once the mount is being closed, so that a
  // process still inside after the (lazy) unmount gets EROFS instead of writing into a workspace
  // that is about to be recorded and deleted.
  let frozen = opts.readOnly === true;
  const onMutation = opts.onMutation;
  const announce = opts.announce ?? new AnnounceState(() => false);
  const handles = new HandleTable();
  // Read once: the kernel already applied the caller's umask to create/mkdir modes, and ours
  // would strip bits a second time (see create/mkdir). process.umask() without an argument is only
  // documentation-deprecated; it is called once per mount.
  const umask = process.umask();

  const full = (p: string): string => (p === '/' ? root : root + p);
  const hidden = (p: string): boolean => p === HIDDEN || p.startsWith(HIDDEN + '/');
  const rel = (p: string): string => p.slice(1);

  function mutate(op: string, paths: string[], cb: Cb, work: (done: (err: unknown) => void) => void): void {
    if (frozen) return cb(Errno.EROFS);
    const run = (leave: () => void): void => {
      let finished = false;
      const done = (err: unknown): void => {
        if (finished) return;
        finished = true;
        leave();
        if (err) return cb(toErrno(err, log, op, paths[0] ?? ''));
        if (onMutation) {
          for (const p of paths) {
            try {
              onMutation(rel(p));
            } catch (e) {
              log.error('onMutation threw', { op, path: p, err: e });
            }
          }
        }
        cb(0);
      };
      if (opts.beforeMutation) for (const p of paths) opts.beforeMutation(rel(p));
      try {
        work(done);
      } catch (e) {
        done(e);
      }
    };
    const leave = gate.tryEnter();
    if (leave) return run(leave);
    gate.enter().then(run, (e: unknown) => cb(toErrno(e, log, op, paths[0] ?? '')));
  }

  /**
   * Runs a path lookup inside the gate without reporting a mutation. While jj rewrites the
   * workspace (gate held) a lookup or open could see it half-written — a file between jj's unlink
   * and its re-creation answers ENOENT — so those wait (bounded) like writes do. Reads and writes
   * on open handles need no gate: a handle keeps its inode.
   */
  function gated(work: (leave: () => void) => void): void {
    const leave = gate.tryEnter();
    if (leave) return work(leave);
    gate.enter().then(work, () => work(() => undefined));
  }

  const ctx: FileContext = {
    full, hidden, gate, handles, log, umask, mutate, announce, gated,
    get readOnly() {
      return frozen;
    },
  };
  const files = fileOps(ctx);

  const answer = (op: string, p: string, cb: Cb) => (err: unknown): void =>
    cb(err ? toErrno(err, log, op, p) : 0);

  function getattr(p: string, cb: (err: number, st?: FuseStat) => void): void {
    if (hidden(p) || announce.isHidden(p)) return cb(Errno.ENOENT);
    const ghost = announce.ghostKind(p);
    if (ghost) return cb(0, ghostStat(ghost));
    gated((leave) =>
      fs.lstat(full(p), (err, st) => {
        leave();
        if (err) cb(toErrno(err, log, 'getattr', p));
        else cb(0, toFuseStat(st));
      }),
    );
  }

  function readdir(p: string, cb: (err: number, names?: string[], stats?: FuseStat[]) => void): void {
    if (hidden(p)) return cb(Errno.ENOENT);
    const dir = full(p);
    gated((leave) => fs.readdir(dir, (err, entries) => {
      leave();
      if (err) return cb(toErrno(err, log, 'readdir', p));
      if (p === '/') entries = entries.filter((n) => n !== '.jj');
      const names = ['.', '..', ...entries];
      const stats: (FuseStat | null)[] = new Array<FuseStat | null>(names.length).fill(null);
      let pending = names.length;
      const settle = (): void => {
        if (--pending > 0) return;
        // An entry deleted between readdir and lstat is left out; fuse-native needs a stat per
        // name (or none at all), and a name with no stat would show inode 0.
        const outNames: string[] = [];
        const outStats: FuseStat[] = [];
        names.forEach((n, i) => {
          const s = stats[i];
          if (s) {
            outNames.push(n);
            outStats.push(s);
          }
        });
        cb(0, outNames, outStats);
      };
      names.forEach((n, i) => {
        // '..' of the mount root is the root itself as far as the mount can tell.
        const target = n === '.' ? dir : n === '..' ? (p === '/' ? dir : path.dirname(dir)) : dir + '/' + n;
        fs.lstat(target, (e, st) => {
          if (!e) stats[i] = toFuseStat(st);
          settle();
        });
      });
    }));
  }

  function readlink(p: string, cb: (err: number, target?: string) => void): void {
    if (hidden(p)) return cb(Errno.ENOENT);
    gated((leave) =>
      fs.readlink(full(p), (err, target) => {
        leave();
        if (err) cb(toErrno(err, log, 'readlink', p));
        else cb(0, target);
      }),
    );
  }

  function access(p: string, mode: number, cb: Cb): void {
    if (hidden(p)) return cb(Errno.ENOENT);
    if (frozen && mode & fs.constants.W_OK) return cb(Errno.EROFS);
    gated((leave) =>
      fs.access(full(p), mode, (err) => {
        leave();
        answer('access', p, cb)(err);
      }),
    );
  }

  function statfs(p: string, cb: (err: number, st?: StatfsResult) => void): void {
    fs.statfs(root, (err, s) => {
      if (err) return cb(toErrno(err, log, 'statfs', p));
      // fuse-native carries these as uint32: scale the block size up until the counts fit.
      let frsize = s.bsize;
      let { blocks, bfree, bavail } = s;
      while (blocks > U32) {
        frsize *= 2;
        blocks = Math.floor(blocks / 2);
        bfree = Math.floor(bfree / 2);
        bavail = Math.floor(bavail / 2);
      }
      const files = Math.min(s.files, U32);
      const ffree = Math.min(s.ffree, U32);
      cb(0, {
        bsize: frsize, frsize, blocks, bfree, bavail, files, ffree, favail: ffree,
        fsid: 0, flag: frozen ? 1 : 0, namemax: 255,
      });
    });
  }

  /** Creating the hidden name is refused (EPERM), anything below it does not exist (ENOENT). */
  const refuseHidden = (p: string, cb: Cb): boolean => {
    if (!hidden(p)) return false;
    cb(p === HIDDEN ? Errno.EPERM : Errno.ENOENT);
    return true;
  };

  function mkdir(p: string, mode: number, cb: Cb): void {
    if (refuseHidden(p, cb)) return;
    if (announce.claimHidden(p)) return cb(0); // replaying a directory sync created (announce.ts)
    const perm = mode & 0o7777;
    mutate('mkdir', [p], cb, (done) => {
      fs.mkdir(full(p), { mode: perm }, (err) => {
        if (err || (perm & umask) === 0) return done(err);
        fs.chmod(full(p), perm, done);
      });
    });
  }

  function unlink(p: string, cb: Cb): void {
    if (hidden(p)) return cb(Errno.ENOENT);
    if (announce.claimGhost(p, 'file')) return cb(0); // replaying a delete sync made (announce.ts)
    mutate('unlink', [p], cb, (done) => fs.unlink(full(p), done));
  }

  function rmdir(p: string, cb: Cb): void {
    if (hidden(p)) return cb(Errno.ENOENT);
    if (announce.claimGhost(p, 'dir')) return cb(0); // replaying a delete sync made (announce.ts)
    mutate('rmdir', [p], cb, (done) => fs.rmdir(full(p), done));
  }

  function rename(src: string, dest: string, cb: Cb): void {
    if (hidden(src)) return cb(Errno.ENOENT);
    if (hidden(dest)) return cb(Errno.EPERM);
    mutate('rename', [src, dest], cb, (done) => fs.rename(full(src), full(dest), done));
  }

  /** fuse-native passes (target, linkPath): the target is stored verbatim, never resolved here. */
  function symlink(target: string, p: string, cb: Cb): void {
    if (refuseHidden(p, cb)) return;
    mutate('symlink', [p], cb, (done) => fs.symlink(target, full(p), done));
  }

  function link(src: string, dest: string, cb: Cb): void {
    if (hidden(src)) return cb(Errno.ENOENT);
    if (hidden(dest)) return cb(Errno.EPERM);
    mutate('link', [dest], cb, (done) => fs.link(full(src), full(dest), done));
  }

  function chmod(p: string, mode: number, cb: Cb): void {
    if (hidden(p)) return cb(Errno.ENOENT);
    mutate('chmod', [p], cb, (done) => fs.chmod(full(p), mode & 0o7777, done));
  }

  /** lchown: the kernel resolved symlinks already; an operation on a symlink means the link itself. */
  function chown(p: string, uid: number, gid: number, cb: Cb): void {
    if (hidden(p)) return cb(Errno.ENOENT);
    // (uid_t)-1 arrives as 0xffffffff, which Node passes on as -1: "leave unchanged".
    mutate('chown', [p], cb, (done) => fs.lchown(full(p), uid, gid, done));
  }

  function truncate(p: string, size: number, cb: Cb): void {
    if (hidden(p)) return cb(Errno.ENOENT);
    if (size === ANNOUNCE_SIZE) return cb(0); // replaying a modification (announce.ts): no-op
    mutate('truncate', [p], cb, (done) => fs.truncate(full(p), size, done));
  }

  /**
   * Times arrive decoded by the loader (`FuseTime`): with the patched fuse-native the real atime
   * and mtime with UTIME_NOW / UTIME_OMIT told apart; with the stock build atime twice, both
   * sentinels as "now" (see utimens.ts). Symlinks are changed themselves (lutimes): the kernel
   * already resolved links on the way here. An omitted time needs the current one (one lstat).
   */
  function utimens(p: string, atime: FuseTime, mtime: FuseTime, cb: Cb): void {
    if (hidden(p)) return cb(Errno.ENOENT);
    mutate('utimens', [p], cb, (done) => {
      const nowSec = Date.now() / 1000;
      if (atime.kind !== 'omit' && mtime.kind !== 'omit') {
        return fs.lutimes(full(p), timeToSeconds(atime, 0n, nowSec), timeToSeconds(mtime, 0n, nowSec), done);
      }
      fs.lstat(full(p), { bigint: true }, (err, st) => {
        if (err) return done(err);
        fs.lutimes(full(p), timeToSeconds(atime, st.atimeNs, nowSec), timeToSeconds(mtime, st.mtimeNs, nowSec), done);
      });
    });
  }

  const ops = {
    getattr,
    fgetattr: (p: string, _fd: number, cb: (err: number, st?: FuseStat) => void): void => getattr(p, cb),
    readdir,
    readlink,
    access,
    statfs,
    open: files.open,
    create: files.create,
    read: files.read,
    write: files.write,
    ftruncate: files.ftruncate,
    fsync: files.fsync,
    release: files.release,
    truncate,
    unlink,
    mkdir,
    rmdir,
    rename,
    symlink,
    link,
    chmod,
    chown,
    utimens,
    /** The open-file table (tests; closing everything after an unmount). */
    handles,
    /** From now on every mutation answers EROFS (the mount is being closed). */
    freeze: (): void => {
      frozen = true;
    },
  };
  /** The attributes a ghost shows until its delete is replayed: an empty file or directory. */
  function ghostStat(kind: 'file' | 'dir'): FuseStat {
    const now = Date.now();
    return {
      mode: kind === 'dir' ? 0o040755 : 0o100644,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      size: 0,
      dev: 0,
      nlink: 1,
      ino: 1,
      rdev: 0,
      blksize: 4096,
      blocks: 0,
      atime: now,
      mtime: now,
      ctime: now,
    };
  }

  // Compile-time check that the shapes match what the loader hands to fuse-native.
  const checked: FuseOps = ops;
  void checked;
  return ops;
}
