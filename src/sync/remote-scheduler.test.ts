import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../log.js';
import type { RemoteRoundResult, RemoteSync } from './remote.js';
import { backoffMs, RemoteScheduler } from './remote-scheduler.js';

function fakeSync(outcomes: Array<'ok' | Error>, calls: { n: number; concurrent: number; max: number }): RemoteSync {
  return {
    repo: 'notes',
    target: { url: 'https://u:secret@example.com/r.git', branch: 'main' },
    lastFetchAt: undefined,
    round: async (): Promise<RemoteRoundResult> => {
      calls.n++;
      calls.concurrent++;
      calls.max = Math.max(calls.max, calls.concurrent);
      await new Promise((r) => setTimeout(r, 20));
      calls.concurrent--;
      const next = outcomes.shift() ?? 'ok';
      if (next instanceof Error) throw next;
      const now = new Date().toISOString();
      return { idle: false, integrated: 'none', pushed: true, published: [], rejectedPushes: 0, fetchedAt: now, pushedAt: now, durationMs: 20 };
    },
  } as unknown as RemoteSync;
}

describe('RemoteScheduler', () => {
  it('backs off 1, 2, 4 … 60 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoffMs(n) / 1000)).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
  });

  it('a failure makes the remote delayed (credentials scrubbed) until a round succeeds', async () => {
    const calls = { n: 0, concurrent: 0, max: 0 };
    const scheduler = new RemoteScheduler({ log: silentLogger, intervalSeconds: () => 0, delaySeconds: () => 0, firstRoundMs: 60_000 });
    scheduler.add(fakeSync([new Error('could not reach https://u:secret@example.com/r.git')], calls));
    expect(scheduler.facts('notes')).toMatchObject({ url: 'https://example.com/r.git', delayed: false });
    await expect(scheduler.runNow('notes')).rejects.toThrow();
    const delayed = scheduler.facts('notes')!;
    expect(delayed.delayed).toBe(true);
    expect(delayed.lastError).toBe('could not reach https://example.com/r.git');
    expect(Date.parse(delayed.nextRetry!)).toBeGreaterThan(Date.now());
    const ok = await scheduler.runNow('notes');
    expect(ok.pushed).toBe(true);
    const facts = scheduler.facts('notes')!;
    expect(facts.delayed).toBe(false);
    expect(facts.lastError).toBeUndefined();
    expect(facts.lastPush).toBeDefined();
    await scheduler.stop();
  });

  it('rounds of one repo never overlap', async () => {
    const calls = { n: 0, concurrent: 0, max: 0 };
    const scheduler = new RemoteScheduler({ log: silentLogger, intervalSeconds: () => 0, delaySeconds: () => 0, firstRoundMs: 60_000 });
    scheduler.add(fakeSync([], calls));
    await Promise.all([scheduler.runNow('notes'), scheduler.runNow('notes'), scheduler.runNow('notes')]);
    expect(calls.n).toBe(3);
    expect(calls.max).toBe(1);
    await scheduler.stop();
    await expect(scheduler.runNow('notes')).rejects.toThrow(/no remote/);
  });

  it('local changes are pushed after push_delay of quiet; each change restarts the wait, capped by push_interval', async () => {
    // Fake clock: the schedule is checked exactly, whatever the machine is doing.
    vi.useFakeTimers();
    try {
      const calls = { n: 0, concurrent: 0, max: 0 };
      const scheduler = new RemoteScheduler({ log: silentLogger, intervalSeconds: () => 60, delaySeconds: () => 10, firstRoundMs: 3_600_000 });
      scheduler.add(fakeSync([], calls));
      scheduler.localChanges('notes', 2);
      expect(scheduler.facts('notes')!.unpushed).toBe(2);
      // A change every 5 s keeps the repo from being quiet for 10 s: the cap, 60 s after the first, pushes.
      for (let t = 5; t < 60; t += 5) {
        await vi.advanceTimersByTimeAsync(5_000);
        scheduler.localChanges('notes', 1);
      }
      expect(calls.n).toBe(0);
      await vi.advanceTimersByTimeAsync(5_000 + 100);
      expect(calls.n).toBe(1);
      expect(scheduler.facts('notes')!.unpushed).toBe(0);
      // A lone change goes out after push_delay, long before the next interval round.
      scheduler.localChanges('notes', 1);
      await vi.advanceTimersByTimeAsync(9_000);
      expect(calls.n).toBe(1);
      await vi.advanceTimersByTimeAsync(1_100);
      expect(calls.n).toBe(2);
      expect(scheduler.facts('notes')!.unpushed).toBe(0);
      await scheduler.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
