import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConflictList } from './conflict-repair.js';
import { JjError } from './jj-runner.js';
import { parseRefusedFiles, type RefusedFile, type RepoJj } from './repo-jj.js';

/** Workspace ids become jj workspace names and directory names: keep them boring. */
export const WORKSPACE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws unless `id` matches {@link WORKSPACE_ID_PATTERN}. */
export function assertWorkspaceId(id: string): void {
  if (!WORKSPACE_ID_PATTERN.test(id) || id === 'default') {
    throw new Error(`invalid workspace id ${JSON.stringify(id)}: use letters, digits, '.', '_' or '-' (not "default")`);
  }
}

/** One row of {@link readRepoState}. */
export interface CommitRow {
  commitId: string;
  changeId: string;
  /** Workspace names whose working-copy commit this is. */
  workspaces: string[];
  parents: string[];
  conflict: boolean;
  divergent: boolean;
  empty: boolean;
  isMain: boolean;
}

/** What the engine caches about the repo, read in ONE jj call that touches no working copy. */
export interface RepoState {
  main: string;
  mainConflicted: boolean;
  /** workspace name → its working-copy commit row */
  workingCopies: Map<string, CommitRow>;
  /** Divergent commits not in `::main` (stranded edits to recover). */
  divergent: CommitRow[];
}

const STATE_TEMPLATE = [
  'commit_id',
  'change_id',
  'working_copies',
  'parents.map(|c| c.commit_id()).join(",")',
  'if(conflict, "c", "-") ++ if(divergent, "d", "-") ++ if(empty, "e", "-") ++ if(self.contained_in("working_copies()"), "w", "-")',
  'local_bookmarks.map(|b| b.name()).join(",")',
].join(' ++ "\\t" ++ ') + ' ++ "\\n"';

/**
 * Reads `main` and every workspace's working-copy commit and parent (1 jj process). jj names the
 * workspaces of a working-copy commit only in a repo with more than one workspace: with a single
 * one, its commit is known by the `w` flag alone, and `jj workspace list` (a second process, only
 * then) gives the name.
 */
export async function readRepoState(rj: RepoJj): Promise<RepoState> {
  const out = await rj.repo(['log', '--no-graph', '-r', 'main | working_copies() | (divergent() ~ ::main)', '-T', STATE_TEMPLATE]);
  const state: RepoState = { main: '', mainConflicted: false, workingCopies: new Map(), divergent: [] };
  const nameless: CommitRow[] = [];
  for (const line of out.stdout.split('\n')) {
    if (line === '') continue;
    const [commitId = '', changeId = '', wcs = '', parents = '', flags = '', bookmarks = ''] = line.split('\t');
    const row: CommitRow = {
      commitId,
      changeId,
      workspaces: wcs
        .split(/\s+/)
        .filter((w) => w.endsWith('@'))
        .map((w) => w.slice(0, -1)),
      parents: parents === '' ? [] : parents.split(','),
      conflict: flags.includes('c'),
      divergent: flags.includes('d'),
      empty: flags.includes('e'),
      isMain: bookmarks.split(',').includes('main'),
    };
    if (row.isMain) {
      state.main = row.commitId;
      state.mainConflicted = row.conflict;
    }
    if (flags.includes('w') && row.workspaces.length === 0) nameless.push(row);
    for (const w of row.workspaces) state.workingCopies.set(w, row);
    if (row.divergent && row.workspaces.length === 0 && !flags.includes('w')) state.divergent.push(row);
  }
  if (nameless.length === 1 && state.workingCopies.size === 0) {
    const sole = await rj.workspaceNames();
    if (sole.length === 1) {
      nameless[0]!.workspaces = [sole[0]!];
      state.workingCopies.set(sole[0]!, nameless[0]!);
    }
  }
  if (state.main === '') throw new Error(`bookmark main not found in ${rj.paths.repoDir}`);
  return state;
}

/** Result of a snapshotting call in a workspace. */
export interface SnapshotInfo {
  clean: boolean;
  changeId: string;
  /** W@ holds a jj conflict (only after a crash between a rebase and its repair). */
  conflict: boolean;
  refused: RefusedFile[];
}

