import { createHash } from 'node:crypto';
import { JjfsError } from '../errors.js';
import { restoreMessage, undoMessage } from '../history/describe.js';
import { restoreBeside, restoreOnMain, revertOnMain, sameContent } from '../history/jj-change.js';
import {
  diffBetween,
  diffOf,
  entryOf,
  fileBytes,
  logEntries,
  firstParentLine,
  pathAt,
  resolveRevision,
  resolveTime,
  statOfGitDiff,
} from '../history/jj-history.js';
import { normalizeRepoPath } from '../history/repo-path.js';
import { isIsoInstant } from '../history/time.js';
import type { Logger } from '../log.js';
import type { CommitRef, HistoryEntry, Methods, RoundInfo } from '../rpc/protocol.js';
import { INITIAL_COMMIT_MESSAGE } from '../sync/repo-init.js';
import type { RepoJj } from '../sync/repo-jj.js';
import type { RepoSync, RoundReport } from '../sync/repo-sync.js';

type Result<M extends keyof Methods> = Promise<Methods[M]['result']>;

/** How far back `undo` looks for a change that is not yet undone. */
const UNDO_WINDOW = 1_000;

/** What history needs of the sync side (SyncHub implements it). */
export interface HistorySync {
  /** The repo's jj handle for read-only questions and commits made on the repo. */
  repoJj(repo: string): RepoJj;
  /** The repo's engine: `flush` before a query, `exclusive` for restore and undo. */
  engine(repo: string): Pick<RepoSync, 'flush' | 'exclusive'>;
  /** A round's report as the CLI sees it. */
  roundInfo(repo: string, report: RoundReport): Promise<RoundInfo>;
}

/** Constructor argument of {@link HistoryService}. */
export interface HistoryServiceInit {
  /** Refuses a name that is not a repo. */
  repos: { require(name: string): void };
  sync: HistorySync;
  log: Logger;
}

/**
 * History for every repo: log, show, diff (read-only, on the private repo), restore and undo
 * (new commits on main, made inside `RepoSync.exclusive` with `recordFirst`: every mount's pending
 * edits are recorded first, and the result reaches every mount through the normal fan-out).
 */
export class HistoryService {
  private readonly repos: HistoryServiceInit['repos'];
  private readonly hub: HistorySync;
  private readonly logger: Logger;

  constructor(init: HistoryServiceInit) {
    this.repos = init.repos;
    this.hub = init.sync;
    this.logger = init.log;
  }

  /**
   * Resolves `at`: an ISO 8601 instant is a time (state of main then), anything else a jj revision.
   * Edits waiting for their debounce are committed first: they were made before "now".
   */
  async resolveAt(repo: string, at: string): Promise<CommitRef> {
    this.repos.require(repo);
    const rj = this.hub.repoJj(repo);
    await this.hub.engine(repo).flush();
    if (isIsoInstant(at)) return resolveTime(rj, repo, new Date(at));
    return resolveRevision(rj, at);
  }

  async log(params: Methods['log']['params']): Result<'log'> {
    const { repo } = params;
    this.repos.require(repo);
    const path = params.path === undefined ? undefined : normalizeRepoPath(params.path);
    const since = params.since === undefined ? undefined : instant(params.since, 'since');
    if (params.limit !== undefined && (!Number.isInteger(params.limit) || params.limit < 1)) {
      throw new JjfsError('invalid-input', `--limit must be a whole number of at least 1 (got ${params.limit}).`);
    }
    await this.hub.engine(repo).flush();
    const entries = await logEntries(this.hub.repoJj(repo), { path: path === '' ? undefined : path, since, limit: params.limit });
    if (path && entries.length === 0 && since === undefined) {
      throw new JjfsError('not-found', `${path} has no history in repo "${repo}". Check the spelling; see every version with: jjfs log --repo ${repo}`);
    }
    return { repo, ...(path ? { path } : {}), entries };
  }

