import { lstat, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { GitRunner } from './git.js';
import { EXECUTABLE, isRegularFile, readBlobs, readEntries, readSubtree, SYMLINK, type TreeEntry } from './git-objects.js';
import { resolvePath, type ConflictNote, type PathOutcome, type Put, type SideNames } from './merge-paths.js';
import type { InsertionPolicy } from './merge-text.js';
import type { RepoJj } from './repo-jj.js';

/**
 * Repairs a workspace right after `jj rebase -s @ -d main` left conflicts in its working-copy
 * commit. jj's conflict would be committed into `main`, materialised in every mount, edited there
 * and rebased again — each round multiplying its sides. Instead the daemon resolves each conflicted
 * path by the rules of {@link resolvePath} and writes the result into the workspace's files, so
 * the next snapshot records an ordinary (conflict-free) tree.
 *
 * Must run inside the workspace's jj turn with its write gate held (the caller's `#rewriting`):
 * nothing else writes its files between jj's checkout and ours, and only files are written here,
 * never a jj commit from outside the workspace (only W's own process rewrites W@).
 */

/**
 * jj's list of conflicted paths: after a rebase, the lines under "There are unresolved conflicts at
 * these paths:"; from `jj resolve --list` (`header: false`), every line.
 */
export function parseConflictList(text: string, header = true): string[] {
  const lines = text.split('\n');
  const start = header ? lines.findIndex((l) => /unresolved conflicts at these paths/.test(l)) : -1;
  if (header && start < 0) return [];
  const paths: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^(.+?)\s+\d+-sided conflict/.exec(line);
    if (!m?.[1]) break;
    paths.push(m[1]);
  }
  return paths;
}

/** What the repair needs to know about the workspace. */
export interface RepairTarget {
  /** jj workspace name */
  id: string;
  /** backing directory */
  dir: string;
  /** mount label: names the incoming side in markers and copies */
  label: string;
}

/** Inputs of {@link repairRebase}. */
export interface RepairContext {
  rj: RepoJj;
  git: GitRunner;
  policy: InsertionPolicy;
}

/** What {@link repairConflicts} did. */
export interface Repair {
  /** Conflicts left for a person. */
  notes: ConflictNote[];
  /** The commits that met (main's, then W's own), as jj labelled them; empty when it did not. */
  sides: string[];
}

/** The terms of a 2-sided jj conflict, read from the commit's `jj:trees` header (side, base, side). */
interface ConflictTerms {
  base: string;
  ours: string;
  theirs: string;
  /** Commit ids jj named the sides by (`jj:conflict-labels`), ours then theirs, when present. */
  sides: string[];
}

/**
 * Reads how jj stored W@'s conflict: jj's git backend writes a conflicted commit with a header
 * `jj:trees <side> <base> <side>` (one tree per term) and, for a rebase, labels naming the
 * destination (ours) and the rebased revision (theirs). Undefined when it has more than two sides.
 */
async function conflictTerms(git: GitRunner, gitDir: string, commit: string): Promise<ConflictTerms | undefined> {
  const text = (await git.run(['cat-file', 'commit', commit], { gitDir, summary: 'git cat-file' })).stdout;
  const header = text.slice(0, text.indexOf('\n\n') < 0 ? text.length : text.indexOf('\n\n'));
  const trees = /^jj:trees (.+)$/m.exec(header)?.[1]?.trim().split(/\s+/) ?? [];
  if (trees.length !== 3) return undefined;
  const [ours = '', base = '', theirs = ''] = trees;
  // Continuation lines of the labels header start with a space; each label is "<change> <commit> ...".
  const labels = /^jj:conflict-labels (.*(?:\n .*)*)/m.exec(header)?.[1]?.split('\n').map((l) => l.trim().split(' ')[1] ?? '') ?? [];
  const sides = labels.length === 3 ? [labels[0]!, labels[2]!].filter((id) => /^[0-9a-f]+$/.test(id)) : [];
  return { base, ours, theirs, sides };
}

/**
 * Resolves `paths` (conflicted in W@, a 2-sided conflict such as a rebase onto `main` leaves) and
 * writes the outcome into W's files. The sides come from jj's own record of the conflict (base =
 * W's old parent, ours = `main`, theirs = W before the rebase). `commit` is W@'s commit id when the
 * caller knows it (the rebase reported it), else it is read. Returns undefined — and changes
 * nothing — for a conflict of more than two sides (only repos from before this merge have those).
 */