/** Snapshots W (in W's own process) and says whether W@ has changes. Writes no files in W. */
export async function snapshotWorkspace(rj: RepoJj, dir: string): Promise<SnapshotInfo> {
  const r = await rj.workspace(dir, ['log', '--no-graph', '-r', '@', '-T', 'if(empty, "clean", "dirty") ++ " " ++ change_id ++ " " ++ if(conflict, "conflict", "-")']);
  const [word = '', changeId = '', conflict = ''] = r.stdout.trim().split(' ');
  return { clean: word === 'clean', changeId, conflict: conflict === 'conflict', refused: parseRefusedFiles(r.stderr) };
}

/** Paths conflicted in workspace `name`'s working-copy commit (read without touching any working copy). */
export async function workspaceConflicts(rj: RepoJj, name: string): Promise<string[]> {
  const r = await rj.repo(['resolve', '--list', '-r', `${name}@`]).catch((err: unknown) => {
    // "No conflicts found at this revision" is an error exit: nothing to list.
    if (err instanceof JjError && /No conflicts/i.test(err.stderr)) return { stdout: '' };
    throw err;
  });
  return parseConflictList(r.stdout, false);
}

/** `jj commit -m message` in W: snapshot + commit; `main` advances (advance-branches). No file writes. */
export async function commitWorkspace(rj: RepoJj, dir: string, message: string): Promise<RefusedFile[]> {
  const r = await rj.workspace(dir, ['commit', '-m', message]);
  return parseRefusedFiles(r.stderr);
}

/** W@ as a jj command that rewrote it reported it (see {@link SUMMARY_CONFIG}). */
export interface WorkingCopySummary {
  commitId: string;
  /** W@ has no changes against its parent. */
  empty: boolean;
  /** W@ holds a jj conflict. */
  conflict: boolean;
}

/**
 * How jj summarises a commit in what a command reports (`templates.commit_summary`), for the calls
 * whose report we read: a line jj writes anyway ("Working copy (@) now at: …") then names W@'s
 * new commit and whether it is empty or conflicted, which would otherwise take another jj process
 * (~25 ms each; with five writers a quarter of the jj time when each writes its own file, a seventh
 * when they share one: `node bench/sync-stress.mjs --jj [--own-only]`).
 */
const SUMMARY_CONFIG = `templates.commit_summary='"jjfs-commit " ++ commit_id ++ " " ++ if(empty, "e", "-") ++ if(conflict, "c", "-")'`;

/** W@ from a report made with {@link SUMMARY_CONFIG}; undefined when jj did not report it (nothing moved). */
function parseWorkingCopySummary(stderr: string): WorkingCopySummary | undefined {
  const lines = [...stderr.matchAll(/^Working copy\s+\(@\) now at: jjfs-commit ([0-9a-f]{40,64}) ([e-])([c-])$/gm)];
  if (lines.length !== 1) return undefined;
  const [, commitId = '', empty, conflict] = lines[0]!;
  return { commitId, empty: empty === 'e', conflict: conflict === 'c' };
}

/** What {@link rebaseOntoMain} reports. */
export interface RebaseResult {
  refused: RefusedFile[];
  /** Paths jj left conflicted in W@ (W's files hold jj's materialisation of them). */
  conflicts: string[];
  /** W@ after the rebase, as jj reported it (undefined if it did not). */
  workingCopy: WorkingCopySummary | undefined;
}

/** `jj rebase -s @ -d main` in W: snapshots W, rebases W@ onto main and rewrites W's files. */
export async function rebaseOntoMain(rj: RepoJj, dir: string): Promise<RebaseResult> {
  const r = await rj.workspace(dir, ['rebase', '-s', '@', '-d', 'main', '--config', SUMMARY_CONFIG]);
  return { refused: parseRefusedFiles(r.stderr), conflicts: parseConflictList(r.stderr), workingCopy: parseWorkingCopySummary(r.stderr) };
}

