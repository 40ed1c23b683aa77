import { randomUUID } from 'node:crypto';
import { GitError, type GitRunner } from './git.js';
import { rewriteTree, type TreeChange } from './git-objects.js';
import type { JjIdentity } from './jj-runner.js';
import { conflictTrailers } from './merge-paths.js';
import { fileFileset, rootFileset, type RepoJj } from './repo-jj.js';

/**
 * The jj side of remote sync: bringing fetched commits into jj, deciding how `main` relates to the
 * remote branch, merging, and building the commit we publish when jj would refuse to push.
 * Everything here that moves `main` must run inside the repo's serial queue (RepoSync.exclusive).
 */

/** Largest conflicted file {@link buildPublishCommit} publishes (jj's output is read into memory). */
const MAX_MARKER_FILE_BYTES = 512 * 1024 * 1024;

/** Name under which the remote branch is imported into jj (`main@origin`). */
export const REMOTE_NAME = 'origin';

/** Where a fetch leaves the remote branch; jj does not look here, so fetching never races jj. */
export function stagingRef(branch: string): string {
  return `refs/jjfs/fetched/${branch}`;
}

/** The ref `jj git import` reads as `<branch>@origin`. */
export function remoteRef(branch: string): string {
  return `refs/remotes/${REMOTE_NAME}/${branch}`;
}

/** The commit `ref` points at in the store, or undefined when it does not exist. */
export async function readRef(git: GitRunner, gitDir: string, ref: string): Promise<string | undefined> {
  try {
    const r = await git.run(['rev-parse', '--verify', '-q', `${ref}^{commit}`], { gitDir });
    return r.stdout.trim() || undefined;
  } catch (error) {
    if (error instanceof GitError && error.kind === 'failed' && error.exitCode === 1) return undefined;
    throw error;
  }
}

/** Points `ref` at `sha`, or deletes it when `sha` is undefined. */
export async function writeRef(git: GitRunner, gitDir: string, ref: string, sha: string | undefined): Promise<void> {
  if (sha === undefined) {
    if ((await readRef(git, gitDir, ref)) !== undefined) await git.run(['update-ref', '-d', ref], { gitDir });
    return;
  }
  await git.run(['update-ref', ref, sha], { gitDir });
}

/**
 * Makes jj's `<branch>@origin` match `sha` (the remote branch as last fetched): moves the git ref
 * and runs `jj git import` when it changed. The remote bookmark is never tracked, so importing
 * never moves `main` by itself; `main` moves only through {@link setMain}.
 */
export async function importRemote(rj: RepoJj, git: GitRunner, branch: string, sha: string | undefined): Promise<boolean> {
  const gitDir = rj.paths.gitDir;
  if ((await readRef(git, gitDir, remoteRef(branch))) === sha) return false;
  await writeRef(git, gitDir, remoteRef(branch), sha);
  await rj.repo(['git', 'import']);
  return true;
}

/** How local `main` relates to the remote branch. */
export type Relation = 'same' | 'local-ahead' | 'remote-ahead' | 'diverged' | 'unrelated';

/** Compares two commits of the store by ancestry (one `git merge-base`). */
export async function relate(git: GitRunner, gitDir: string, local: string, remote: string): Promise<Relation> {
  if (local === remote) return 'same';
  let base: string;
  try {
    base = (await git.run(['merge-base', local, remote], { gitDir })).stdout.trim();
  } catch (error) {
    // Exit 1 with nothing printed: no common ancestor.
    if (error instanceof GitError && error.kind === 'failed' && error.exitCode === 1 && error.stderr.trim() === '') return 'unrelated';
    throw error;
  }
  if (base === remote) return 'local-ahead';
  if (base === local) return 'remote-ahead';
  return 'diverged';
}

/**
 * True when nothing in `::local` changes any file: a fresh repo whose only commit is jjfs's empty
 * initial commit. Such a repo may adopt a remote's unrelated history without losing anything.
 */
export async function isPristine(rj: RepoJj, local: string): Promise<boolean> {
  const r = await rj.repo(['log', '--no-graph', '--limit', '1', '-r', `(::${local} ~ root()) ~ empty()`, '-T', 'commit_id']);
  return r.stdout.trim() === '';
}

/** Moves bookmark `main` to `commit` (`backwards` for a move that is not a descendant). */
export async function setMain(rj: RepoJj, commit: string, backwards = false): Promise<void> {
  await rj.repo(['bookmark', 'set', 'main', '-r', commit, ...(backwards ? ['--allow-backwards'] : [])]);
}

/** True when a commit in `::local ~ ::remote` holds a conflict (jj refuses to push those). */
export async function hasConflictsInRange(rj: RepoJj, remote: string | undefined, local: string): Promise<boolean> {
  const range = remote === undefined ? `::${local}` : `${remote}..${local}`;
  const r = await rj.repo(['log', '--no-graph', '--limit', '1', '-r', `(${range}) & conflicts()`, '-T', 'commit_id']);
  return r.stdout.trim() !== '';
}

