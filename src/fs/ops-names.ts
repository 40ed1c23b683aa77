/**
 * Path operations of the pass-through that create or remove names: mkdir, unlink, rmdir, rename,
 * symlink, link. Each runs through `ctx.mutate` (write gate, EROFS when frozen, onMutation);
 * unlink, rmdir and rename, one syscall each, are made synchronously (passthrough.ts); while the
 * write gate is open the patched addon makes those three on the libfuse thread instead (mount.ts).
 * A sync's own creations and deletions, replayed by the notifier, are claimed here and answered
 * without touching the backing directory (announce.ts).
 */
import fs from 'node:fs';
import { HIDDEN, syscallStep, type Cb, type OpsContext } from './ops-context.js';
import { Errno, errnoError } from './ops-errno.js';

/** Builds the operations on names. */
export function nameOps(ctx: OpsContext) {
  const { full, hidden, mutate, announce, umask } = ctx;

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
    const owner = ctx.creator();
    mutate('mkdir', [p], cb, (done) => {
      fs.mkdir(full(p), { mode: perm }, (err) => {
        if (err) return done(err);
        ctx.giveTo(full(p), owner, (e1) => {
          if (e1) return done(e1);
          // The kernel already applied the caller's umask; ours must not strip bits a second time.
          if ((perm & umask) === 0 && !(owner && perm & 0o6000)) return done(null);
          fs.chmod(full(p), perm, done);
        });
      });
    });
  }

  /**
   * FIFOs, Unix sockets (bind(2) in the mount arrives here) and, where the daemon may, device
   * nodes, made in the backing directory by the patched addon (Node has no mknod). They stay in
   * this mount: jj records no special files, so nothing is committed or reaches another mount.
   * The kernel itself carries a FIFO's or socket's data; the backing node only gives it a name.
   * Without the patched addon: ENOSYS, as before.
   */
  function mknod(p: string, mode: number, dev: number, cb: Cb): void {
    if (refuseHidden(p, cb)) return;
    const sys = ctx.sys;
    if (!sys) return cb(Errno.ENOSYS);
    const owner = ctx.creator();
    mutate('mknod', [p], cb, (done) => {
      const r = sys.mknod(full(p), mode, dev);
      if (r !== 0) return done(errnoError(r));
      ctx.giveTo(full(p), owner, (e1) => {
        if (e1) return done(e1);
        // As for mkdir: the kernel applied the caller's umask already; ours must not strip bits again.
        const perm = mode & 0o7777;
        if ((perm & umask) === 0 && !(owner && perm & 0o6000)) return done(null);
        fs.chmod(full(p), perm, done);
      });
    });
  }

  function unlink(p: string, cb: Cb): void {
    if (hidden(p)) return cb(Errno.ENOENT);
    if (announce.claimGhost(p, 'file')) return cb(0); // replaying a delete sync made (announce.ts)
    mutate('unlink', [p], cb, (done) => syscallStep(done, () => fs.unlinkSync(full(p))));
  }

  function rmdir(p: string, cb: Cb): void {
    if (hidden(p)) return cb(Errno.ENOENT);
    if (announce.claimGhost(p, 'dir')) return cb(0); // replaying a delete sync made (announce.ts)
    mutate('rmdir', [p], cb, (done) => syscallStep(done, () => fs.rmdirSync(full(p))));
  }

  function rename(src: string, dest: string, cb: Cb): void {
    if (hidden(src)) return cb(Errno.ENOENT);
    if (hidden(dest)) return cb(Errno.EPERM);
    mutate('rename', [src, dest], cb, (done) => syscallStep(done, () => fs.renameSync(full(src), full(dest))));
  }

  /** fuse-native passes (target, linkPath): the target is stored verbatim, never resolved here. */
  function symlink(target: string, p: string, cb: Cb): void {
    if (refuseHidden(p, cb)) return;
    const owner = ctx.creator();
    mutate('symlink', [p], cb, (done) =>
      fs.symlink(target, full(p), (err) => (err ? done(err) : ctx.giveTo(full(p), owner, done))),
    );
  }

  function link(src: string, dest: string, cb: Cb): void {
    if (hidden(src)) return cb(Errno.ENOENT);
    if (hidden(dest)) return cb(Errno.EPERM);
    mutate('link', [dest], cb, (done) => fs.link(full(src), full(dest), done));
  }

  return { mkdir, mknod, unlink, rmdir, rename, symlink, link };
}
