/**
 * The pass-through operations of a jjfs mount: every FUSE operation on `/x` is the same operation
 * on `<root>/x`, with three twists:
 *  - `.jj` at the root is invisible (lookups: ENOENT; creating it: EPERM), so nothing in the mount
 *    can corrupt the workspace's jj metadata;
 *  - every mutation runs inside the mount's write gate and, once it succeeded, reports the path to
 *    `onMutation` (the sync engine's dirty signal);
 *  - read-only mounts answer EROFS to every mutation.
 *
 * Handlers never wait on anything slow (a FUSE request blocks a kernel thread and the caller;
 * fuse-native times out after 15 s). The only wait is the bounded one in the write gate. The hot
 * read paths (getattr, open, read, release, readdir) and the one-syscall metadata mutations (create,
 * unlink, rmdir, rename) make their syscall on the backing file synchronously: every request
 * already crosses from a libfuse thread to the JS thread and back,
 * and a thread-pool call adds two more thread wake-ups (measured: ~50 µs of ~230 µs per
 * open + read + close on this 2-core VM). That is safe only because the backing directory is never
 * one of the daemon's own mounts and these paths were resolved through the mount by the kernel
 * (symlinks included); open adds O_NOFOLLOW so a file swapped for a symlink behind the mount's
 * back is refused, not followed. Writes, fsync and everything that may wait stay asynchronous.
 * With the patched addon most of these requests never reach JS while the gate is open: it
 * answers getattr, readdir and file requests on the libfuse thread (mount.ts); the handlers here
 * serve the rest, and everything while the gate is closed.
 *
 * fuse-native call conventions (checked against its index.js / fuse-native.c 2.2.6; docs/fuse.md):
 *  - callbacks take a negative errno or 0 first; read/write answer the byte count in that slot;
 *  - open/create answer `(0, handle)`, and a handle of 0 is not stored, so handles start at 1;
 *  - offsets and sizes arrive as two uint32 halves recombined into a double: exact up to 2^53;
 *  - fsync is `(path, datasync, fd, cb)`; fgetattr is routed to `getattr` by fuse-native;
 *  - readdir may answer `(0, names, stats)`; with `use_ino` the stats must carry non-zero inode
 *    numbers or glibc drops the entries, so every entry is lstat'ed;
 *  - utimens gets times decoded by our loader (fuse-loader.ts, utimens.ts), not fuse-native's milliseconds.
 *
 * The operations themselves live by job in ops-lookup.ts (getattr, readdir, readlink, access,
 * statfs), ops-names.ts (mkdir, mknod, unlink, rmdir, rename, symlink, link), ops-attrs.ts (chmod, chown,
 * truncate, utimens), ops-xattr.ts (extended attributes) and ops-files.ts (open files); this file builds their shared context
 * (ops-context.ts): the write gate around mutations, the hidden `.jj`, the frozen state.
 *
 * Deliberately not implemented: `flush` (our writes go straight to the backing file, there is
 * nothing to flush, and leaving it out lets the kernel skip one round trip per close(2));
 * `opendir`/`releasedir` (readdir works by path). Without the patched addon also mknod and
 * xattrs (ENOSYS, which the kernel remembers; cp -a and tar carry on without them).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { MountGate } from './write-gate.js';
import { AnnounceState } from './announce.js';
import type { FuseOps, FuseStat, NativeSyscalls } from './fuse-types.js';
import { HandleTable } from './handles.js';
import { attrOps } from './ops-attrs.js';
import { HIDDEN, type Cb, type OpsContext, type Owner } from './ops-context.js';
import { Errno, toErrno } from './ops-errno.js';
import { fileOps } from './ops-files.js';
import { lookupOps } from './ops-lookup.js';
import { nameOps } from './ops-names.js';
import { xattrOps } from './ops-xattr.js';

/** What a pass-through serves, how, and whom it tells about mutations. */
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
  /** The patched addon's syscalls (mknod, exact times); without them mknod answers ENOSYS. */
  sys?: NativeSyscalls;
  /**
   * New files, directories, nodes and symlinks belong to the process that made them (an
   * `--allow-other` mount served by root). Needs `sys` (the caller's ids) and root (chown).
   */
  creatorOwns?: boolean;
}

/** The operations object handed to fuse-native, plus the handle table (for tests) and `freeze`. */
export type PassthroughOps = ReturnType<typeof createPassthroughOps>;

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

  const S_ISGID = 0o2000;
  const callerIds = opts.creatorOwns === true ? opts.sys : undefined;
  const creator = (): Owner | undefined => (callerIds ? { uid: callerIds.callerUid(), gid: callerIds.callerGid() } : undefined);
  const giveTo = (fullPath: string, owner: Owner | undefined, done: (err: unknown) => void): void => {
    if (!owner) return done(null);
    // In a setgid directory the new file has the directory's group already (as on any file
    // system); the creator's own group applies everywhere else.
    fs.stat(path.dirname(fullPath), (err, parent) => {
      if (err) return done(err);
      fs.lchown(fullPath, owner.uid, parent.mode & S_ISGID ? -1 : owner.gid, done);
    });
  };

  let fuseThreadFile: OpsContext['fuseThreadFile'] = () => Errno.EBADF;
  const ctx: OpsContext = {
    root, full, hidden, gate, handles, log, umask, mutate, announce, gated, sys: opts.sys, creator, giveTo,
    fuseThreadFile: (fh, p) => fuseThreadFile(fh, p),
    get readOnly() {
      return frozen;
    },
  };
  const files = fileOps(ctx);
  const lookup = lookupOps(ctx);
  const names = nameOps(ctx);
  const attrs = attrOps(ctx);
  // Only with the patched addon: without xattr handlers fuse-native answers ENOSYS, which the
  // kernel remembers (and then tells callers EOPNOTSUPP without asking again).
  const xattrs = opts.sys ? xattrOps(ctx, opts.sys) : undefined;

  const ops = {
    getattr: lookup.getattr,
    fgetattr: (p: string, _fd: number, cb: (err: number, st?: FuseStat) => void): void => lookup.getattr(p, cb),
    readdir: lookup.readdir,
    readlink: lookup.readlink,
    access: lookup.access,
    statfs: lookup.statfs,
    open: files.open,
    create: files.create,
    read: files.read,
    write: files.write,
    ftruncate: files.ftruncate,
    fsync: files.fsync,
    release: files.release,
    truncate: attrs.truncate,
    unlink: names.unlink,
    mkdir: names.mkdir,
    rmdir: names.rmdir,
    rename: names.rename,
    symlink: names.symlink,
    link: names.link,
    mknod: names.mknod,
    chmod: attrs.chmod,
    chown: attrs.chown,
    utimens: attrs.utimens,
    ...(xattrs ?? {}),
    /** The open-file table (tests). */
    handles,
    /** The umask the kernel already applied to create modes (read once). */
    umask,
    /** Where the descriptors of handles opened on the FUSE thread come from (mount.ts). */
    useFuseThreadFiles: (fileOf: OpsContext['fuseThreadFile']): void => {
      fuseThreadFile = fileOf;
    },
    /** From now on every mutation answers EROFS (the mount is being closed). */
    freeze: (): void => {
      frozen = true;
    },
  };

  // Compile-time check that the shapes match what the loader hands to fuse-native.
  const checked: FuseOps = ops;
  void checked;
  return ops;
}