export async function repairConflicts(ctx: RepairContext, w: RepairTarget, paths: readonly string[], commit?: string): Promise<Repair | undefined> {
  const { rj, git } = ctx;
  const gitDir = rj.paths.gitDir;
  commit ??= (await rj.repo(['log', '--no-graph', '-r', `${w.id}@`, '-T', 'commit_id'])).stdout.trim();
  const terms = await conflictTerms(git, gitDir, commit);
  if (!terms) return undefined;
  const [base, ours, theirs] = await Promise.all([
    readEntries(git, gitDir, terms.base, paths),
    readEntries(git, gitDir, terms.ours, paths),
    readEntries(git, gitDir, terms.theirs, paths),
  ]);
  const files = [base, ours, theirs].flatMap((m) => [...m.values()].filter(isRegularFile).map((e) => e.oid));
  const blobs = await readBlobs(git, gitDir, files);
  const names: SideNames = { ours: 'main', theirs: w.label };
  const when = new Date();
  const outcomes = paths.map((path) =>
    resolvePath(path, { base: base.get(path), ours: ours.get(path), theirs: theirs.get(path) }, {
      names,
      policy: ctx.policy,
      when,
      blob: (oid) => {
        const b = blobs.get(oid);
        if (!b) throw new Error(`blob ${oid} was not read`);
        return b;
      },
    }),
  );
  await new WorkspaceWriter(git, gitDir, w.dir).apply(outcomes);
  return { notes: outcomes.flatMap((o) => (o.note ? [o.note] : [])), sides: terms.sides };
}

/** Writes {@link PathOutcome}s into a workspace directory, replacing what jj materialised there. */
class WorkspaceWriter {
  constructor(
    private readonly git: GitRunner,
    private readonly gitDir: string,
    private readonly dir: string,
  ) {}

  async apply(outcomes: readonly PathOutcome[]): Promise<void> {
    for (const o of outcomes) {
      await this.#put(o.path, o.put);
      if (o.copy) await this.#put(o.copy.path, o.copy.put);
    }
  }

  #inside(path: string): string {
    const full = resolve(this.dir, path);
    const rel = relative(this.dir, full);
    if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || rel.split(sep)[0] === '.jj') throw new Error(`refusing to write outside the workspace: ${path}`);
    return full;
  }

  async #put(path: string, put: Put | undefined): Promise<void> {
    const full = this.#inside(path);
    // jj materialised the conflict here (a marker file, or a description of a file/directory
    // clash): it goes, whatever it is, and the resolved version takes its place.
    const existing = await lstat(full).catch(() => undefined);
    if (existing) await rm(full, { recursive: true, force: true });
    if (put === undefined) return;
    if ('bytes' in put) return this.#writeFile(full, put.bytes, put.mode);
    const { entry } = put;
    if (entry.type === 'commit') return; // a submodule: jj does not check those out
    if (entry.type === 'tree') {
      const files = await readSubtree(this.git, this.gitDir, entry.oid, path);
      const blobs = await readBlobs(this.git, this.gitDir, [...files.values()].filter((e) => e.type === 'blob').map((e) => e.oid));
      for (const [p, e] of files) {
        const bytes = blobs.get(e.oid);
        if (bytes) await this.#writeEntry(this.#inside(p), e, bytes);
      }
      return;
    }
    const blobs = await readBlobs(this.git, this.gitDir, [entry.oid]);
    await this.#writeEntry(full, entry, blobs.get(entry.oid) ?? Buffer.alloc(0));
  }

  async #writeEntry(full: string, entry: TreeEntry, bytes: Buffer): Promise<void> {
    if (entry.mode === SYMLINK) {
      await mkdir(join(full, '..'), { recursive: true });
      await symlink(bytes.toString('utf8'), full);
      return;
    }
    await this.#writeFile(full, bytes, entry.mode);
  }

  async #writeFile(full: string, bytes: Buffer, mode: string): Promise<void> {
    await mkdir(join(full, '..'), { recursive: true });
    await writeFile(full, bytes, { mode: mode === EXECUTABLE ? 0o755 : 0o644 });
  }
}
