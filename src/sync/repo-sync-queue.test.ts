import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { openGate } from './gate.js';
import type { GitRunner } from './git.js';
import type { JjResult, JjRunner, JjRunOptions } from './jj-runner.js';
import { RepoSync } from './repo-sync.js';

/**
 * A fake jj that models just enough (main, each workspace's parent, a dirty flag) to check the
 * engine's scheduling: serialisation, one process per workspace, no work when idle.
 */
class FakeJj implements JjRunner {
  main = 'm0';
  n = 0;
  parents = new Map<string, string>();
  dirty = new Set<string>();
  inFlightByCwd = new Map<string, number>();
  maxPerCwd = 0;
  mainMoversInFlight = 0;
  maxMainMovers = 0;
  calls: string[] = [];
  /** Workspaces whose next rebase fails (jj's snapshot on a full disk), once each. */
  failNextRebase = new Set<string>();
  /** Called after a workspace's commit (a late watcher event can be simulated from it). */
  onCommit: ((ws: string) => void) | undefined;

  async run(args: readonly string[], o: JjRunOptions): Promise<JjResult> {
    const a = args.filter((x, i) => !(x === '--config-file' || args[i - 1] === '--config-file'));
    const cmd = a.filter((x) => x !== '--ignore-working-copy');
    this.calls.push(`${o.cwd}:${cmd[0] ?? ''}`);
    const c = (this.inFlightByCwd.get(o.cwd) ?? 0) + 1;
    this.inFlightByCwd.set(o.cwd, c);
    this.maxPerCwd = Math.max(this.maxPerCwd, o.cwd === '/r/repo' ? 0 : c);
    const moves = cmd[0] === 'commit' || cmd[0] === 'bookmark';
    if (moves) this.maxMainMovers = Math.max(this.maxMainMovers, ++this.mainMoversInFlight);
    await new Promise((r) => setTimeout(r, 2));
    try {
      const ws = o.cwd.split('/').pop() ?? '';
      let stdout = '';
      if (cmd[0] === 'log' && o.cwd === '/r/repo') {
        stdout = `${this.main}\tchm\t\t\t---\tmain\n`;
        for (const [w, p] of this.parents) stdout += `wc-${w}\tch-${w}\t${w}@\t${p}\t---\t\n`;
      } else if (cmd[0] === 'log') {
        stdout = `${this.dirty.has(ws) ? 'dirty' : 'clean'} ch-${ws}`;
      } else if (cmd[0] === 'rebase' && this.failNextRebase.delete(ws)) {
        throw new Error('No space left on device');
      } else if (cmd[0] === 'commit') {
        this.main = `m${++this.n}`;
        this.parents.set(ws, this.main);
        this.dirty.delete(ws);
        this.onCommit?.(ws);
      } else if (cmd[0] === 'rebase') {
        this.parents.set(ws, this.main);
      }
      return { args, cwd: o.cwd, stdout, stderr: '', durationMs: 1 };
    } finally {
      this.inFlightByCwd.set(o.cwd, (this.inFlightByCwd.get(o.cwd) ?? 1) - 1);
      if (moves) this.mainMoversInFlight--;
    }
  }
}

/** No git: the engine reads git objects only when a rebase reports conflicts, which this fake never does. */
const noGit: GitRunner = { run: () => Promise.reject(new Error('git is not used in this test')) };

