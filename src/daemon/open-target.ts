import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Paths } from '../config/paths.js';
import type { MountConfig } from '../config/schema.js';
import { isErrnoException, JjfsError } from '../errors.js';
import type { FuseMountEntry } from '../fs/unmount.js';

/** True when `child` is `parent` or lies below it (lexically; both absolute and normalised). */
export function isWithin(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Decides whether `target` may become a mount point, without ever touching a path inside one of
 * our own mounts (the daemon serves those on its main thread; touching them can deadlock it):
 * every check against mounts is lexical or reads /proc/mounts, and only then is the parent stat'ed.
 * Returns whether the directory has to be created.
 */
export async function checkOpenTarget(
  target: string,
  ctx: { paths: Paths; mounts: readonly MountConfig[]; systemMounts: readonly FuseMountEntry[]; allMountPoints: ReadonlySet<string> },
): Promise<{ create: boolean }> {
  if (!path.isAbsolute(target)) throw new JjfsError('invalid-input', `The mount path must be absolute (got ${target}).`);
  const where = path.resolve(target);
  for (const own of [ctx.paths.home, path.dirname(ctx.paths.configFile)]) {
    if (isWithin(where, own) || isWithin(own, where)) {
      throw new JjfsError('invalid-input', `${where} is inside jjfs's own state directory ${own}. Choose a path elsewhere.`);
    }
  }
  for (const m of ctx.mounts) {
    if (m.path === where) {
      throw new JjfsError('already-exists', `${where} is already a jjfs mount of repo "${m.repo}". Close it first: jjfs close ${where}`);
    }
    if (isWithin(where, m.path)) {
      throw new JjfsError('invalid-input', `${where} is inside the jjfs mount ${m.path}; mounts cannot be nested. Choose a path outside it.`);
    }
  }
  for (const m of ctx.systemMounts) {
    if (m.type === 'fuse.jjfs' && isWithin(where, m.path)) {
      throw new JjfsError('invalid-input', `${where} is inside the jjfs mount ${m.path} (of another jjfs daemon). Choose a path outside it.`);
    }
  }
  if (ctx.allMountPoints.has(where)) {
    throw new JjfsError('already-exists', `${where} is already a mount point. Unmount it or choose another path.`);
  }
  const parent = path.dirname(where);
  try {
    if (!(await stat(parent)).isDirectory()) throw new JjfsError('invalid-input', `${parent} is not a directory.`);
  } catch (error) {
    if (error instanceof JjfsError) throw error;
    throw new JjfsError('not-found', `The parent directory ${parent} does not exist. Create it first, or choose another path.`);
  }
  let st;
  try {
    st = await lstat(where);
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return { create: true };
    throw new JjfsError('environment', `Cannot inspect ${where}: ${(error as Error).message}.`);
  }
  if (!st.isDirectory()) {
    throw new JjfsError('invalid-input', `${where} exists and is not a directory. Choose another path.`);
  }
  if ((await readdir(where)).length > 0) {
    throw new JjfsError(
      'already-exists',
      `${where} is not empty; jjfs only mounts onto an empty or new directory so nothing there is hidden. ` +
        'Empty it, or choose another path.',
    );
  }
  return { create: false };
}
