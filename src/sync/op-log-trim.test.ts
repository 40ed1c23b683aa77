import { appendFile, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendRounds, fsckStore, makeHarness, type Harness } from './harness.test-support.js';
import { countOperations } from './store-facts.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('trimOperationLog (real jj)', () => {
  it('keeps the newest operations; main, every workspace and an edit not yet recorded all survive', async () => {
    h = await makeHarness(3);
    const lines: string[][] = [[], [], []];
    await appendRounds(h, 12, lines);
    const commits = await h.commitCount();
    const opsBefore = await countOperations(h.rj.paths.repoDir);
    expect(opsBefore).toBeGreaterThan(40);
    // An edit on disk that no round has recorded: the trim must not check out over it.
    await appendFile(join(h.ws[1]!.dir, 'log-1.md'), 'unrecorded\n');
    lines[1]!.push('unrecorded\n');

    const report = await h.engine.trimOperations(10);
    expect(report?.opsBefore).toBe(opsBefore);
    // The 10 kept, plus the snapshot of the unrecorded edit taken before the cut.
    expect(report?.opsAfter).toBeLessThanOrEqual(11);
    expect(await countOperations(h.rj.paths.repoDir)).toBe(report?.opsAfter);
    // The index was rebuilt for the kept operations: the old per-operation links are gone.
    expect((await readdir(join(h.rj.paths.repoDir, '.jj', 'repo', 'index', 'op_links'))).length).toBeLessThanOrEqual(2);
    expect(await h.commitCount()).toBe(commits);
    expect(await readFile(join(h.ws[1]!.dir, 'log-1.md'), 'utf8')).toBe(lines[1]!.join(''));
    expect(await fsckStore(h.rj.paths.gitDir)).toBe(0);

    // Every workspace goes on syncing from the trimmed log: no stale or sibling error.
    await appendRounds(h, 2, lines);
    const report2 = await h.engine.syncNow();
    expect(report2.failed).toEqual([]);
    expect(report2.behind).toEqual([]);
    for (const w of h.ws) for (const [i, l] of lines.entries()) expect(await readFile(join(w.dir, `log-${i}.md`), 'utf8')).toBe(l.join(''));
    expect(h.engine.status().workspaces.every((w) => w.healthy)).toBe(true);
  }, 120_000);

  it('nothing to do when the log is not longer than keep', async () => {
    h = await makeHarness(1);
    const ops = await countOperations(h.rj.paths.repoDir);
    expect(await h.engine.trimOperations(ops + 5)).toBeUndefined();
    expect(await countOperations(h.rj.paths.repoDir)).toBe(ops);
  });

  it('a workspace left on the abandoned operations (a crash before update-stale) recovers at its next step, edits kept', async () => {
    h = await makeHarness(2);
    const lines: string[][] = [[], []];
    await appendRounds(h, 6, lines);
    // What a kill -9 right after step 2 leaves: the log rewritten, no working copy moved. The lines
    // the next rounds append are on disk, unrecorded, when each workspace's recovery runs: its
    // update-stale overwrites them and the squash of the divergent commit brings them back.
    const cut = (await h.rj.repo(['op', 'log', '--no-graph', '-n', '6', '-T', 'id ++ "\\n"'])).stdout.trim().split('\n')[5]!;
    await h.rj.repo(['op', 'abandon', `..${cut}`]);
    await appendRounds(h, 3, lines);
    const report = await h.engine.syncNow();
    expect(report.failed).toEqual([]);
    for (const w of h.ws) for (const [i, l] of lines.entries()) expect(await readFile(join(w.dir, `log-${i}.md`), 'utf8')).toBe(l.join(''));
  }, 120_000);

  it('moves a workspace the engine does not sync (a view of a past state) onto the trimmed log too', async () => {
    h = await makeHarness(1);
    const view = await h.addWs('w9');
    await appendRounds(h, 5, [[]]);
    expect(await h.engine.trimOperations(4)).toBeDefined();
    // jj reads the view's working copy: it names an operation that still exists.
    expect((await h.rj.workspace(view.dir, ['log', '--no-graph', '-r', '@', '-T', 'change_id'])).stdout).not.toBe('');
    expect((await h.engine.syncNow()).failed).toEqual([]);
  }, 60_000);

  it('refuses while jj has a workspace with no directory (it would be stranded), changing nothing', async () => {
    h = await makeHarness(1);
    const lost = await h.addWs('w9');
    await rm(lost.dir, { recursive: true, force: true });
    await appendRounds(h, 3, [[]]);
    const ops = await countOperations(h.rj.paths.repoDir);
    await expect(h.engine.trimOperations(2)).rejects.toThrow(/jj workspace w9 has no directory/);
    expect(await countOperations(h.rj.paths.repoDir)).toBe(ops);
  });
});