  async show(params: Methods['show']['params']): Result<'show'> {
    const { repo } = params;
    this.repos.require(repo);
    const path = params.path === undefined ? undefined : normalizeRepoPath(params.path);
    await this.hub.engine(repo).flush();
    const rj = this.hub.repoJj(repo);
    const version = await this.resolveAt(repo, params.at);
    if (path === undefined) {
      return { kind: 'change', repo, entry: await entryOf(rj, version.commit), diff: await diffOf(rj, version.commit) };
    }
    const at = await pathAt(rj, version.commit, path);
    if (at.kind === 'missing') throw await this.missingAt(rj, repo, path, version);
    if (at.kind === 'dir') return { kind: 'dir', repo, path, version, entries: at.entries };
    const bytes = at.fileType === 'symlink' ? Buffer.alloc(0) : await fileBytes(rj, version.commit, path);
    return {
      kind: 'file',
      repo,
      path,
      version,
      fileType: at.fileType,
      executable: at.executable,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      content: bytes.toString('base64'),
    };
  }

  async diff(params: Methods['diff']['params']): Result<'diff'> {
    const { repo } = params;
    this.repos.require(repo);
    const path = params.path === undefined ? undefined : normalizeRepoPath(params.path) || undefined;
    await this.hub.engine(repo).flush();
    const rj = this.hub.repoJj(repo);
    let from: CommitRef;
    let to: CommitRef;
    let diff: string;
    if (params.from !== undefined) {
      from = await this.resolveAt(repo, params.from);
      to = await resolveRevision(rj, 'main');
      diff = await diffBetween(rj, from.commit, to.commit, path);
    } else {
      const [last] = await logEntries(rj, { path, limit: 1 });
      if (!last) throw new JjfsError('not-found', `${path ?? `Repo "${repo}"`} has no recorded change yet. See: jjfs log --repo ${repo}`);
      from = last.parents[0] ? await resolveRevision(rj, last.parents[0]) : last;
      to = last;
      diff = await diffOf(rj, last.commit, path);
    }
    return { repo, ...(path ? { path } : {}), from, to, files: statOfGitDiff(diff), diff };
  }

  async restore(params: Methods['restore']['params']): Result<'restore'> {
    const { repo } = params;
    this.repos.require(repo);
    const path = normalizeRepoPath(params.path ?? '');
    const to = params.to === undefined ? undefined : normalizeRepoPath(params.to, 'NEWPATH');
    if (to !== undefined) checkBeside(path, to);
    const rj = this.hub.repoJj(repo);
    const flushed = await this.hub.engine(repo).flush(); // "now" includes what was saved a moment ago
    // Everything is checked before anything is changed: bad input changes nothing.
    const from = params.at === undefined ? await this.lastVersionOfDeleted(rj, repo, path) : await this.resolveAt(repo, params.at);
    if (path !== '' && (await pathAt(rj, from.commit, path)).kind === 'missing') throw await this.missingAt(rj, repo, path, from);
    if (to !== undefined) await requireFree(rj, 'main', to);
    const what = path === '' ? 'the whole tree' : to === undefined ? path : `${path} (as ${to})`;
    const engine = this.hub.engine(repo);
    const { result, recorded, report } = await engine.exclusive(async ({ main }) => {
      const message = restoreMessage(new Date(), what, from);
      let outcome;
      if (to !== undefined) {
        await requireFree(rj, main, to); // the first round may have recorded a new file there
        outcome = await restoreBeside(rj, main, from.commit, path, to, message);
      } else {
        outcome = await restoreOnMain(rj, main, from.commit, path, message);
      }
      // Verify what was written against the version it came from (no commit: main already had it).
      return { ...outcome, verified: await sameContent(rj, from.commit, outcome.commit ?? main, path, to) };
    }, { recordFirst: true });
    const verified = result.verified;
    if (!verified) this.logger.error('restore did not reproduce the version', { repo, path, from: from.commit, commit: result.commit });
    this.logger.info('restored', { repo, path: what, from: from.commit, commit: result.commit ?? '(no change)' });
    return {
      repo,
      path,
      ...(to !== undefined ? { to } : {}),
      from,
      ...(result.commit ? { commit: result.commit } : {}),
      verified,
      recordedFirst: flushed + (recorded?.committed.length ?? 0),
      round: await this.hub.roundInfo(repo, report),
    };
  }

