/**
 * Read-only history queries. Every call goes through `RepoJj.repo` (`--ignore-working-copy` on the
 * private repo), so no query ever snapshots or touches a workspace, let alone a mount.
 */
import { JjfsError } from '../errors.js';
import type { CommitRef, FileChange, HistoryEntry } from '../rpc/protocol.js';
import { JjError } from '../sync/jj-runner.js';
import { INITIAL_COMMIT_MESSAGE } from '../sync/repo-init.js';
import { fileFileset, rootFileset, type RepoJj } from '../sync/repo-jj.js';
import { parseOrigin, summarize } from './describe.js';

/** `show` refuses files larger than this: the content travels base64-encoded in one RPC answer. */
export const MAX_SHOW_BYTES = 32 * 1024 * 1024;

/** The fileset naming `path` and everything below it (`''` is the whole tree). */
export function pathFileset(path: string): string {
  return path === '' ? 'all()' : rootFileset(path);
}


/** One JSON object per commit: jj's own serialisation plus conflict flag and per-file stats. */
function rowTemplate(fileset: string | null): string {
  const file = [
    '"{\\"path\\":" ++ json(e.path())',
    '",\\"status\\":" ++ json(e.status())',
    '",\\"added\\":" ++ e.lines_added()',
    '",\\"removed\\":" ++ e.lines_removed() ++ "}"',
  ].join(' ++ ');
  const files = fileset === null ? '""' : `self.diff(${JSON.stringify(fileset)}).stat().files().map(|e| ${file}).join(",")`;
  return `"{\\"c\\":" ++ json(self) ++ ",\\"conflict\\":" ++ if(conflict, "true", "false") ++ ",\\"files\\":[" ++ ${files} ++ "]}\\n"`;
}

interface RawRow {
  c: {
    commit_id: string;
    change_id: string;
    parents: string[];
    description: string;
    committer: { timestamp: string };
  };
  conflict: boolean;
  files: FileChange[];
}

/** Parses the output of a log made with {@link rowTemplate}. */
export function parseRows(stdout: string): HistoryEntry[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => toEntry(JSON.parse(line) as RawRow));
}

function toEntry(row: RawRow): HistoryEntry {
  const origin = parseOrigin(row.c.description);
  // The first line carries the commit time with milliseconds; git stores whole seconds only.
  const time = origin.time ?? new Date(row.c.committer.timestamp).toISOString();
  return {
    commit: row.c.commit_id,
    change: row.c.change_id,
    time,
    by: origin.by,
    mount: origin.mount,
    ...(origin.action ? { action: origin.action } : {}),
    ...(origin.note ? { note: origin.note } : {}),
    ...(origin.source ? { source: origin.source } : {}),
    description: row.c.description,
    parents: row.c.parents,
    files: row.files,
    summary: summarize(row.files),
    conflict: row.conflict,
  };
}

/** A JjError from a query on user input, as the error the user should see. */
export function userError(error: unknown, what: string): unknown {
  if (!(error instanceof JjError)) return error;
  const detail = error.stderr.split('\n').find((l) => l.startsWith('Error:'))?.slice(7) ?? error.message;
  const fix = 'Give a commit or change id from `jjfs log`, or a time such as 2h, yesterday or 2026-11-20T10:00:00Z.';
  if (/doesn't exist|No such path|not found|Unknown/i.test(error.stderr)) {
    return new JjfsError('not-found', `No version ${what}: ${detail}. ${fix}`);
  }
  if (/parse|syntax|invalid|expected/i.test(error.stderr)) {
    return new JjfsError('invalid-input', `${what} is neither a time nor a revision (${detail}). ${fix}`);
  }
  return error;
}

