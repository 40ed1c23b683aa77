/**
 * Path operations of the pass-through that change nothing: getattr, readdir, readlink, access,
 * statfs. Lookups run inside the write gate (`ctx.gated`, see passthrough.ts) so they never see a
 * workspace jj is halfway through rewriting; statfs asks about the backing file system only.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FuseStat, FuseStatfs } from './fuse-types.js';
import type { Cb, OpsContext } from './ops-context.js';
import { Errno, toErrno, toFuseStat } from './ops-errno.js';

const U32 = 0xffffffff;

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

/**
 * A listing from the patched addon as fuse-native's readdir wants it: with `use_ino` libfuse only
 * passes on each entry's inode number and type, which readdir(3) gives without a stat per entry
 * (one synchronous call on the backing directory, a few microseconds per hundred names, against
 * one thread-pool lstat per name). `.jj` at the root is left out; `..` of the mount root is the
 * root itself as far as the mount can tell. An entry of unknown type (a file system without
 * d_type) is lstat'ed, and left out if it is gone by then.
 */
function entriesOf(p: string, dir: string, [names, info]: [string[], number[]]): [string[], FuseStat[]] {
  const outNames: string[] = [];
  const outStats: FuseStat[] = [];
  const dotIno = info[names.indexOf('.') * 2] ?? 1;
  names.forEach((name, i) => {
    if (p === '/' && name === '.jj') return;
    const ino = p === '/' && name === '..' ? dotIno : (info[i * 2] ?? 0);
    const type = info[i * 2 + 1] ?? 0;
    if (type !== 0) {
      outNames.push(name);
      outStats.push({ mode: type << 12, ino: ino || 1 });
      return;
    }
    try {
      const st = fs.lstatSync(name === '.' ? dir : `${dir}/${name}`, { bigint: true });
      outNames.push(name);
      outStats.push(toFuseStat(st));
    } catch {
      // Deleted since the listing: left out, as any listing racing a delete may.
    }
  });
  return [outNames, outStats];
}

/** Builds the read-only path operations. */
export function lookupOps(ctx: OpsContext) {
  const { root, full, hidden, gated, announce, log } = ctx;

  const answer = (op: string, p: string, cb: Cb) => (err: unknown): void =>
    cb(err ? toErrno(err, log, op, p) : 0);

  function getattr(p: string, cb: (err: number, st?: FuseStat) => void): void {
    if (hidden(p) || announce.isHidden(p)) return cb(Errno.ENOENT);
    const ghost = announce.ghostKind(p);
    if (ghost) return cb(0, ghostStat(ghost));
    gated((leave) => {
      // Synchronous: see passthrough.ts (the hot read paths).
      let st: fs.BigIntStats;
      try {
        st = fs.lstatSync(full(p), { bigint: true });
      } catch (err) {
        leave();
        return cb(toErrno(err, log, 'getattr', p));
      }
      leave();
      cb(0, toFuseStat(st));
    });
  }

  function readdir(p: string, cb: (err: number, names?: string[], stats?: FuseStat[]) => void): void {
    if (hidden(p)) return cb(Errno.ENOENT);
    const dir = full(p);
    const sys = ctx.sys;
    if (sys) {
      gated((leave) => {
        let listed: ReturnType<typeof sys.listDir>;
        try {
          listed = sys.listDir(dir);
        } finally {
          leave();
        }
        if (typeof listed === 'number') return cb(listed);
        cb(0, ...entriesOf(p, dir, listed));
      });
      return;
    }
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
        fs.lstat(target, { bigint: true }, (e, st) => {
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
    if (ctx.readOnly && mode & fs.constants.W_OK) return cb(Errno.EROFS);
    gated((leave) =>
      fs.access(full(p), mode, (err) => {
        leave();
        answer('access', p, cb)(err);
      }),
    );
  }

  function statfs(p: string, cb: (err: number, st?: FuseStatfs) => void): void {
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
        fsid: 0, flag: ctx.readOnly ? 1 : 0, namemax: 255,
      });
    });
  }

  return { getattr, readdir, readlink, access, statfs };
}
