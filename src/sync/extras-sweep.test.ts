import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { extrasDir, sweepCommitExtras } from './extras-sweep.js';
import { appendRounds, fsckStore, makeHarness, type Harness } from './harness.test-support.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Segment files of the commit-extras table (hex names; not heads/ or lock). */
async function segments(repoDir: string): Promise<string[]> {
  return (await readdir(extrasDir(repoDir))).filter((n) => /^[0-9a-f]{128}$/.test(n));
}

/** Every commit of main's history with its change id and predecessors, as jj reads them. */
async function history(harness: Harness): Promise<string> {
  return (await harness.rj.repo(['log', '--no-graph', '-r', '::main', '-T', 'commit_id ++ " " ++ change_id ++ "\\n"'])).stdout;
}

describe('sweepCommitExtras (real jj)', () => {
  it('deletes superseded segments only at the second sweep; jj reads every commit the same afterwards', async () => {
    h = await makeHarness(2);
    const lines: string[][] = [[], []];
    await appendRounds(h, 15, lines);
    const repoDir = h.rj.paths.repoDir;
    const before = await segments(repoDir);
    const logBefore = await history(h);
    // Fifteen rounds of two commits each leave far more segments than the few a head reaches.
    expect(before.length).toBeGreaterThan(20);

    const first = await sweepCommitExtras(repoDir, undefined, 30_000, 1_000_000);
    expect(first.removed).toBe(0);
    expect(await segments(repoDir)).toEqual(before);
    expect(first.mark.size).toBeGreaterThan(15);

    // Too soon: each segment keeps the time it was first seen unreachable, nothing goes.
    const early = await sweepCommitExtras(repoDir, first.mark, 30_000, 1_000_000 + 29_999);
    expect(early.removed).toBe(0);
    expect(early.mark).toEqual(first.mark);

    const second = await sweepCommitExtras(repoDir, early.mark, 30_000, 1_000_000 + 30_000);
    expect(second.removed).toBe(first.mark.size);
    expect(second.mark.size).toBe(0);
    const after = await segments(repoDir);
    expect(after.length).toBe(before.length - second.removed);
    expect(after.length).toBeLessThanOrEqual(6);
    expect(second.removedBytes).toBeGreaterThan(0);

    // jj reads the same change ids for every commit, and the engine goes on committing.
    expect(await history(h)).toBe(logBefore);
    await appendRounds(h, 3, lines);
    // Segments superseded since then get a clock of their own: kept at first, deleted 30 s later.
    const third = await sweepCommitExtras(repoDir, second.mark, 30_000, 1_000_000 + 40_000);
    expect(third.removed).toBe(0);
    expect(third.mark.size).toBeGreaterThan(0);
    const fourth = await sweepCommitExtras(repoDir, third.mark, 30_000, 1_000_000 + 70_000);
    expect(fourth.removed).toBe(third.mark.size);
    const report = await h.engine.syncNow();
    expect(report.failed).toEqual([]);
    for (const w of h.ws) for (const [i, l] of lines.entries()) expect(await readFile(join(w.dir, `log-${i}.md`), 'utf8')).toBe(l.join(''));
    expect(await fsckStore(h.rj.paths.gitDir)).toBe(0);
    expect((await history(h)).split('\n').filter((l) => l !== '').length).toBe(logBefore.split('\n').filter((l) => l !== '').length + 6);
  });

  it('deletes nothing when a segment the heads reach cannot be read', async () => {
    h = await makeHarness(1);
    await appendRounds(h, 8, [[]]);
    const repoDir = h.rj.paths.repoDir;
    const first = await sweepCommitExtras(repoDir, undefined, 0);
    expect(first.mark.size).toBeGreaterThan(0);
    const [head] = await readdir(join(extrasDir(repoDir), 'heads'));
    // A head segment whose parent name is cut short (a torn file): the sweep refuses.
    await writeFile(join(extrasDir(repoDir), head!), Buffer.from([128, 0, 0, 0, 0x61]));
    const count = (await segments(repoDir)).length;
    await expect(sweepCommitExtras(repoDir, first.mark, 0)).rejects.toThrow(/commit extras segment/);
    expect((await segments(repoDir)).length).toBe(count);
  });
});
