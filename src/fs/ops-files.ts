/**
 * File-handle operations of the pass-through: open, create, read, write, ftruncate, fsync,
 * release — and the reopen of handles whose file jj replaced.
 *
 * open, create, read and release make their syscall synchronously (passthrough.ts says why and
 * when that is safe); writes (which the kernel's dirty-page throttling can stall), ftruncate,
 * fsync and reopens use Node's callback fs API (cheaper per call than fs.promises) on the libuv
 * pool, so a stalled writer never stalls the JS thread every mount shares. While the gate is open
 * the patched addon answers most of these on the libfuse thread instead (mount.ts, "Open files on
 * the FUSE thread"); writes and ftruncates on its handles come here while the gate is closed.
 */
import fs from 'node:fs';
import { ANNOUNCE_SIZE } from './announce.js';
import type { Handle } from './handles.js';
import { FUSE_THREAD_HANDLE, type Cb, type CbN, type CbOpen, type OpsContext } from './ops-context.js';
import { Errno, toErrno } from './ops-errno.js';

/** Not in Node's typed constants; the value is the same on every Linux architecture. */
const O_ACCMODE = 3;
const { O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_SYNC, O_DSYNC, O_NOFOLLOW } =
  fs.constants;

/**
 * Flags passed through to the backing open(2). O_DIRECT is dropped (the kernel's buffers are not
 * aligned for it and the FUSE layer already sits above the page cache); O_CREAT/O_EXCL were
 * handled by the kernel's lookup + create; O_TRUNC only arrives with atomic_o_trunc.
 */
const PASS_FLAGS = O_ACCMODE | O_TRUNC | O_APPEND | O_SYNC | O_DSYNC | O_NOFOLLOW;

/**
 * Makes sure `h.fd` still names the file at `path` before it is used. Only after the gate's
 * generation moved (a jj command rewrote the workspace since the handle last checked) do we pay
 * for an fstat + stat; if jj replaced the file (different inode), the path is reopened with the
 * handle's flags minus creation/truncation (O_APPEND is kept, so appends stay appends) and the
 * old descriptor closed. If the path is gone, the old descriptor is kept: jj deleted the file and
 * there is nothing better to write to.
 */
function ensureCurrent(ctx: OpsContext, h: Handle, path: string, next: () => void): void {
  if (h.reopening) {
    // Another operation on this handle is already revalidating; run after it (never on the old fd).
    h.reopening.then(next, next);
    return;
  }
  const gen = ctx.gate.generation;
  // No path (a file unlinked while open, should fuse-native ever pass libfuse's NULL path through):
  // nothing to compare with, the descriptor is all there is.
  if (h.generation === gen || !path) {
    next();
    return;
  }
  h.reopening = new Promise<void>((resolve) => {
    const finish = (): void => {
      h.generation = gen;
      h.reopening = null;
      resolve();
    };
    fs.fstat(h.fd, (e1, open) => {
      fs.stat(ctx.full(path), (e2, current) => {
        if (e1 || e2 || !current.isFile() || (open.ino === current.ino && open.dev === current.dev)) {
          finish();
          return;
        }
        const flags = h.flags & ~(O_CREAT | O_EXCL | O_TRUNC);
        fs.open(ctx.full(path), flags, (e3, fd) => {
          if (e3) {
            ctx.log.warn('could not reopen a file replaced under an open handle', { path, err: e3 });
            finish();
            return;
          }
          const old = h.fd;
          h.fd = fd;
          h.flags = flags;
          ctx.log.debug('reopened a handle whose file was replaced', { path });
          fs.close(old, () => finish());
        });
      });
    });
  });
  h.reopening.then(next, next);
}

