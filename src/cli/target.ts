import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { validateRepoName } from '../config/validate.js';
import { JjfsError } from '../errors.js';
import { normalizeRepoPath } from '../history/repo-path.js';
import type { RpcClient } from '../rpc/client.js';
import type { MountInfo } from '../rpc/protocol.js';

/** What a history command is about: a repo and, optionally, a path in it (`''` = the root). */
export interface RepoTarget {
  repo: string;
  path?: string;
}

/** The mount whose directory holds `abs` (mounts never nest, so at most one matches). */
export function mountContaining(mounts: readonly MountInfo[], abs: string): MountInfo | undefined {
  return mounts.find((m) => {
    const rel = path.relative(m.path, abs);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
}

/**
 * `abs` with symlinks resolved in the part of it that exists (the rest may be a deleted file).
 * The CLI may do this: unlike the daemon, it is an ordinary client of the mounts.
 */
function realpathOfExisting(abs: string): string {
  let existing = abs;
  const rest: string[] = [];
  while (!existsSync(existing) && path.dirname(existing) !== existing) {
    rest.unshift(path.basename(existing));
    existing = path.dirname(existing);
  }
  try {
    return path.join(realpathSync(existing), ...rest);
  } catch {
    return abs;
  }
}

/**
 * Maps a PATH typed by the user to (repo, repo-relative path) with the mount table: a path inside
 * a mount (relative to the cwd or absolute) belongs to that mount's repo; with `--repo`, a path
 * outside every mount is relative to the repo root. Pure apart from resolving symlinks.
 */
export function mapPath(mounts: readonly MountInfo[], cwd: string, raw: string, repoFlag: string | undefined, what = 'PATH'): RepoTarget {
  const abs = path.resolve(cwd, raw);
  const resolved = mountContaining(mounts, abs) ? abs : realpathOfExisting(abs);
  const mount = mountContaining(mounts, resolved);
  if (mount) {
    if (repoFlag !== undefined && repoFlag !== mount.repo) {
      throw new JjfsError('invalid-input', `${what} ${raw} is in a mount of repo "${mount.repo}", not "${repoFlag}". Drop --repo or give a path in "${repoFlag}".`);
    }
    // A subtree mount shows one folder of the repo: its paths are that folder's.
    const inside = path.relative(mount.path, resolved).split(path.sep).join('/');
    const inRepo = mount.subtree === undefined ? inside : inside === '' ? mount.subtree : `${mount.subtree}/${inside}`;
    return { repo: mount.repo, path: normalizeRepoPath(inRepo, what) };
  }
  if (repoFlag !== undefined) {
    if (path.isAbsolute(raw)) {
      throw new JjfsError('invalid-input', `${what} ${raw} is not inside a mount of repo "${repoFlag}". Give a path inside one, or a path relative to the repo root.`);
    }
    return { repo: repoFlag, path: normalizeRepoPath(raw, what) };
  }
  throw new JjfsError(
    'invalid-input',
    `${what} ${abs} is not inside a jjfs mount (see: jjfs list). Run the command inside a mount, or name the repo with --repo NAME (${what} is then relative to the repo root).`,
  );
}

/**
 * The repo and path a history command is about: from PATH (see {@link mapPath}), else `--repo`,
 * else the mount the cwd is in, else the only repo there is.
 */
export async function resolveTarget(client: RpcClient, cwd: string, raw: string | undefined, repoOption: unknown): Promise<RepoTarget> {
  const repoFlag = typeof repoOption === 'string' ? validateRepoName(repoOption) : undefined;
  const { mounts } = await client.request('list', {});
  if (raw !== undefined) return mapPath(mounts, cwd, raw, repoFlag);
  if (repoFlag !== undefined) return { repo: repoFlag };
  const here = mountContaining(mounts, cwd) ?? mountContaining(mounts, realpathOfExisting(cwd));
  if (here) return here.subtree === undefined ? { repo: here.repo } : { repo: here.repo, path: here.subtree };
  const { repos } = await client.request('repos', {});
  if (repos.length === 1 && repos[0]) return { repo: repos[0].name };
  throw new JjfsError(
    'usage',
    repos.length === 0
      ? 'There is no repo yet. Create one with: jjfs init NAME (or jjfs open NAME).'
      : `Which repo? Run this inside a mount or give --repo NAME (repos: ${repos.map((r) => r.name).join(', ')}).`,
  );
}
