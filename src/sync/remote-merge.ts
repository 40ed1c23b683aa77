import { GitError, type GitRunner } from './git.js';
import { isRegularFile, readBlobs, readEntries, rewriteTree, type TreeChange, type TreeEntry } from './git-objects.js';
import type { JjIdentity } from './jj-runner.js';
import { conflictTrailers, copyPath, resolvePath, type ConflictNote, type SideNames } from './merge-paths.js';
import type { InsertionPolicy } from './merge-text.js';

/**
 * The merge of local `main` with the remote branch when both moved, made with git plumbing on jj's
 * store: `git merge-tree` merges the trees (file/directory clashes, deletions, exact rename-free
 * path matching), then every path it reports as conflicted is resolved by the same rules as a local
 * rebase ({@link resolvePath}): two machines appending to one file end with the union, real clashes
 * with one plain-text conflict. The result is an ordinary two-parent git commit, so `main` never
 * holds a jj conflict and the commit can be pushed as it is.
 */

/** What {@link mergeWithRemote} made. */
export interface RemoteMerge {
  /** The merge commit (parents: local, remote), not yet known to jj. */
  sha: string;
  /** Conflicts left for a person (also in the commit message). */
  notes: ConflictNote[];
}

/** Options of {@link mergeWithRemote}. */
export interface RemoteMergeOptions {
  identity: JjIdentity;
  message: string;
  names: SideNames;
  policy: InsertionPolicy;
}

interface Stages {
  base?: TreeEntry;
  ours?: TreeEntry;
  theirs?: TreeEntry;
}

/** Parses `git merge-tree --write-tree -z` output: the tree, then `<mode> <oid> <stage>\t<path>` records. */
function parseMergeTree(out: string): { tree: string; conflicted: Map<string, Stages> } {
  const records = out.split('\0');
  const tree = records[0]?.trim() ?? '';
  const conflicted = new Map<string, Stages>();
  for (const record of records.slice(1)) {
    const m = /^(\d{6}) ([0-9a-f]{40,64}) ([123])\t(.*)$/s.exec(record);
    if (!m) break; // the informational messages follow an empty record
    const [, mode = '', oid = '', stage = '', path = ''] = m;
    const entry: TreeEntry = { mode, oid, type: mode === '160000' ? 'commit' : 'blob' };
    const stages = conflicted.get(path) ?? {};
    if (stage === '1') stages.base = entry;
    else if (stage === '2') stages.ours = entry;
    else stages.theirs = entry;
    conflicted.set(path, stages);
  }
  if (!/^[0-9a-f]{40,64}$/.test(tree)) throw new Error(`git merge-tree printed no tree: ${out.slice(0, 200)}`);
  return { tree, conflicted };
}

/** Merges commits `local` (ours) and `remote` (theirs) of jj's store into a new commit. */
export async function mergeWithRemote(git: GitRunner, gitDir: string, local: string, remote: string, opts: RemoteMergeOptions): Promise<RemoteMerge> {
  let out: string;
  try {
    // No rename detection: jj records no renames, and a guessed rename would move a user's edit.
    out = (await git.run(['-c', 'merge.renames=false', 'merge-tree', '--write-tree', '-z', local, remote], { gitDir, summary: 'git merge-tree' })).stdout;
  } catch (error) {
    // Exit 1: merged, with conflicts.
    if (!(error instanceof GitError && error.kind === 'failed' && error.exitCode === 1)) throw error;
    out = error.stdout;
  }
  const { tree, conflicted } = parseMergeTree(out);
  const when = new Date();
  const notes: ConflictNote[] = [];
  const index: TreeChange[] = [];
  // git moves a file that clashes with a directory aside as `path~<commit>`: rename it to ours.
  const sides: Array<[string, string]> = [[`~${local}`, opts.names.ours], [`~${remote}`, opts.names.theirs]];
  const aside = new Map<string, { original: string; origin: string }>();
  const files: string[] = [];
  for (const [path, stages] of conflicted) {
    const side = sides.find(([suffix]) => path.endsWith(suffix));
    if (side) aside.set(path, { original: path.slice(0, -side[0].length), origin: side[1] });
    for (const e of [stages.base, stages.ours, stages.theirs]) if (isRegularFile(e)) files.push(e.oid);
  }
  const blobs = await readBlobs(git, gitDir, files);
  const inTree = await readEntries(git, gitDir, tree, [...aside.keys()]);
  for (const [path, stages] of conflicted) {
    const moved = aside.get(path);
    if (moved) {
      const { original, origin } = moved;
      const entry = inTree.get(path);
      const copy = copyPath(original, origin, when);
      index.push({ path, put: undefined });
      if (entry) index.push({ path: copy, put: { entry } });
      notes.push({ kind: 'copy', path: original, copy });
      continue;
    }
    const outcome = resolvePath(path, stages, {
      names: opts.names,
      policy: opts.policy,
      when,
      blob: (oid) => blobs.get(oid) ?? Buffer.alloc(0),
    });
    index.push({ path, put: outcome.put });
    if (outcome.copy) index.push(outcome.copy);
    if (outcome.note) notes.push(outcome.note);
  }
  const merged = index.length === 0 ? tree : await rewriteTree(git, gitDir, tree, index);
  const sha = (
    await git.run(['commit-tree', merged, '-p', local, '-p', remote, '-F', '-'], {
      gitDir,
      input: `${opts.message}${conflictTrailers(notes)}\n`,
      env: {
        GIT_AUTHOR_NAME: opts.identity.name,
        GIT_AUTHOR_EMAIL: opts.identity.email,
        GIT_COMMITTER_NAME: opts.identity.name,
        GIT_COMMITTER_EMAIL: opts.identity.email,
      },
      summary: 'git commit-tree',
    })
  ).stdout.trim();
  return { sha, notes };
}
