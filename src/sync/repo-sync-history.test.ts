import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { restoreOnMain } from '../history/jj-change.js';
import { makeHarness, type Harness } from './harness.test-support.js';
import type { WorkspaceSpec } from './repo-sync.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const mainId = async (hh: Harness): Promise<string> => (await hh.rj.repo(['log', '--no-graph', '-r', 'main', '-T', 'commit_id'])).stdout.trim();
const show = async (hh: Harness, rev: string, path: string): Promise<string> =>
  (await hh.rj.repo(['file', 'show', '-r', rev, `root-file:${JSON.stringify(path)}`])).stdout;

describe('RepoSync.exclusive({ recordFirst }) and flush (real jj)', () => {
  it('records edits nobody reported before the task, then brings every workspace onto the moved main', async () => {
    h = await makeHarness(3, { options: { debounceMs: 600_000, maxWaitMs: 600_000 } });
    const [a, b, c] = h.ws as [WorkspaceSpec, WorkspaceSpec, WorkspaceSpec];
    await writeFile(join(a.dir, 'f.md'), 'v1\n');
    await h.engine.syncNow();
    const v1 = await mainId(h);
    // Not marked dirty: as if the watcher had not reported them yet.
    await writeFile(join(b.dir, 'f.md'), 'unsaved in b\n');
    await writeFile(join(c.dir, 'g.md'), 'other\n');

    const { result, recorded, report } = await h.engine.exclusive(
      async ({ main }) => {
        // The first round recorded b's edit: main now holds it, and the task starts from there.
        expect(await show(h!, main, 'f.md')).toBe('unsaved in b\n');
        return restoreOnMain(h!.rj, main, v1, 'f.md', 'jjfs restore 2026-01-01T00:00:00.000Z\n');
      },
      { recordFirst: true },
    );
    expect(recorded?.committed.sort()).toEqual([b.id, c.id].sort());
    expect(result.commit).toBeDefined();
    expect(report.failed).toEqual([]);
    expect(report.behind).toEqual([]);
    for (const w of [a, b, c]) {
      expect(await readFile(join(w.dir, 'f.md'), 'utf8'), w.id).toBe('v1\n');
      expect(await readFile(join(w.dir, 'g.md'), 'utf8'), w.id).toBe('other\n');
    }
    const st = h.engine.status();
    expect(st.workspaces.every((w) => w.parent === st.main && w.parent === result.commit)).toBe(true);
  });

  it('an edit that lands while the task runs is rebased on top, never dropped', async () => {
    h = await makeHarness(2, { options: { debounceMs: 600_000, maxWaitMs: 600_000 } });
    const [a, b] = h.ws as [WorkspaceSpec, WorkspaceSpec];
    await writeFile(join(a.dir, 'f.md'), 'v1\n');
    await h.engine.syncNow();
    const v1 = await mainId(h);
    await writeFile(join(a.dir, 'f.md'), 'v2\n');
    await h.engine.syncNow();
    await h.engine.exclusive(
      async ({ main }) => {
        await writeFile(join(b.dir, 'late.md'), 'written during the task\n');
        return restoreOnMain(h!.rj, main, v1, 'f.md', 'jjfs restore 2026-01-01T00:00:00.000Z\n');
      },
      { recordFirst: true },
    );
    await h.engine.syncNow();
    for (const w of [a, b]) {
      expect(await readFile(join(w.dir, 'f.md'), 'utf8')).toBe('v1\n');
      expect(await readFile(join(w.dir, 'late.md'), 'utf8')).toBe('written during the task\n');
    }
  });

  it('a failing task still lets the second round run, and the error reaches the caller', async () => {
    h = await makeHarness(2);
    await expect(h.engine.exclusive(() => Promise.reject(new Error('task failed')), { recordFirst: true })).rejects.toThrow('task failed');
    const st = h.engine.status();
    expect(st.workspaces.every((w) => w.healthy && w.parent === st.main)).toBe(true);
  });

  it('flush commits debounced edits at once and says how many', async () => {
    h = await makeHarness(2, { options: { debounceMs: 600_000, maxWaitMs: 600_000 } });
    const [a, b] = h.ws as [WorkspaceSpec, WorkspaceSpec];
    const commits = await h.commitCount();
    await writeFile(join(a.dir, 'x.md'), 'x\n');
    h.engine.markDirty(a.id);
    expect(await h.engine.flush()).toBe(1);
    expect(await h.commitCount()).toBe(commits + 1);
    expect(await readFile(join(b.dir, 'x.md'), 'utf8')).toBe('x\n');
    expect(await h.engine.flush()).toBe(0);
  });
});