/** Paths with a conflict in `commit`'s tree. */
export async function conflictedPaths(rj: RepoJj, commit: string): Promise<string[]> {
  const r = await rj.repo(['file', 'list', '-r', commit, '-T', 'if(conflict, path ++ "\\n")']);
  return r.stdout.split('\n').filter((p) => p !== '');
}

/** What {@link buildPublishCommit} made. */
export interface PublishCommit {
  /** The new commit (a child of the remote head, or a root commit when the remote is empty). */
  sha: string;
  /** Files it carries with conflict markers in their text. */
  conflicts: string[];
}

/**
 * jj will not push a range holding a conflicted commit, even when a later commit resolved it. We
 * publish ONE ordinary git commit instead: parent = the remote head, tree = `local`'s tree, where
 * each file still conflicted holds jj's conflict markers as plain text (exactly the bytes every
 * workspace shows). Nothing is lost: the full local history stays in jj, the published tree is
 * the same content, and a later edit of the markers is an ordinary change on both machines.
 *
 * Steps: a scratch jj commit on the remote head gets every non-conflicted path of `local` (so its
 * git tree is clean), git plumbing replaces the conflicted paths with the marker text in a private
 * index, `git commit-tree` makes the commit, and the scratch commit is abandoned. The caller then
 * imports it ({@link adoptCommit}) and moves `main` onto it.
 */
export async function buildPublishCommit(
  rj: RepoJj,
  git: GitRunner,
  remote: string | undefined,
  local: string,
  identity: JjIdentity,
  message: string,
): Promise<PublishCommit> {
  const gitDir = rj.paths.gitDir;
  const conflicts = await conflictedPaths(rj, local);
  const nonce = randomUUID();
  await rj.repo(['new', '--no-edit', remote ?? 'root()', '-m', `jjfs scratch ${nonce}`]);
  const scratch = (
    await rj.repo(['log', '--no-graph', '-r', `latest(children(${remote ?? 'root()'}) & description(substring:${JSON.stringify(nonce)}))`, '-T', 'change_id'])
  ).stdout.trim();
  if (scratch === '') throw new Error('jj created no scratch commit');
  try {
    const keep = conflicts.length === 0 ? 'all()' : `~(${conflicts.map(fileFileset).join(' | ')})`;
    await rj.repo(['restore', '--from', local, '--into', scratch, keep]);
    const scratchCommit = (await rj.repo(['log', '--no-graph', '-r', scratch, '-T', 'commit_id'])).stdout.trim();
    let tree = (await git.run(['rev-parse', `${scratchCommit}^{tree}`], { gitDir })).stdout.trim();
    if (conflicts.length > 0) tree = await replaceWithMarkers(rj, git, gitDir, tree, local, conflicts);
    const body = `${message}${conflictTrailers(conflicts.map((path) => ({ kind: 'markers', path })))}\n`;
    const sha = (
      await git.run(['commit-tree', tree, ...(remote === undefined ? [] : ['-p', remote]), '-F', '-'], {
        gitDir,
        input: body,
        env: {
          GIT_AUTHOR_NAME: identity.name,
          GIT_AUTHOR_EMAIL: identity.email,
          GIT_COMMITTER_NAME: identity.name,
          GIT_COMMITTER_EMAIL: identity.email,
        },
      })
    ).stdout.trim();
    return { sha, conflicts };
  } finally {
    await rj.repo(['abandon', scratch]).catch(() => undefined);
  }
}


/** `tree` with each of `paths` replaced by `jj file show -r local PATH` (the marker text). */
async function replaceWithMarkers(rj: RepoJj, git: GitRunner, gitDir: string, tree: string, local: string, paths: string[]): Promise<string> {
  const changes: TreeChange[] = [];
  for (const path of paths) {
    const text = Buffer.from((await rj.repoBytes(['file', 'show', '-r', local, rootFileset(path)], MAX_MARKER_FILE_BYTES)).stdoutBytes ?? []);
    changes.push({ path, put: { bytes: text, mode: '100644' } });
  }
  return rewriteTree(git, gitDir, tree, changes);
}

/**
 * Makes jj know a commit that exists only in the git store (made by git plumbing): it is exposed
 * through a temporary remote ref, imported, `main` is moved onto it, and the ref is dropped again
 * (after `main` holds it, so jj does not abandon it as unreachable).
 */
export async function adoptCommit(rj: RepoJj, git: GitRunner, sha: string): Promise<void> {
  const gitDir = rj.paths.gitDir;
  const ref = 'refs/remotes/jjfs-publish/main';
  await writeRef(git, gitDir, ref, sha);
  await rj.repo(['git', 'import']);
  await setMain(rj, sha, true);
  await writeRef(git, gitDir, ref, undefined);
  await rj.repo(['git', 'import']);
}