/**
 * Moves a CLEAN W onto main with `jj new main` (the old empty @ is abandoned by jj). Used instead of
 * rebase when main holds conflicts: a rebase re-labels the conflict markers per workspace, while
 * `new` materialises main's own stored labels, so every workspace shows byte-identical markers.
 * If W turned out not to be clean (a write raced the check), jj keeps the old @ and we squash it
 * back into the new @ right away, in W's own process, so nothing disappears from W.
 */
export async function newOnMain(rj: RepoJj, dir: string, oldChangeId: string): Promise<void> {
  await rj.workspace(dir, ['new', 'main']);
  const left = (
    await rj.repo(['log', '--no-graph', '-r', `present(change_id(${oldChangeId})) ~ ::main`, '-T', 'commit_id ++ "\\n"'])
  ).stdout.trim();
  if (left !== '') {
    for (const id of left.split('\n')) {
      await rj.workspace(dir, ['squash', '--from', id, '--into', '@', '--use-destination-message']);
    }
  }
}

/**
 * Recovers a stale workspace without losing edits. jj 0.42's `workspace update-stale` first
 * snapshots the stale files into a commit on the OLD operation, then reconciles: W@ ends up as the
 * rewritten commit (files checked out from it) and the snapshot survives as a divergent sibling with
 * the same change id. We then squash every such sibling into W@ (in W's own process), which brings
 * the unsnapshotted edits back into W's files (as conflict markers if they clash).
 */
export async function recoverWorkspace(rj: RepoJj, name: string, dir: string, stale: boolean): Promise<string[]> {
  if (stale) await rj.workspace(dir, ['workspace', 'update-stale']);
  const own = (await rj.repo(['log', '--no-graph', '-r', `${name}@`, '-T', 'change_id'])).stdout.trim();
  const siblings = (
    await rj.repo(['log', '--no-graph', '-r', `present(change_id(${own})) ~ ${name}@ ~ ::main`, '-T', 'commit_id ++ "\\n"'])
  ).stdout
    .split('\n')
    .filter((s) => s !== '');
  for (const id of siblings) {
    await rj.workspace(dir, ['squash', '--from', id, '--into', '@', '--use-destination-message']);
  }
  return siblings;
}

/** Conflicted paths in main (repo-root relative). */
export async function listConflicts(rj: RepoJj): Promise<string[]> {
  const r = await rj.repo(['file', 'list', '-r', 'main', '-T', 'if(conflict, path ++ "\\n")']);
  return r.stdout.split('\n').filter((p) => p !== '');
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) return false;
    return (await readdir(dir)).length === 0;
  } catch {
    return true;
  }
}

/**
 * Creates workspace `id` at `dir` (default `<repoHome>/workspaces/<id>`) checked out at `rev`
 * (default `main`; read-only `--at` mounts use a past commit). `dir` must be empty or not exist.
 * Returns the directory.
 */
export async function addWorkspace(rj: RepoJj, id: string, dir: string = join(rj.paths.workspacesDir, id), rev = 'main', subtree?: string): Promise<string> {
  assertWorkspaceId(id);
  if (!(await isEmptyOrMissing(dir))) throw new Error(`workspace directory ${dir} exists and is not empty`);
  await mkdir(dir, { recursive: true });
  // Not --ignore-working-copy: with it jj 0.42 creates the workspace on root() with no files.
  if (subtree === undefined) {
    await rj.repoWithWorkingCopy(['workspace', 'add', '--name', id, '-r', rev, dir]);
    return dir;
  }
  // A subtree: created with no files at all, then only `subtree` is checked out (jj sparse
  // patterns), so the disk holds the subtree and nothing else — never the whole tree first. The
  // sparse step runs in the new workspace's own process, like every step that writes its files.
  await rj.repoWithWorkingCopy(['workspace', 'add', '--name', id, '-r', rev, '--sparse-patterns', 'empty', dir]);
  await rj.workspace(dir, ['sparse', 'set', '--add', subtree]);
  return dir;
}

/** `jj workspace forget <id>` (no-op if jj does not know it). Does not touch the directory. */
export async function forgetWorkspace(rj: RepoJj, id: string): Promise<void> {
  try {
    await rj.repo(['workspace', 'forget', id]);
  } catch (err) {
    if (err instanceof JjError && /No such workspace/i.test(err.stderr)) return;
    throw err;
  }
}