/** The versions of `path` (or of the repo when `path` is undefined) in `::main`, newest first. */
export async function logEntries(
  rj: RepoJj,
  opts: { path?: string | undefined; since?: Date | undefined; limit?: number | undefined },
): Promise<HistoryEntry[]> {
  const fileset = opts.path === undefined ? null : pathFileset(opts.path);
  // Time filter in the revset with slack (git keeps whole seconds), then exactly below.
  const since = opts.since ? ` & committer_date(after:${JSON.stringify(new Date(opts.since.getTime() - 5_000).toISOString())})` : '';
  const args = ['log', '--no-graph', '-r', `::main ~ root()${since}`, '-T', rowTemplate(fileset ?? 'all()')];
  if (opts.limit !== undefined) args.push('-n', String(opts.limit + 1)); // +1: the initial commit may be dropped
  if (fileset !== null) args.push(fileset);
  const entries = parseRows((await rj.repo(args)).stdout).filter(
    (e) => !(e.files.length === 0 && e.description === `${INITIAL_COMMIT_MESSAGE}\n`) && (!opts.since || Date.parse(e.time) >= opts.since.getTime()),
  );
  return opts.limit === undefined ? entries : entries.slice(0, opts.limit);
}

/** The newest `limit` commits of main's first-parent line, without file stats, newest first. */
export async function firstParentLine(rj: RepoJj, limit: number): Promise<HistoryEntry[]> {
  return parseRows((await rj.repo(['log', '--no-graph', '-n', String(limit), '-r', 'first_ancestors(main) ~ root()', '-T', rowTemplate(null)])).stdout);
}

/** One commit with its per-file stats (for `show REV` and `undo`). */
export async function entryOf(rj: RepoJj, commit: string): Promise<HistoryEntry> {
  const [entry] = parseRows((await rj.repo(['log', '--no-graph', '-r', commit, '-T', rowTemplate('all()')])).stdout);
  if (!entry) throw new JjfsError('not-found', `Commit ${commit} is not in the repo.`);
  return entry;
}

/** Resolves a jj revision to exactly one commit; not-found / invalid-input with the fix otherwise. */
export async function resolveRevision(rj: RepoJj, rev: string): Promise<CommitRef> {
  let rows: HistoryEntry[];
  try {
    rows = parseRows((await rj.repo(['log', '--no-graph', '-n', '2', '-r', rev, '-T', rowTemplate(null)])).stdout);
  } catch (error) {
    throw userError(error, JSON.stringify(rev));
  }
  const [only, second] = rows;
  if (!only) throw new JjfsError('not-found', `The revision ${JSON.stringify(rev)} names no commit. See the versions with: jjfs log`);
  if (second) {
    throw new JjfsError('invalid-input', `The revision ${JSON.stringify(rev)} names more than one commit; give one commit id from \`jjfs log\`.`);
  }
  return { commit: only.commit, change: only.change, time: only.time };
}

/**
 * The state of `main` at `when`: the newest commit on main's first-parent line recorded at or before
 * `when`. not-found when the repo's history starts later.
 */
export async function resolveTime(rj: RepoJj, repo: string, when: Date): Promise<CommitRef> {
  const t = when.getTime();
  // git keeps whole seconds and the commit happens just after the time in its message: 5 s slack.
  const before = new Date(Math.ceil((t + 5_000) / 1000) * 1000).toISOString();
  const revset = `first_ancestors(main) & committer_date(before:${JSON.stringify(before)}) ~ root()`;
  for (const limit of [64, undefined]) {
    const args = ['log', '--no-graph', '-r', revset, '-T', rowTemplate(null), ...(limit ? ['-n', String(limit)] : [])];
    const rows = parseRows((await rj.repo(args)).stdout);
    const found = rows.find((r) => Date.parse(r.time) <= t);
    if (found) return { commit: found.commit, change: found.change, time: found.time };
    if (limit === undefined || rows.length < limit) break;
  }
  const first = parseRows((await rj.repo(['log', '--no-graph', '-r', 'roots(first_ancestors(main) ~ root())', '-T', rowTemplate(null)])).stdout)[0];
  throw new JjfsError(
    'not-found',
    `Repo "${repo}" has no version at or before ${when.toISOString()}${first ? `; its history starts at ${first.time}` : ''}. See the versions with: jjfs log --repo ${repo}`,
  );
}