  async undo(params: Methods['undo']['params']): Result<'undo'> {
    const { repo } = params;
    this.repos.require(repo);
    const rj = this.hub.repoJj(repo);
    const engine = this.hub.engine(repo);
    const { result, recorded, report } = await engine.exclusive(async ({ main }) => {
      const target = await lastUndoable(rj, repo);
      const outcome = await revertOnMain(rj, main, target.commit, undoMessage(new Date(), target));
      // Reversing the newest change must give back exactly the tree before it.
      const parent = target.parents.length === 1 ? target.parents[0] : undefined;
      const verified = target.commit === main && parent !== undefined && (await sameContent(rj, parent, outcome.commit ?? 'main', ''));
      return { target, outcome, verified };
    }, { recordFirst: true });
    this.logger.info('undone', { repo, undone: result.target.commit, commit: result.outcome.commit ?? '(no change)' });
    return {
      repo,
      undone: result.target,
      ...(result.outcome.commit ? { commit: result.outcome.commit } : {}),
      verified: result.verified,
      recordedFirst: recorded?.committed.length ?? 0,
      round: await this.hub.roundInfo(repo, report),
    };
  }

  /** The last version of a path that no longer exists in main (restore without --at). */
  private async lastVersionOfDeleted(rj: RepoJj, repo: string, path: string): Promise<CommitRef> {
    if (path === '') throw new JjfsError('invalid-input', 'Restoring the whole tree needs --at REV|TIME.');
    if ((await pathAt(rj, 'main', path)).kind !== 'missing') {
      throw new JjfsError('invalid-input', `${path} exists; say which version to restore with --at REV|TIME (see: jjfs log ${path}).`);
    }
    const [deletion] = await logEntries(rj, { path, limit: 1 });
    const before = deletion?.parents[0];
    if (!deletion || !before) throw new JjfsError('not-found', `${path} has no history in repo "${repo}". See every version with: jjfs log --repo ${repo}`);
    return resolveRevision(rj, before);
  }

  /** The not-found error for a path absent at a version, saying when it did exist. */
  private async missingAt(rj: RepoJj, repo: string, path: string, version: CommitRef): Promise<JjfsError> {
    const versions = await logEntries(rj, { path, limit: 1 });
    const hint = versions.length > 0 ? `see its versions with: jjfs log ${path} --repo ${repo}` : `it has no history in repo "${repo}"`;
    return new JjfsError('not-found', `${path} did not exist at ${version.commit.slice(0, 12)} (${version.time}); ${hint}.`);
  }
}

function instant(value: string, name: string): Date {
  if (!isIsoInstant(value)) throw new JjfsError('invalid-input', `"${name}" must be an ISO 8601 instant such as 2026-11-20T10:00:00Z (got ${JSON.stringify(value)}).`);
  return new Date(value);
}

function checkBeside(path: string, to: string): void {
  if (path === '') throw new JjfsError('invalid-input', '--to needs a PATH: it writes that file or directory beside the current one.');
  if (to === '' || to === path || to.startsWith(`${path}/`) || path.startsWith(`${to}/`)) {
    throw new JjfsError('invalid-input', `--to ${to || '.'} must be a new path outside ${path} (and not containing it).`);
  }
}

/** already-exists when `to` (or a file where one of its parent directories should be) is in `commit`. */
async function requireFree(rj: RepoJj, commit: string, to: string): Promise<void> {
  if ((await pathAt(rj, commit, to)).kind !== 'missing') {
    throw new JjfsError('already-exists', `${to} already exists; choose another NEWPATH, or restore in place without --to.`);
  }
  const parts = to.split('/');
  for (let i = 1; i < parts.length; i += 1) {
    const parent = parts.slice(0, i).join('/');
    if ((await pathAt(rj, commit, parent)).kind === 'file') {
      throw new JjfsError('invalid-input', `--to ${to}: ${parent} is a file, not a directory. Choose another NEWPATH.`);
    }
  }
}

/**
 * The newest change on main's first-parent line that is neither an undo nor undone by one: repeated
 * `undo` walks back through history instead of undoing its own undo.
 */
async function lastUndoable(rj: RepoJj, repo: string): Promise<HistoryEntry> {
  const undone = new Set<string>();
  for (const entry of await firstParentLine(rj, UNDO_WINDOW)) {
    if (entry.action === 'undo') {
      if (entry.source) undone.add(entry.source);
      continue;
    }
    if (undone.has(entry.commit)) continue;
    if (entry.description === `${INITIAL_COMMIT_MESSAGE}\n`) break;
    return entryOf(rj, entry.commit);
  }
  throw new JjfsError('not-found', `Nothing to undo in repo "${repo}": no change is left that was not undone already.`);
}
