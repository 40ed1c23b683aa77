import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GitError, type GitRunner } from './git.js';
import type { UnsyncedPath, UnsyncedReport } from '../rpc/protocol.js';
import type { RefusedFile } from './repo-jj.js';

/**
 * What exists in a workspace but is not (and will not be) recorded in history, and why. jj skips a
 * directory holding `.git` without a word, refuses new files over the size limit with only a
 * warning, and honours ignore files: each of these paths lives in ONE
 * mount only, and closing that mount would delete the only copy. Computed on demand from the
 * backing directory and jj's git store (no jj process, so an idle repo stays at zero).
 */

/** Inputs of {@link scanUnsynced}. */
export interface ScanInput {
  git: GitRunner;
  /** jj's git store */
  gitDir: string;
  /** The backing workspace directory. */
  dir: string;
  /** The workspace's working-copy commit as last snapshotted (its tree is what history has). */
  commit: string;
  /** Files jj refused at its last snapshot. */
  refused: readonly RefusedFile[];
  /** The daemon-owned exclude file (droppings), to tell its rules from the user's. */
  excludeFile: string;
}

/**
 * FIFOs, sockets and device nodes hold no data of their own (the kernel carries a FIFO's or
 * socket's bytes; a device node is a number): a git fsmonitor socket or a tmux socket in a mount
 * loses nothing when the mount closes, so they are not reported (decision, issue 13).
 */
function isSpecial(e: Dirent): boolean {
  return e.isFIFO() || e.isSocket() || e.isCharacterDevice() || e.isBlockDevice();
}

/** Tracked paths of `commit` (one `git ls-tree`). */
async function trackedPaths(git: GitRunner, gitDir: string, commit: string): Promise<Set<string>> {
  const r = await git.run(['ls-tree', '-r', '-z', '--name-only', '--full-tree', commit], { gitDir, summary: 'git ls-tree' });
  return new Set(r.stdout.split('\0').filter((p) => p !== ''));
}

/** For each of `paths`, the ignore file whose rule matches it (one `git check-ignore`). */
async function ignoreSources(input: ScanInput, paths: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (paths.length === 0) return out;
  let stdout: string;
  try {
    stdout = (
      await input.git.run(['--work-tree', input.dir, 'check-ignore', '--no-index', '-v', '-z', '--stdin'], {
        gitDir: input.gitDir,
        // Paths on stdin are names, not pathspecs (git refuses the literal-pathspec switch here).
        input: `${paths.join('\0')}\0`,
        summary: 'git check-ignore',
      })
    ).stdout;
  } catch (error) {
    // Exit 1: none of them is ignored.
    if (error instanceof GitError && error.kind === 'failed' && error.exitCode === 1) return out;
    throw error;
  }
  // -v -z: source, line number, pattern, path — each NUL-terminated.
  const fields = stdout.split('\0');
  for (let i = 0; i + 3 < fields.length; i += 4) {
    const [source = '', , , path = ''] = fields.slice(i, i + 4);
    if (source !== '') out.set(path, source);
  }
  return out;
}

/** Walks `input.dir` (never `.jj`) and reports what history does not hold. */
export async function scanUnsynced(input: ScanInput): Promise<UnsyncedReport> {
  const tracked = await trackedPaths(input.git, input.gitDir, input.commit);
  const trackedDirs = new Set<string>();
  for (const p of tracked) for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) trackedDirs.add(p.slice(0, i));
  const refused = new Map(input.refused.map((r) => [r.path, r.reason]));
  const paths: UnsyncedPath[] = [];
  const untracked: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(input.dir, rel), { withFileTypes: true }).catch(() => [] as Dirent[]);
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (p === '.jj') continue;
      if (e.isDirectory()) {
        // jj does not descend into a directory that holds a .git (a nested repository).
        const git = await lstat(join(input.dir, p, '.git')).catch(() => undefined);
        if (git) paths.push({ path: `${p}/`, reason: 'git-repository', detail: 'a git repository: jj does not record nested repositories' });
        // A directory history knows nothing of is judged as a whole (an ignored node_modules/ is
        // one line, not thousands); one it knows is walked.
        else if (trackedDirs.has(p)) await walk(p);
        else untracked.push(`${p}/`);
        continue;
      }
      if (isSpecial(e)) continue;
      if (tracked.has(p)) continue;
      const tooLarge = refused.get(p);
      if (tooLarge !== undefined) paths.push({ path: p, reason: 'too-large', detail: tooLarge });
      else untracked.push(p);
    }
  };
  await walk('');
  // What is neither tracked nor refused is either ignored or simply not recorded yet (the next
  // round records it); only the ignore rules tell them apart.
  const sources = await ignoreSources(input, untracked);
  const ignored = new Map<string, number>();
  let droppings = 0;
  for (const p of untracked) {
    const source = sources.get(p);
    if (source === undefined) continue;
    if (source === input.excludeFile || source.endsWith('/info/exclude')) {
      droppings += 1;
      continue;
    }
    paths.push({ path: p, reason: 'ignored', detail: source });
    ignored.set(source, (ignored.get(source) ?? 0) + 1);
  }
  paths.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { paths, ignored: [...ignored].map(([source, count]) => ({ source, count })), droppings };
}
