import { lstat, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MountConfig } from '../config/schema.js';
import { JjfsError, messageOf } from '../errors.js';
import { decodeMountField } from '../fs/unmount.js';
import { normalizeRepoPath } from '../history/repo-path.js';

// What a mount's config says about where it lives and what it shows (used by mounts.ts).

/** Every mount point on the system (any filesystem type), from /proc/mounts. */
export async function allMountPoints(): Promise<Set<string>> {
  try {
    const text = await readFile('/proc/mounts', 'utf8');
    return new Set(text.split('\n').map((l) => l.split(' ')[1]).filter((p): p is string => !!p).map(decodeMountField));
  } catch {
    return new Set();
  }
}

/** The directory a mount serves: its workspace, or the subtree's folder in it. */
export function backingRoot(config: MountConfig): string {
  return config.subtree === undefined ? config.workspace : path.join(config.workspace, ...config.subtree.split('/'));
}

/** A subtree as typed (`notes/projects/a`): repo-relative, inside the repo, not the root or `.jj`. */
export function subtreeOf(raw: string): string {
  const normal = normalizeRepoPath(raw, 'The subtree');
  if (normal === '') throw new JjfsError('invalid-input', `The subtree ${JSON.stringify(raw)} is the whole repo; open the repo itself (jjfs open REPO).`);
  return normal;
}

/**
 * After the sparse checkout: the subtree's folder must be a directory (it is created when the repo
 * has none yet — it reaches history with its first file); a file there is refused.
 */
export async function prepareSubtree(workspace: string, subtree: string, repo: string): Promise<void> {
  const dir = path.join(workspace, ...subtree.split('/'));
  const st = await lstat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) {
    throw new JjfsError('invalid-input', `${subtree} is a file in repo "${repo}", not a folder; open the folder that holds it, or the whole repo.`);
  }
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new JjfsError('invalid-input', `${subtree} cannot be a folder of repo "${repo}": part of it is a file (${messageOf(error)}).`);
  }
}

/** A mount whose writes are synced: not a past state, not a read-only view. */
export function isWritable(config: MountConfig): boolean {
  return config.at === undefined && config.read_only !== true;
}