describe('RepoSync scheduling (fake jj)', () => {
  it('serialises main movers, never overlaps a workspace, debounces, idles', async () => {
    const jj = new FakeJj();
    const e = new RepoSync({ name: 'r', repoHome: '/r', jj, git: noGit, gate: openGate, log: silentLogger, options: { debounceMs: 20, maxWaitMs: 100 } });
    const ids = ['a', 'b', 'c', 'd'];
    for (const id of ids) jj.parents.set(id, 'm0');
    await Promise.all(ids.map((id) => e.attach({ id, dir: `/r/workspaces/${id}`, label: id })));
    for (let i = 0; i < 20; i++) {
      for (const id of ids) {
        jj.dirty.add(id);
        e.markDirty(id);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const report = await e.syncNow();
    expect(report.behind).toEqual([]);
    expect(jj.maxMainMovers).toBe(1);
    expect(jj.maxPerCwd).toBe(1);
    for (const id of ids) expect(jj.parents.get(id)).toBe(jj.main);
    const calls = jj.calls.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(jj.calls.length).toBe(calls);
    await e.close();
  });

  it('a workspace whose commit failed is retried even though the same round brought it onto main', async () => {
    const jj = new FakeJj();
    const e = new RepoSync({ name: 'r', repoHome: '/r', jj, git: noGit, gate: openGate, log: silentLogger, options: { debounceMs: 1, maxWaitMs: 5 } });
    for (const id of ['a', 'b']) jj.parents.set(id, 'm0');
    for (const id of ['a', 'b']) await e.attach({ id, dir: `/r/workspaces/${id}`, label: id });
    // One round: b commits (main moves); a's commit step first moves a onto the new main, and that
    // rebase fails (as jj's snapshot does on a full disk); then the fan-out moves a onto main, which
    // succeeds. Nobody writes again: only the retry can commit a's edit.
    jj.failNextRebase.add('a');
    for (const id of ['b', 'a']) {
      jj.dirty.add(id);
      e.markDirty(id);
    }
    const deadline = Date.now() + 5_000; // the first retry comes after 1 s
    while (jj.dirty.has('a') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(jj.failNextRebase.has('a'), 'the failing rebase was attempted').toBe(false);
    expect(jj.dirty.has('a'), "a's edit was never committed after its commit failed").toBe(false);
    expect(jj.parents.get('a')).toBe(jj.main);
    await e.close();
  });

  it('jjfs sync brings every workspace onto main, also one marked again while its round ran', async () => {
    const jj = new FakeJj();
    const e = new RepoSync({ name: 'r', repoHome: '/r', jj, git: noGit, gate: openGate, log: silentLogger, options: { debounceMs: 1, maxWaitMs: 5 } });
    for (const id of ['a', 'b']) jj.parents.set(id, 'm0');
    for (const id of ['a', 'b']) await e.attach({ id, dir: `/r/workspaces/${id}`, label: id });
    for (const id of ['a', 'b']) jj.dirty.add(id);
    // a commits first; a watcher event for the write it just committed arrives late, during the
    // round; then b's commit moves main past a.
    jj.onCommit = (ws) => {
      if (ws === 'a') e.markDirty('a');
    };
    const report = await e.syncNow();
    jj.onCommit = undefined;
    expect(report.committed).toEqual(['a', 'b']);
    expect(report.behind).toEqual([]);
    expect(report.failed).toEqual([]);
    expect(jj.parents.get('a')).toBe(jj.main);
    expect(jj.parents.get('b')).toBe(jj.main);
    await e.close();
  });

  it('a queued jjfs sync goes ahead of a queued maintenance step and takes over a queued debounced round', async () => {
    const jj = new FakeJj();
    const e = new RepoSync({ name: 'r', repoHome: '/r', jj, git: noGit, gate: openGate, log: silentLogger, options: { debounceMs: 1, maxWaitMs: 5 } });
    for (const id of ['a', 'b']) jj.parents.set(id, 'm0');
    for (const id of ['a', 'b']) await e.attach({ id, dir: `/r/workspaces/${id}`, label: id });
    const order: string[] = [];
    // Something long holds the queue (a maintenance step: no round follows it).
    let release!: () => void;
    const held = e.maintain(() => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 5));
    // Behind it, in this order: a debounced round (a's change), a maintenance step, a jjfs sync.
    jj.dirty.add('a');
    e.markDirty('a');
    await new Promise((r) => setTimeout(r, 30));
    const step = e.maintain(() => {
      order.push('step');
      return Promise.resolve('done');
    });
    const commitsBefore = jj.n;
    const sync = e.syncNow().then((report) => {
      order.push('sync');
      return report;
    });
    release();
    await held;
    const report = await sync;
    expect(await step).toBe('done');
    expect(order).toEqual(['sync', 'step']);
    // The debounced round left a's change to the sync's round, which committed it once.
    expect(report.committed).toEqual(['a']);
    expect(jj.n).toBe(commitsBefore + 1);
    expect(jj.parents.get('b')).toBe(jj.main);
    await e.close();
  });
});
