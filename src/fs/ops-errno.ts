/**
 * Error numbers and stat conversion for the pass-through operations.
 *
 * fuse-native expects a negative errno (or 0) as the first callback argument. Node's fs errors
 * carry the libuv code (`ENOENT`); the table of the running OS gives its number.
 */
import os from 'node:os';
import type { BigIntStats } from 'node:fs';
import type { Logger } from '../log.js';
import type { FuseStat } from './fuse-types.js';

const errnoTable = os.constants.errno as Record<string, number | undefined>;

function num(code: string): number {
  const n = errnoTable[code];
  if (n === undefined) throw new Error(`no errno ${code} on this platform`);
  return -n;
}

/** Negative errno values used by the operations themselves. */
export const Errno = {
  EPERM: num('EPERM'),
  ENOENT: num('ENOENT'),
  EIO: num('EIO'),
  EBADF: num('EBADF'),
  EACCES: num('EACCES'),
  EEXIST: num('EEXIST'),
  EINVAL: num('EINVAL'),
  EROFS: num('EROFS'),
  ENOSYS: num('ENOSYS'),
} as const;

/**
 * Maps an error from Node's fs to a negative errno. Codes the OS knows map one to one; anything
 * else (a bug, a non-fs exception) becomes EIO and is logged, since the user only sees "I/O error".
 */
export function toErrno(err: unknown, log: Logger, op: string, path: string): number {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    const n = errnoTable[code];
    if (n !== undefined) return -n;
  }
  log.warn('unexpected error in FUSE operation, answering EIO', { op, path, err });
  return Errno.EIO;
}

/** A negative errno from the patched addon as the error shape `toErrno` reads (its `code`). */
export function errnoError(negErrno: number): { code: string } {
  const n = -negErrno;
  const code = Object.keys(errnoTable).find((k) => errnoTable[k] === n);
  return { code: code ?? 'EIO' };
}

const TWO_32 = 4294967296n;

/**
 * Converts Node's bigint stats (`lstat(p, { bigint: true })`: the only ones with exact
 * nanoseconds) for fuse-native: milliseconds for the stock build, and the nanoseconds, which the
 * patched build reports exactly (git's index compares them: with milliseconds only, the first
 * `git status` in a mount re-hashes every file). fuse-native carries `st_ino` as a uint32; an
 * inode number whose low 32 bits are 0 would read as "no inode" and glibc hides such directory
 * entries under `use_ino`, so it becomes 1 (a collision costs nothing there; a hidden file would).
 */
export function toFuseStat(st: BigIntStats): FuseStat {
  return {
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    dev: Number(st.dev),
    nlink: Number(st.nlink),
    ino: Number(st.ino % TWO_32) || 1,
    rdev: Number(st.rdev),
    blksize: Number(st.blksize),
    blocks: Number(st.blocks),
    atime: Number(st.atimeMs),
    mtime: Number(st.mtimeMs),
    ctime: Number(st.ctimeMs),
    atimeNs: st.atimeNs,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
  };
}
