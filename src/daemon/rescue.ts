/**
 * Files written into a mount point while nothing was mounted there (jjfsd stopped, or dead and its
 * stale mount already cleared) land in the plain directory underneath. libfuse then refuses to
 * mount onto the non-empty directory, and if it did not, the mount would hide them. Before a mount
 * comes back, {@link rescueMountPoint} moves them into the mount's workspace, so they show up in
 * the mount and are synced like any other edit.
 *
 * Nothing is overwritten: a name the workspace already has keeps the workspace's version, and the
 * rescued one is put next to it as `<name>.jjfs-rescued-<time>` (dropped only when byte-identical).
 * Directories on both sides are merged entry by entry.
 */
import { cp, lstat, mkdir, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { isErrnoException } from '../errors.js';

/** What a rescue did, as paths relative to the mount point. */
export interface RescueReport {
  /** Moved to the same path in the workspace. */
  moved: string[];
  /** Kept beside a different file of the same name: [original path, new name]. */
  renamed: Array<[string, string]>;
  /** Identical to the workspace's file, so removed. */
  duplicates: string[];
}

/**
 * Moves everything inside `mountPoint` into `workspace`. Call it only while `mountPoint` is a plain
 * directory (not a mount: the daemon must never touch a path inside one of its own mounts).
 * `.jj` at the top is never moved onto the workspace's own `.jj`; it is kept as a rescued copy.
 */
export async function rescueMountPoint(mountPoint: string, workspace: string, now: Date = new Date()): Promise<RescueReport> {
  const report: RescueReport = { moved: [], renamed: [], duplicates: [] };
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  await mergeInto(mountPoint, workspace, '', stamp, report);
  return report;
}

async function mergeInto(src: string, dst: string, rel: string, stamp: string, report: RescueReport): Promise<void> {
  let names: string[];
  try {
    names = await readdir(src);
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return;
    throw error;
  }
  for (const name of names) {
    const from = path.join(src, name);
    const to = path.join(dst, name);
    const relPath = rel === '' ? name : `${rel}/${name}`;
    const existing = rel === '' && name === '.jj' ? 'reserved' : await lstat(to).catch(() => undefined);
    if (existing === undefined) {
      await move(from, to);
      report.moved.push(relPath);
      continue;
    }
    const mine = await lstat(from);
    if (existing !== 'reserved' && mine.isDirectory() && existing.isDirectory()) {
      await mergeInto(from, to, relPath, stamp, report);
      await rmdir(from).catch(() => undefined); // emptied above, unless something new arrived
      continue;
    }
    if (existing !== 'reserved' && mine.isFile() && existing.isFile() && (await sameContent(from, to))) {
      await rm(from, { force: true });
      report.duplicates.push(relPath);
      continue;
    }
    const kept = await freeName(`${to}.jjfs-rescued-${stamp}`);
    await move(from, kept);
    report.renamed.push([relPath, path.relative(path.dirname(to), kept)]);
  }
}

/** rename, or copy + remove across file systems (the mount point and JJFS_HOME may differ). */
async function move(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if (!isErrnoException(error) || error.code !== 'EXDEV') throw error;
    await cp(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true, errorOnExist: true, force: false });
    await rm(from, { recursive: true, force: true });
  }
}

async function sameContent(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([lstat(a), lstat(b)]);
  if (sa.size !== sb.size) return false;
  const [ca, cb] = await Promise.all([readFile(a), readFile(b)]);
  return ca.equals(cb);
}

async function freeName(base: string): Promise<string> {
  for (let i = 0; ; i++) {
    const candidate = i === 0 ? base : `${base}-${i}`;
    if ((await lstat(candidate).catch(() => undefined)) === undefined) return candidate;
  }
}

/**
 * Moves `paths` (relative to `dir`, a directory may end with `/`) to the same relative places
 * under `dest`, by rename: every byte kept, nothing copied. Used by `close --force` on a workspace
 * that is no longer mounted.
 */
export async function moveOut(dir: string, paths: readonly string[], dest: string): Promise<void> {
  for (const p of paths) {
    const rel = p.replace(/\/+$/, '');
    const target = path.join(dest, rel);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(path.join(dir, rel), target);
  }
}
