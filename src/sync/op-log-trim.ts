import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RepoJj } from './repo-jj.js';
import { countOperations } from './store-facts.js';
import { snapshotWorkspace } from './workspace-ops.js';

/** What one trim of a repo's jj operation log did. */
export interface OpLogTrimReport {
  opsBefore: number;
  opsAfter: number;
}

/** A workspace the trim brings onto the rewritten operation log. */
export interface TrimWorkspace {
  id: string;
  dir: string;
}

/** Argument of {@link trimOperationLog}. */
export interface OpLogTrimInit {
  rj: RepoJj;
  /** Every workspace the engine syncs in the repo, as of now (read at each step). */
  workspaces: () => readonly TrimWorkspace[];
  /** Runs `fn` with W's write gate held and its watcher suppressed (jj may rewrite W's files). */
  rewriting: <T>(id: string, fn: () => Promise<T>) => Promise<T>;
  /** Operations kept: the newest `keep` (at least 2). */
  keep: number;
  /**
   * Runs one step on the repo's serial queue (RepoSync's): the trim is three queue tasks, so a
   * round that comes due waits for one step, never for the whole trim.
   */
  queue: <T>(fn: () => Promise<T>) => Promise<T>;
}

/**
 * A program jj runs instead of `git gc` in `jj util gc` (it only checks the exit status): jj would
 * run `git gc --prune=now`, which repacks the whole store while every round waits (and prunes
 * loose objects by age, which nothing here vouches for). The store compactor packs and prunes
 * itself: incrementally, and with a full repack only once the packs have doubled.
 */
function noGitGc(): string {
  const found = ['/usr/bin/true', '/bin/true'].find((p) => existsSync(p));
  if (!found) throw new Error('cannot trim the operation log: no /usr/bin/true or /bin/true to stand in for git gc');
  return found;
}

/**
 * Trims the repo's jj operation log to its newest `keep` operations, and drops what only the
 * dropped ones referenced. jjfs never restores an operation (undo and restore work from commits),
 * so the log only has to be long enough for jj's own concurrency checks.
 *
 * Each step runs on the repo's serial queue (no other jj process of ours runs in the repo
 * meanwhile; workspaces are added and forgotten on it too). The order matters, for a kill -9 at
 * any point as much as for a clean run:
 * 1. Every workspace's write gate is taken (no write through a mount lands until step 4 is done)
 *    and each is snapshotted, so its files match what jj recorded.
 * 2. `jj op abandon ..CUT` (on the repo, no working copy): jj writes the kept operations again with
 *    new ids, then moves the op head. Killed before the move: nothing changed.
 * 3. The new head gets the old head's index (its view is the same, the index a superset), so the
 *    next jj command does not index all of history again while the gates are closed. Best effort:
 *    without it jj builds the index itself.
 * 4. Every working copy still names its old operation, now a "sibling" of the head: `jj workspace
 *    update-stale` in each points it at the new head. It snapshots at the OLD operation first and
 *    then checks out the commit the new head names: with an edit on disk that step 1 did not
 *    record, that commit would lack it and the checkout would overwrite the file (measured: the
 *    edit survives only in a divergent commit) — which is why the gates stay closed from step 1
 *    to here. The old operations still exist until step 6, which lets update-stale do this without
 *    a recovery commit. A workspace left behind (killed before its turn, or its update-stale
 *    failed) may take writes after the gates open; its next step gets jj's sibling error (jj-runner
 *    classifies it as stale) and WorkspaceSteps.inWorkspace recovers it with the gate held:
 *    update-stale, then the divergent commit holding the writes is squashed back into W@
 *    (recoverWorkspace). Gates released.
 * 5. `jj debug reindex` (next queue task): the index is rebuilt from the kept operations (old
 *    segments deleted), so commits only dropped operations knew — superseded snapshots — lose
 *    jj's keep refs. A kill here leaves no index for the head, which jj rebuilds by itself.
 * 6. `jj util gc --expire=now` (next queue task; git gc replaced, see noGitGc): deletes the
 *    unreachable operation and view files, and the keep refs of commits no kept operation
 *    references. Only after EVERY workspace moved in step 4: a working copy whose operation is gone
 *    needs a recovery commit. Git objects are not deleted here: the compactor's next full repack
 *    drops them (store-compactor.ts).
 * Commits reachable from `main` and every workspace's working-copy commit are referenced by the
 * kept head operation, so nothing in the files or in `main`'s history can be dropped.
 */
