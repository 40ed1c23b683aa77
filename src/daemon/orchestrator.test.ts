import { describe, expect, it } from 'vitest';
import { JjfsError } from '../errors.js';
import { createLogger } from '../log.js';
import type { RoundInfo } from '../rpc/protocol.js';
import type { RepoSyncStatus } from '../sync/repo-sync.js';
import { Orchestrator, repoLiveInfo, type LocalRounds, type MountTable, type RemoteRounds } from './orchestrator.js';

/** Fakes that record the order of every call, so the orderings the daemon relies on are checked. */
function fakes(opts: { remotes?: string[]; mounted?: string[]; conflicts?: Record<string, string[] | Error>; finalRound?: 'hang' } = {}) {
  const calls: string[] = [];
  const round = (repo: string): RoundInfo => ({ repo, converged: true, commits: 1, conflicts: [], problems: [] });
  const local: LocalRounds = {
    sync: (repos) => {
      calls.push(`local.sync ${repos.join(',')}`);
      return opts.finalRound === 'hang' && calls.includes('mounts.unmountAll') ? new Promise(() => undefined) : Promise.resolve(repos.map(round));
    },
    conflicts: (repo) => {
      calls.push(`local.conflicts ${repo}`);
      const c = opts.conflicts?.[repo] ?? [];
      return c instanceof Error ? Promise.reject(c) : Promise.resolve(c);
    },
    compact: () => Promise.resolve(undefined),
    history: (repo) => (repo === 'other' ? Promise.reject(new Error('git broke')) : Promise.resolve({ bytes: 4096, commits: 3, looseObjects: 1, packs: 0, operations: 5 })),
    status: (repo): RepoSyncStatus => ({ name: repo, conflicts: ['cached.md'], refusedFiles: [{ path: 'big.bin', reason: 'too large', workspace: 'w1' }], workspaces: [] }),
    stop: () => {
      calls.push('local.stop');
      return Promise.resolve();
    },
  };
  const remotes = new Set(opts.remotes ?? []);
  const remote: RemoteRounds = {
    repos: () => [...remotes],
    has: (repo) => remotes.has(repo),
    info: (repo) => (remotes.has(repo) ? { url: '/r.git', delayed: false, unpushed: 0 } : undefined),
    syncNow: (repo) => {
      calls.push(`remote.syncNow ${repo}`);
      return Promise.resolve({ info: { integrated: 'merge', pushed: true, idle: false, published: [] }, problems: repo === 'bad' ? ['w2: behind'] : [] });
    },
    startAll: () => void calls.push('remote.startAll'),
    pushPending: (ms) => {
      calls.push(`remote.pushPending ${ms}`);
      return Promise.resolve();
    },
    stop: () => {
      calls.push('remote.stop');
      return Promise.resolve();
    },
  };
  const mounts: MountTable = {
    mountedRepos: () => opts.mounted ?? ['notes'],
    remountAll: () => {
      calls.push('mounts.remountAll');
      return Promise.resolve();
    },
    unmountAll: () => {
      calls.push('mounts.unmountAll');
      return Promise.resolve();
    },
  };
  const known = new Set(['notes', 'bad', 'other']);
  const repoNames = (): string[] => [...known].sort();
  const requireRepo = (name: string): void => {
    if (!known.has(name)) throw new JjfsError('not-found', `No repo named "${name}".`);
  };
  const lines: string[] = [];
  const log = createLogger((l) => lines.push(l), 'daemon', 'debug');
  return { calls, local, remote, mounts, requireRepo, repoNames, log, lines };
}

describe('Orchestrator', () => {
  it('sync without --remote runs a local round of every mounted repo, or of the one named', async () => {
    const f = fakes({ mounted: ['notes', 'other'] });
    const o = new Orchestrator(f);
    expect((await o.sync(undefined, false)).map((r) => r.repo)).toEqual(['notes', 'other']);
    expect((await o.sync('other', false)).map((r) => r.repo)).toEqual(['other']);
    expect(f.calls).toEqual(['local.sync notes,other', 'local.sync other']);
    await expect(o.sync('nope', false)).rejects.toThrow(/No repo named "nope"/);
  });

  it('sync --remote runs the local round first, then the remote round, and lists conflicts again', async () => {
    const f = fakes({ remotes: ['notes', 'bad'], conflicts: { notes: ['merged.md'] } });
    const o = new Orchestrator(f);
    const rounds = await o.sync(undefined, true);
    expect(f.calls.indexOf('local.sync notes,bad')).toBeLessThan(f.calls.indexOf('remote.syncNow notes'));
    expect(rounds.find((r) => r.repo === 'notes')).toMatchObject({ converged: true, conflicts: ['merged.md'], remote: { pushed: true } });
    expect(rounds.find((r) => r.repo === 'bad')).toMatchObject({ converged: false, problems: ['w2: behind'] });
  });

  it('sync --remote refuses a repo without a remote, and no remote at all, naming the fix', async () => {
    const f = fakes({ remotes: [] });
    const o = new Orchestrator(f);
    await expect(o.sync(undefined, true)).rejects.toThrow(/No repo has a remote\. Add one with: jjfs remote add URL/);
    await expect(o.sync('notes', true)).rejects.toThrow(/Repo "notes" has no remote\. Add one with: jjfs remote add URL --repo notes/);
    expect(f.calls).toEqual([]);
  });

  it('starts mounts before remote rounds, and stops in order: unmount, last round, push, remote, engines', async () => {
    const f = fakes();
    const o = new Orchestrator(f);
    await o.start();
    await o.stop();
    expect(f.calls).toEqual(['mounts.remountAll', 'remote.startAll', 'mounts.unmountAll', 'local.sync notes', 'remote.pushPending 10000', 'remote.stop', 'local.stop']);
  });

  it('a last round that hangs is given up after its timeout and stopping goes on', async () => {
    const f = fakes({ finalRound: 'hang' });
    const o = new Orchestrator({ ...f, timeouts: { finalRoundMs: 20, pushMs: 5 } });
    await o.stop();
    expect(f.calls).toEqual(['mounts.unmountAll', 'local.sync notes', 'remote.pushPending 5', 'remote.stop', 'local.stop']);
    expect(f.lines.filter((l) => l.includes('final round did not finish in time'))).toHaveLength(1);
  });
});

describe('repoLiveInfo', () => {
  it('reports remote, history, conflicts, refused files; falls back to the cached conflicts (and no history) when listing fails', async () => {
    const f = fakes({ remotes: ['notes'], conflicts: { notes: ['a.md'], other: new Error('jj broke') } });
    const live = repoLiveInfo(f.local, f.remote);
    expect(await live('notes')).toEqual({
      remote: { url: '/r.git', delayed: false, unpushed: 0 },
      history: { bytes: 4096, commits: 3, looseObjects: 1, packs: 0, operations: 5 },
      conflicts: ['a.md'],
      refusedFiles: ['big.bin (too large)'],
    });
    expect(await live('other')).toEqual({ conflicts: ['cached.md'], refusedFiles: ['big.bin (too large)'] });
  });
});
