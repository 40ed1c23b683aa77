import { GitError, type GitRunner } from './git.js';
import { readRef, stagingRef, writeRef } from './remote-integrate.js';

/**
 * Talking to the remote: the only code that opens a network connection. Every call is a git child
 * process with a timeout (see ExecaGitRunner); none of them moves `main` or touches what jj reads,
 * so they run OUTSIDE the repo's serial queue and a slow remote never delays local sync.
 * Fetching uses git directly because `jj git fetch` in jj 0.42 needs git >= 2.41 (`--porcelain`)
 * and Debian 12 ships 2.39.
 */

/** Where a remote is and which of its branches `main` follows. */
export interface RemoteTarget {
  url: string;
  branch: string;
}

/** What `git ls-remote` says about a remote. */
export interface RemoteProbe {
  /** The branch HEAD names, when the remote has commits (unborn HEADs are not advertised). */
  headBranch?: string;
  /** branch name → commit */
  branches: Map<string, string>;
}

/** Timeouts of network operations (ms). */
export interface TransportTimeouts {
  probeMs?: number;
  fetchMs?: number;
  pushMs?: number;
}

/** Lists the remote's branches and HEAD (`git ls-remote --symref`). Throws GitError when it is not a reachable git repository. */
export async function probeRemote(git: GitRunner, url: string, timeoutMs?: number): Promise<RemoteProbe> {
  const r = await git.run(['ls-remote', '--symref', '--', url], {
    url,
    summary: `reading ${url}`,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  const probe: RemoteProbe = { branches: new Map() };
  for (const line of r.stdout.split('\n')) {
    const sym = /^ref: refs\/heads\/(\S+)\tHEAD$/.exec(line);
    if (sym?.[1]) {
      probe.headBranch = sym[1];
      continue;
    }
    const ref = /^([0-9a-f]{40,64})\trefs\/heads\/(\S+)$/.exec(line);
    if (ref?.[1] && ref[2]) probe.branches.set(ref[2], ref[1]);
  }
  return probe;
}

/**
 * Fetches `target.branch` into the store's staging ref and returns its commit, or undefined when
 * the remote has no such branch (an empty remote).
 */
export async function fetchBranch(
  git: GitRunner,
  gitDir: string,
  target: RemoteTarget,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string | undefined> {
  const ref = stagingRef(target.branch);
  try {
    await git.run(
      // Always a pack, never loose objects (fetch.unpackLimit=1): git keeps such a pack (a .keep
      // file) until it has written the ref, so a repack running meanwhile never drops what the
      // fetch wrote (store-compactor.ts prunes unreachable objects without a grace period).
      ['-c', 'fetch.unpackLimit=1', 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-auto-gc', '--', target.url, `+refs/heads/${target.branch}:${ref}`],
      {
        gitDir,
        url: target.url,
        summary: `fetching ${target.branch} from ${target.url}`,
        ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
    );
  } catch (error) {
    if (error instanceof GitError && /couldn't find remote ref/i.test(error.stderr)) {
      await writeRef(git, gitDir, ref, undefined);
      return undefined;
    }
    throw error;
  }
  return readRef(git, gitDir, ref);
}

/** Outcome of a push: `rejected` means the remote moved (not a fast-forward): fetch, integrate, retry. */
export type PushOutcome = 'pushed' | 'rejected';

/**
 * Pushes commit `sha` to `target.branch`. Never forced: git refuses anything that is not a
 * fast-forward of the remote branch, so no commit on the remote is ever dropped.
 */
export async function pushCommit(
  git: GitRunner,
  gitDir: string,
  target: RemoteTarget,
  sha: string,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<PushOutcome> {
  try {
    await git.run(['push', '--porcelain', '--no-verify', '--', target.url, `${sha}:refs/heads/${target.branch}`], {
      gitDir,
      url: target.url,
      summary: `pushing ${target.branch} to ${target.url}`,
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return 'pushed';
  } catch (error) {
    // Porcelain: "!\t<src>:<dst>\t[rejected] (fetch first)" or "(non-fast-forward)".
    if (error instanceof GitError && /^!\t.*\t\[rejected\]/m.test(error.stdout)) return 'rejected';
    throw error;
  }
}
