/**
 * Mount options, and the libfuse `-o` list built from them. fuse-native exposes only some options
 * and drops a numeric 0, so the loader (fuse-loader.ts) builds the whole list itself from here.
 */

/**
 * Mount options. Timeouts are seconds and `0` really means 0 (fuse-native drops numeric 0).
 * `bigWrites` is needed for write speed; `useIno` keeps inode numbers stable (readdir must then
 * report non-zero inodes); `hardRemove` stops libfuse renaming open-unlinked files to
 * `.fuse_hidden*`. `force` clears a stale mount first, `mkdir` creates the mount point.
 */
export interface MountOptions {
  entryTimeout?: number;
  attrTimeout?: number;
  negativeTimeout?: number;
  bigWrites?: boolean;
  useIno?: boolean;
  hardRemove?: boolean;
  fsname?: string;
  subtype?: string;
  readOnly?: boolean;
  allowOther?: boolean;
  maxWrite?: number;
  autoUnmount?: boolean;
  force?: boolean;
  mkdir?: boolean;
  debug?: boolean;
  /** Device nodes in the mount work (libfuse mounts `nodev` otherwise); root only. */
  dev?: boolean;
  /** The kernel checks permissions from the modes and owners (needed with `allowOther`). */
  defaultPermissions?: boolean;
}

/** Escapes a value for libfuse's comma-separated `-o` list. */
function optValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/,/g, '\\,');
}

function seconds(name: string, v: number): string {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number of seconds >= 0, got ${v}`);
  return String(v);
}

/** The libfuse `-o` options for `opts` (exported for tests). */
export function fuseOptionList(opts: MountOptions): string[] {
  const o: string[] = [];
  if (opts.debug) o.push('debug');
  if (opts.readOnly) o.push('ro');
  if (opts.allowOther) o.push('allow_other');
  if (opts.dev) o.push('dev');
  if (opts.defaultPermissions) o.push('default_permissions');
  if (opts.autoUnmount) o.push('auto_unmount');
  if (opts.fsname !== undefined) o.push(`fsname=${optValue(opts.fsname)}`);
  if (opts.subtype !== undefined) o.push(`subtype=${optValue(opts.subtype)}`);
  // `!== undefined`, not truthiness: 0 is the interesting value (no kernel caching).
  if (opts.entryTimeout !== undefined) o.push(`entry_timeout=${seconds('entryTimeout', opts.entryTimeout)}`);
  if (opts.attrTimeout !== undefined) o.push(`attr_timeout=${seconds('attrTimeout', opts.attrTimeout)}`);
  if (opts.negativeTimeout !== undefined) o.push(`negative_timeout=${seconds('negativeTimeout', opts.negativeTimeout)}`);
  if (opts.bigWrites) o.push('big_writes');
  if (opts.useIno) o.push('use_ino');
  if (opts.hardRemove) o.push('hard_remove');
  if (opts.maxWrite !== undefined) {
    if (!Number.isInteger(opts.maxWrite) || opts.maxWrite <= 0) throw new RangeError(`maxWrite must be a positive integer, got ${opts.maxWrite}`);
    o.push(`max_write=${opts.maxWrite}`);
  }
  return o;
}
