import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from '../sync/harness.test-support.js';
import { DAEMON_IGNORES } from '../sync/repo-init.js';
import type { RepoSync, WorkspaceSpec } from '../sync/repo-sync.js';
import { silentLogger } from '../log.js';
import { WorkspaceWatchers } from './workspace-watcher.js';

let h: Harness | undefined;
let watchers: WorkspaceWatchers | undefined;
afterEach(async () => {
  await watchers?.close();
  watchers = undefined;
  await h?.close();
  h = undefined;
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkspaceWatchers + engine (real jj, real watcher)', () => {
  it('direct writes sync without markDirty, and fan-out does not loop', async () => {
    let engine: RepoSync | undefined;
    const seen: string[] = [];
    watchers = new WorkspaceWatchers({
      log: silentLogger,
      ignore: DAEMON_IGNORES,
      onChange: (id) => {
        seen.push(id);
        engine?.markDirty(id);
      },
    });
    h = await makeHarness(3, { suppressor: watchers, attach: false });
    engine = h.engine;
    for (const w of h.ws) {
      await watchers.watch(w.id, w.dir);
      await engine.attach(w);
    }
    const [a, b, c] = h.ws as [WorkspaceSpec, WorkspaceSpec, WorkspaceSpec];
    const before = await h.commitCount();
    await writeFile(join(a.dir, 'w.txt'), 'watched\n');
    const start = Date.now();
    for (;;) {
      const ok = await Promise.all([h.read(b, 'w.txt'), h.read(c, 'w.txt')]).then((v) => v.every((x) => x === 'watched\n'), () => false);
      if (ok) break;
      if (Date.now() - start > 10_000) throw new Error('not propagated');
      await sleep(20);
    }
    await sleep(1500); // verify rounds after suppressed fan-out events run and find nothing
    const count = await h.commitCount();
    expect(count).toBe(before + 1);
    const calls = h.env.jj.calls;
    await sleep(1500);
    expect(h.env.jj.calls).toBe(calls + 0);
    expect(await h.commitCount()).toBe(count);
    // Ignored droppings do not wake the engine.
    const seenBefore = seen.length;
    await writeFile(join(a.dir, '.x.swp'), 'swap');
    await sleep(500);
    expect(seen.length).toBe(seenBefore);
  });

  it('suppress() drops events until released plus grace, then reports once', async () => {
    const seen: string[] = [];
    watchers = new WorkspaceWatchers({ log: silentLogger, graceMs: 100, onChange: (id) => seen.push(id) });
    h = await makeHarness(1, { attach: false });
    const [a] = h.ws as [WorkspaceSpec];
    await watchers.watch(a.id, a.dir);
    const release = watchers.suppress(a.id);
    await writeFile(join(a.dir, 's.txt'), '1');
    await sleep(300);
    expect(seen).toEqual([]);
    release();
    await sleep(400);
    expect(seen).toEqual([a.id]); // the verify notification
  });
});