/** Builds the file-handle operations. */
export function fileOps(ctx: OpsContext) {
  const { handles, gate, log } = ctx;
  /**
   * Page cache: libfuse drops a file's cached pages at every open unless the open says
   * keep_cache, so by default every open reads the file through us again. Here an open keeps them
   * when the backing file is exactly what it was at the previous open of the path: the same
   * device, inode, size, mtime and ctime (nanoseconds). The pages then hold nothing but its bytes
   * (reads since then came from that file; writes through the mount go through the kernel, which
   * keeps its pages in step, and they move ctime). Any other open — a new file, one jj replaced,
   * one edited behind the mount — drops them as before. Any change to the bytes moves one of the
   * five: jj replaces files (a new inode), every write moves ctime, and a kernel with multigrain
   * timestamps (6.13+, ext4, xfs, btrfs, tmpfs) gives a change after a stat a ctime of its own
   * even within one clock tick. The table lives in the patched addon (one fstat of the open
   * descriptor, microseconds), shared with the opens answered on the FUSE thread (mount.ts).
   */
  const keepPages = (path: string, fd: number): boolean => ctx.sys?.keepPages(ctx.full(path), fd) === 1;

  function withHandle(path: string, id: number, cb: (err: number) => void, fn: (h: Handle) => void): void {
    if (id >= FUSE_THREAD_HANDLE) {
      // Opened on the FUSE thread: the addon keeps (and rechecks) its descriptor, whose number
      // never changes while the handle is open (mount.ts); here it is only borrowed.
      const fd = ctx.fuseThreadFile(id, path);
      if (fd < 0) return cb(Errno.EBADF);
      fn({ fd, flags: 0, generation: gate.generation, reopening: null });
      return;
    }
    const h = handles.get(id);
    if (!h) {
      cb(Errno.EBADF);
      return;
    }
    ensureCurrent(ctx, h, path, () => fn(h));
  }

  function open(path: string, flags: number, cb: CbOpen): void {
    if (ctx.hidden(path)) return cb(Errno.ENOENT);
    const f = flags & PASS_FLAGS;
    const writing = (f & O_ACCMODE) !== O_RDONLY;
    // The one writable open a read-only mount grants: the notifier's, whose only use of it is the
    // no-op ftruncate that replays a synced modification (announce.ts) on a live read-only view.
    const replay = writing && !(f & O_TRUNC) && ctx.announce.isNotifier();
    if (ctx.readOnly && (writing || f & O_TRUNC) && !replay) return cb(Errno.EROFS);
    const doOpen = (done: (err: unknown) => void): void => {
      // Read the generation before opening: if a hold is released in between, the handle is
      // checked on first use rather than trusted.
      const gen = gate.generation;
      let fd: number;
      try {
        // The kernel resolved every symlink on the way here: a symlink now is a swap behind our back.
        fd = fs.openSync(ctx.full(path), f | O_NOFOLLOW);
      } catch (err) {
        return done(err);
      }
      id = handles.add(fd, f, gen);
      // Inside the gate: jj is not halfway through replacing the file while we look at it.
      keep = !(f & O_TRUNC) && keepPages(path, fd);
      done(null);
    };
    let id = 0;
    let keep = false;
    if (f & O_TRUNC) {
      ctx.mutate('open', [path], (e) => cb(e, id), doOpen);
      return;
    }
    ctx.gated((leave) =>
      doOpen((err) => {
        leave();
        if (err) cb(toErrno(err, log, 'open', path));
        else cb(0, id, keep);
      }),
    );
  }

  function create(path: string, mode: number, cb: CbN): void {
    if (ctx.hidden(path)) return cb(Errno.EPERM);
    let id = 0;
    // The claim comes first: a live read-only view still replays the files sync created.
    if (ctx.announce.claimHidden(path)) {
      // Replaying a file sync created (announce.ts): open jj's file as it is, change nothing.
      const gen = gate.generation;
      fs.open(ctx.full(path), O_RDWR, (err, fd) => {
        if (err) return cb(toErrno(err, log, 'create', path));
        cb(0, handles.add(fd, O_RDWR, gen));
      });
      return;
    }
    if (ctx.readOnly) return cb(Errno.EROFS);
    // fuse-native passes no open flags to create. O_RDWR serves any access mode; no O_EXCL, as the
    // kernel's lookup already found no file (and a racing creator must not make a plain open fail).
    // Without the caller's O_APPEND the kernel supplies append offsets itself (its i_size).
    const flags = O_CREAT | O_RDWR;
    const perm = mode & 0o7777;
    const owner = ctx.creator();
    ctx.mutate('create', [path], (e) => cb(e, id), (done) => {
      const gen = gate.generation;
      let fd: number;
      try {
        // Synchronous like open (passthrough.ts); O_NOFOLLOW: the kernel found no name here.
        fd = fs.openSync(ctx.full(path), flags | O_NOFOLLOW, perm);
      } catch (err) {
        return done(err);
      }
      const register = (): void => {
        id = handles.add(fd, O_RDWR, gen);
        done(null);
      };
      ctx.giveTo(ctx.full(path), owner, (e1) => {
        if (e1) log.warn('create: could not give the file to its creator', { path, err: e1 });
        // The kernel already applied the caller's umask; ours must not strip bits a second
        // time. A chown clears setuid/setgid bits: those are set again after it.
        if ((perm & ctx.umask) === 0 && !(owner && perm & 0o6000)) return register();
        fs.fchmod(fd, perm, (e2) => {
          if (e2) log.warn('create: could not restore mode', { path, err: e2 });
          register();
        });
      });
    });
  }

  function read(path: string, id: number, buf: Buffer, len: number, pos: number, cb: CbN): void {
    withHandle(path, id, cb, (h) => {
      // Loop over short reads: a short answer means end-of-file to the kernel (it zero-fills).
      let got = 0;
      while (got < len) {
        let n: number;
        try {
          n = fs.readSync(h.fd, buf, got, len - got, pos + got);
        } catch (err) {
          return got > 0 ? cb(got) : cb(toErrno(err, log, 'read', path));
        }
        if (n === 0) break;
        got += n;
      }
      cb(got);
    });
  }

  function write(path: string, id: number, buf: Buffer, len: number, pos: number, cb: CbN): void {
    let written = 0;
    // The buffer belongs to fuse-native and is detached after our callback: finish with it first.
    ctx.mutate('write', [path], (e) => cb(e < 0 ? e : written), (done) => {
      withHandle(path, id, (e) => done({ code: 'EBADF', errno: e }), (h) => {
        const step = (): void => {
          fs.write(h.fd, buf, written, len - written, pos + written, (err, n) => {
            if (err) return written > 0 ? done(null) : done(err);
            written += n;
            if (n === 0 || written >= len) return done(null);
            step();
          });
        };
        step();
      });
    });
  }

  function ftruncate(path: string, id: number, size: number, cb: Cb): void {
    if (size === ANNOUNCE_SIZE) return cb(0); // replaying a modification (announce.ts): no-op
    if (ctx.readOnly) return cb(Errno.EROFS);
    ctx.mutate('ftruncate', [path], cb, (done) => {
      withHandle(path, id, (e) => done({ code: 'EBADF', errno: e }), (h) => fs.ftruncate(h.fd, size, done));
    });
  }

  /** Not gated: fsync changes no content, and must not wait behind a jj command for seconds. */
  function fsync(path: string, datasync: number, id: number, cb: Cb): void {
    withHandle(path, id, cb, (h) => {
      const done = (err: NodeJS.ErrnoException | null): void =>
        cb(err ? toErrno(err, log, 'fsync', path) : 0);
      if (datasync) fs.fdatasync(h.fd, done);
      else fs.fsync(h.fd, done);
    });
  }

  function release(path: string, id: number, cb: Cb): void {
    const h = handles.remove(id);
    if (!h) return cb(0);
    const close = (): void => {
      try {
        fs.closeSync(h.fd);
      } catch (err) {
        log.warn('release: close failed', { path, err });
      }
      cb(0);
    };
    if (h.reopening) h.reopening.then(close, close);
    else close();
  }

  return { open, create, read, write, ftruncate, fsync, release };
}
