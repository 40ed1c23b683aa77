/**
 * Extended attributes, passed through to the backing file (the patched addon's l*xattr calls: Node
 * has none). A backing file system without them answers ENOTSUP, which reaches the caller as is.
 * The kernel resolved symlinks already and refuses `user.*` attributes on symlinks and special
 * files itself. jj records no xattrs: they stay in this mount, like permissions beyond the
 * executable bit. Set and remove go through `ctx.mutate` (write gate, EROFS) but report no path:
 * nothing for the sync engine to record.
 */
import type { Cb, OpsContext } from './ops-context.js';
import { Errno, errnoError } from './ops-errno.js';
import type { NativeSyscalls } from './fuse-types.js';

/** Builds the xattr operations over `sys` (the patched addon). */
export function xattrOps(ctx: OpsContext, sys: NativeSyscalls) {
  const { full, hidden, mutate, gated, announce } = ctx;

  const read = (p: string, cb: (err: number, value?: Buffer) => void, call: () => Buffer | number): void => {
    if (hidden(p) || announce.isHidden(p)) return cb(Errno.ENOENT);
    gated((leave) => {
      const r = call();
      leave();
      if (typeof r === 'number') cb(r);
      else cb(0, r);
    });
  };

  function getxattr(p: string, name: string, cb: (err: number, value?: Buffer) => void): void {
    read(p, cb, () => sys.lgetxattr(full(p), name));
  }

  function listxattr(p: string, cb: (err: number, list?: Buffer) => void): void {
    read(p, cb, () => sys.llistxattr(full(p)));
  }

  function setxattr(p: string, name: string, value: Buffer, _position: number, flags: number, cb: Cb): void {
    if (hidden(p)) return cb(Errno.ENOENT);
    mutate('setxattr', [], cb, (done) => {
      const r = sys.lsetxattr(full(p), name, value, flags);
      done(r === 0 ? null : errnoError(r));
    });
  }

  function removexattr(p: string, name: string, cb: Cb): void {
    if (hidden(p)) return cb(Errno.ENOENT);
    mutate('removexattr', [], cb, (done) => {
      const r = sys.lremovexattr(full(p), name);
      done(r === 0 ? null : errnoError(r));
    });
  }

  return { getxattr, listxattr, setxattr, removexattr };
}