/** What is at `path` in `commit`. */
export type PathAt =
  | { kind: 'missing' }
  | { kind: 'file'; executable: boolean; fileType: string }
  | { kind: 'dir'; entries: string[] };

/** Whether `path` is a file, a directory or absent in `commit`. */
export async function pathAt(rj: RepoJj, commit: string, path: string): Promise<PathAt> {
  const out = await rj.repo(['file', 'list', '-r', commit, '-T', 'json(path) ++ "\\t" ++ file_type ++ "\\t" ++ executable ++ "\\n"', pathFileset(path)]);
  const rows = out.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [p = '""', type = '', exec = ''] = l.split('\t');
      return { path: JSON.parse(p) as string, type, executable: exec === 'true' };
    });
  const exact = rows.find((r) => r.path === path);
  if (exact) return { kind: 'file', executable: exact.executable, fileType: exact.type };
  const prefix = path === '' ? '' : `${path}/`;
  const below = rows.filter((r) => r.path.startsWith(prefix)).map((r) => r.path);
  return below.length > 0 ? { kind: 'dir', entries: below } : { kind: 'missing' };
}

/** The bytes of file `path` in `commit` (conflicts as markers); at most {@link MAX_SHOW_BYTES}. */
export async function fileBytes(rj: RepoJj, commit: string, path: string): Promise<Buffer> {
  try {
    const r = await rj.repoBytes(['file', 'show', '-r', commit, fileFileset(path)], MAX_SHOW_BYTES);
    return Buffer.from(r.stdoutBytes ?? new Uint8Array());
  } catch (error) {
    if (error instanceof JjError && error.kind === 'too-large') {
      throw new JjfsError(
        'invalid-input',
        `${path} is larger than ${MAX_SHOW_BYTES / 1024 / 1024} MiB, too large to show. Get it with: jjfs restore ${path} --at ${commit.slice(0, 12)} --to NEWPATH, or jjfs open REPO DIR --at ${commit.slice(0, 12)}`,
      );
    }
    throw error;
  }
}

/** Git-style diff between two commits (optionally limited to `path`). */
export async function diffBetween(rj: RepoJj, from: string, to: string, path?: string): Promise<string> {
  const args = ['diff', '--git', '--from', from, '--to', to];
  if (path !== undefined) args.push(pathFileset(path));
  return (await rj.repo(args)).stdout;
}

/** Git-style diff of what `commit` itself changed (optionally limited to `path`). */
export async function diffOf(rj: RepoJj, commit: string, path?: string): Promise<string> {
  const args = ['diff', '--git', '-r', commit];
  if (path !== undefined) args.push(pathFileset(path));
  return (await rj.repo(args)).stdout;
}

/**
 * Per-file stats read from a git-style diff (`jj diff --git`): lines added and removed, and whether
 * the file was created or deleted. Binary files count no lines.
 */
export function statOfGitDiff(diff: string): FileChange[] {
  const files: FileChange[] = [];
  let current: FileChange | undefined;
  let inHunk = false;
  for (const line of diff.split('\n')) {
    const header = /^diff --git a\/(.*) b\/(.*)$/.exec(line);
    if (header) {
      current = { path: header[2] ?? '', status: 'modified', added: 0, removed: 0 };
      files.push(current);
      inHunk = false;
      continue;
    }
    if (!current) continue;
    if (!inHunk) {
      if (line.startsWith('new file mode')) current.status = 'added';
      else if (line.startsWith('deleted file mode')) current.status = 'removed';
      else if (line.startsWith('rename to ')) current.status = 'renamed';
      else if (line.startsWith('@@')) inHunk = true;
      continue;
    }
    if (line.startsWith('+')) current.added += 1;
    else if (line.startsWith('-')) current.removed += 1;
  }
  return files;
}
