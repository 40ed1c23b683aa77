/**
 * Path operations of the pass-through that change a file's attributes: chmod, chown, truncate,
 * utimens. Each runs through `ctx.mutate` (write gate, EROFS when frozen, onMutation).
 */
import fs from 'node:fs';
import { ANNOUNCE_SIZE } from './announce.js';
import type { FuseTime } from './fuse-types.js';
import type { Cb, OpsContext } from './ops-context.js';
import { Errno, errnoError } from './ops-errno.js';
import { rawTimespec } from './utimens.js';

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

/** Builds the attribute operations. */
export function attrOps(ctx: OpsContext) {
  const { full, hidden, mutate } = ctx;

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
    const sys = ctx.sys;
    if (sys) {
      // Exact nanoseconds, and UTIME_NOW / UTIME_OMIT handed to the kernel as they came.
      const [as, an] = rawTimespec(atime);
      const [ms, mn] = rawTimespec(mtime);
      return mutate('utimens', [p], cb, (done) => {
        const r = sys.utimens(full(p), as, an, ms, mn);
        done(r === 0 ? null : errnoError(r));
      });
    }
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

  return { chmod, chown, truncate, utimens };
}