export async function trimOperationLog(init: OpLogTrimInit): Promise<OpLogTrimReport | undefined> {
  const { rj, rewriting, queue } = init;
  const keep = Math.max(2, Math.floor(init.keep));
  const opsBefore = await countOperations(rj.paths.repoDir);
  const moved = await queue(async () => {
    // Read on the queue: the engine's workspaces, and jj's, are what they are for this step.
    const workspaces = init.workspaces();
    const others = await unservedWorkspaces(rj, workspaces);
    const holdAll = async <T>(rest: readonly TrimWorkspace[], fn: () => Promise<T>): Promise<T> => {
      const [first, ...more] = rest;
      return first ? rewriting(first.id, () => holdAll(more, fn)) : fn();
    };
    return holdAll(workspaces, async () => {
      // One at a time: snapshots in parallel would leave concurrent operation heads to merge.
      for (const w of workspaces) await snapshotWorkspace(rj, w.dir);
      const ids = (await rj.repo(['op', 'log', '--no-graph', '-n', String(keep + 1), '-T', 'id ++ "\\n"'])).stdout.split('\n').filter((l) => l !== '');
      const cut = ids[keep];
      if (cut === undefined || ids[0] === undefined) return false;
      await rj.repo(['op', 'abandon', `..${cut}`]);
      await reuseIndex(rj.paths.repoDir, ids[0]);
      // In parallel: each moves only its own working copy, at the same head, and records nothing
      // (step 1 left every one clean). All settle before the gates open: a write must not land
      // in a workspace whose update-stale still runs. One that failed stays on the old operations
      // (no gc follows) and is recovered by its next step.
      const results = await Promise.allSettled([...workspaces, ...others].map((w) => rj.workspace(w.dir, ['workspace', 'update-stale'])));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return true;
    });
  });
  if (!moved) return undefined;
  await queue(() => rj.repo(['debug', 'reindex']));
  await queue(async () => {
    // Again on the queue: a workspace jj gained since step 4 was added at the new head (workspace
    // add runs on the queue), one with no directory would be stranded.
    await unservedWorkspaces(rj, init.workspaces());
    await rj.repo(['util', 'gc', '--expire=now', '--config', `git.executable-path=${noGitGc()}`]);
  });
  return { opsBefore, opsAfter: await countOperations(rj.paths.repoDir) };
}

/**
 * Workspaces jj knows that the engine does not sync: read-only views of a past state (`open
 * --at`), a temporary restore workspace left by a crash. Nothing writes in them, so no gate is
 * needed, but they must be moved in step 4 too: step 6 would strand them. Every workspace lives in
 * `workspacesDir/<name>`; one that is not there cannot be moved, so nothing is trimmed.
 */
async function unservedWorkspaces(rj: RepoJj, served: readonly TrimWorkspace[]): Promise<TrimWorkspace[]> {
  const ids = new Set(served.map((w) => w.id));
  const others: TrimWorkspace[] = [];
  for (const name of await rj.workspaceNames()) {
    if (ids.has(name)) continue;
    const dir = join(rj.paths.workspacesDir, name);
    if (!existsSync(join(dir, '.jj'))) throw new Error(`not trimming the operation log: jj workspace ${name} has no directory at ${dir}`);
    others.push({ id: name, dir });
  }
  return others;
}

/**
 * Step 3: links the single op head to the index of `oldHead` (jj's index store maps an operation
 * to its index segment with one small file per operation, `index/op_links/<op id>`). Written to a
 * temp file and renamed, as jj does: a torn link would make jj fail instead of re-indexing.
 */
async function reuseIndex(repoDir: string, oldHead: string): Promise<void> {
  const store = join(repoDir, '.jj', 'repo');
  const heads = await readdir(join(store, 'op_heads', 'heads')).catch(() => [] as string[]);
  const [head] = heads;
  if (heads.length !== 1 || head === undefined || head === oldHead) return;
  const links = join(store, 'index', 'op_links');
  const temp = join(links, `.jjfs-${randomUUID()}`);
  try {
    await copyFile(join(links, oldHead), temp);
    await rename(temp, join(links, head));
  } catch {
    await rm(temp, { force: true });
  }
}
