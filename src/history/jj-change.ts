/**
 * The history changes jjfs makes on request (restore, undo). Each one is a NEW commit on top of
 * `main`, after which `main` moves forward to it; nothing here rewrites a commit a workspace sits
 * on, and nothing runs jj in an attached workspace (docs/jj.md: only W's own process rewrites
 * W@; `jj op restore` strands unsnapshotted edits). The callers run these inside
 * `RepoSync.exclusive` with `recordFirst`, which records every workspace's edits first and fans the
 * result out after.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileFileset, type RepoJj } from '../sync/repo-jj.js';
import { forgetWorkspace } from '../sync/workspace-ops.js';
import { pathFileset } from './jj-history.js';

/** Outcome of a change: `commit` is absent when there was nothing to change (already identical). */
export interface ChangeOutcome {
  commit?: string;
}

/** Prefix of the temporary workspaces `restore --to` uses (left over only after a crash). */
const TEMP_PREFIX = 'jjfs-tmp-';

/** Commits that are children of `main` and no workspace's working copy. */
async function childrenOfMain(rj: RepoJj, main: string): Promise<Set<string>> {
  const out = await rj.repo(['log', '--no-graph', '-r', `children(${main}) ~ working_copies()`, '-T', 'change_id ++ "\\n"']);
  return new Set(out.stdout.split('\n').filter((l) => l !== ''));
}

/** Runs `create` (which makes one child of `main`) and returns the change id of that child. */
async function createdChild(rj: RepoJj, main: string, create: () => Promise<unknown>): Promise<string> {
  const before = await childrenOfMain(rj, main);
  await create();
  const created = [...(await childrenOfMain(rj, main))].filter((c) => !before.has(c));
  if (created.length !== 1 || !created[0]) throw new Error(`expected one new child of main, found ${created.length}`);
  return created[0];
}

/**
 * Makes `change` the new `main` unless it changes nothing (then it is abandoned). `main` only moves
 * forward: `change` is a child of it.
 */
async function advanceMain(rj: RepoJj, change: string): Promise<ChangeOutcome> {
  const info = (await rj.repo(['log', '--no-graph', '-r', change, '-T', 'if(empty, "empty", "changed") ++ " " ++ commit_id'])).stdout.trim();
  const [state, commit] = info.split(' ');
  if (state === 'empty' || !commit) {
    await rj.repo(['abandon', change]);
    return {};
  }
  await rj.repo(['bookmark', 'set', 'main', '-r', change]);
  return { commit };
}

/**
 * Restores `path` (a file or directory; `''` is the whole tree) to its state in `from`, as a new
 * commit on `main`. Made entirely in the repo (`--ignore-working-copy`): no working copy is touched.
 */
export async function restoreOnMain(rj: RepoJj, main: string, from: string, path: string, message: string): Promise<ChangeOutcome> {
  const change = await createdChild(rj, main, () => rj.repo(['new', '--no-edit', main, '-m', message]));
  await rj.repo(['restore', '--from', from, '--into', change, ...(path === '' ? [] : [pathFileset(path)])]);
  return advanceMain(rj, change);
}

/** Reverses `target` as a new commit on `main` (`jj revert`, then our description). */
export async function revertOnMain(rj: RepoJj, main: string, target: string, message: string): Promise<ChangeOutcome> {
  const change = await createdChild(rj, main, () => rj.repo(['revert', '-r', target, '--onto', main]));
  await rj.repo(['describe', '-r', change, '-m', message]);
  return advanceMain(rj, change);
}

/** True when `a` and `b` hold the same content under `path` (the verification after a restore). */
export async function sameContent(rj: RepoJj, a: string, b: string, path: string, to?: string): Promise<boolean> {
  if (to === undefined) {
    const args = ['diff', '--from', a, '--to', b, '--summary', ...(path === '' ? [] : [pathFileset(path)])];
    return (await rj.repo(args)).stdout.trim() === '';
  }
  // Beside: compare the bytes of every file under `path` in `a` with the same file under `to` in `b`.
  const list = async (commit: string, root: string): Promise<string> =>
    (await rj.repo(['file', 'list', '-r', commit, '-T', 'path ++ "\\n"', pathFileset(root)])).stdout;
  const left = (await list(a, path)).split('\n').filter(Boolean);
  const right = (await list(b, to)).split('\n').filter(Boolean);
  if (left.length !== right.length) return false;
  for (const file of left) {
    const twin = to + file.slice(path.length);
    const [x, y] = await Promise.all([
      rj.repoBytes(['file', 'show', '-r', a, fileFileset(file)], 1 << 30),
      rj.repoBytes(['file', 'show', '-r', b, fileFileset(twin)], 1 << 30),
    ]);
    if (!Buffer.from(x.stdoutBytes ?? []).equals(Buffer.from(y.stdoutBytes ?? []))) return false;
  }
  return true;
}

/**
 * Writes `path` as it was in `from` to `to` (beside the current one), as a new commit on `main`.
 * jj cannot copy a path inside a commit, so this uses a temporary workspace of its own with sparse
 * patterns limited to the two paths (so nothing else is checked out, whatever the repo's size):
 * restore `path` from `from`, rename it to `to` on disk, restore `path` from main again, commit
 * (main advances), forget the workspace. No attached workspace and no mount is involved.
 */
export async function restoreBeside(
  rj: RepoJj,
  main: string,
  from: string,
  path: string,
  to: string,
  message: string,
): Promise<ChangeOutcome> {
  await removeLeftoverTemps(rj);
  const id = `${TEMP_PREFIX}${randomUUID()}`;
  const dir = join(rj.paths.workspacesDir, id);
  await rj.repoWithWorkingCopy(['workspace', 'add', '--name', id, '-r', main, '--sparse-patterns', 'empty', dir]);
  try {
    await rj.workspace(dir, ['sparse', 'set', '--add', path, '--add', to]);
    await rj.workspace(dir, ['restore', '--from', from, pathFileset(path)]);
    await mkdir(dirname(join(dir, to)), { recursive: true });
    await rename(join(dir, path), join(dir, to));
    await rj.workspace(dir, ['restore', '--from', main, pathFileset(path)]);
    const change = (await rj.workspace(dir, ['log', '--no-graph', '-r', '@', '-T', 'change_id'])).stdout.trim();
    await rj.workspace(dir, ['describe', '-m', message]);
    // The temporary workspace's @ is a child of main: making it main moves main forward.
    return await advanceMain(rj, change);
  } finally {
    await forgetWorkspace(rj, id);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Forgets temporary workspaces a crash left behind (their content is never needed). */
async function removeLeftoverTemps(rj: RepoJj): Promise<void> {
  const names = await readdir(rj.paths.workspacesDir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(TEMP_PREFIX))) {
    await forgetWorkspace(rj, name);
    await rm(join(rj.paths.workspacesDir, name), { recursive: true, force: true });
  }
}
