import { appendFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from './harness.test-support.js';
import type { WorkspaceSpec } from './repo-sync.js';
import { auditLines, EXACT, TestGate } from './fixtures.test-support.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function snapshotTree(w: WorkspaceSpec): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(w.dir)).sort()) {
    if (name === '.jj') continue;
    out.set(name, await readFile(join(w.dir, name), 'utf8'));
  }
  return out;
}

const N = Number(process.env.JJFS_STRESS_WORKSPACES ?? 5);
const SECONDS = Number(process.env.JJFS_STRESS_SECONDS ?? 15);

describe('stress (real jj)', () => {
  it(`${N} workspaces × ${SECONDS}s of appends converge with every line present exactly once`, async () => {
    // Writers go through a gate like the FUSE layer will: direct writes to a backing dir are NOT
    // gated in the daemon, and a write racing jj's unlink+recreate in the same workspace can be lost.
    const gate = new TestGate();
    h = await makeHarness(N, { gate, options: { debounceMs: 50, maxWaitMs: 500 } });
    const engine = h.engine;
    const written = new Map<string, string[]>(); // file -> lines
    const stopAt = Date.now() + SECONDS * 1000;
    const writers = h.ws.map(async (w, i) => {
      let n = 0;
      while (Date.now() < stopAt) {
        const own = `w${i} own line ${n}\n`;
        const shared = `w${i} shared line ${n}\n`;
        const leave = await gate.enter(w.id);
        try {
          await appendFile(join(w.dir, `own-${i}.txt`), own);
          if (n % 5 === 0) await appendFile(join(w.dir, 'shared.txt'), shared);
        } finally {
          leave();
        }
        engine.markDirty(w.id);
        (written.get(`own-${i}.txt`) ?? written.set(`own-${i}.txt`, []).get(`own-${i}.txt`)!).push(own);
        if (n % 5 === 0) (written.get('shared.txt') ?? written.set('shared.txt', []).get('shared.txt')!).push(shared);
        n++;
        await sleep(10 + Math.random() * 30);
      }
    });
    await Promise.all(writers);
    await sleep(1000);
    let report = await engine.syncNow();
    for (let i = 0; i < 3 && (report.behind.length > 0 || report.committed.length > 0); i++) report = await engine.syncNow();
    expect(report.behind).toEqual([]);
    expect(report.failed).toEqual([]);
    const trees = await Promise.all(h.ws.map(snapshotTree));
    const first = trees[0]!;
    for (const t of trees.slice(1)) expect([...t.entries()]).toEqual([...first.entries()]);
    let lines = 0;
    for (const [file, expected] of written) {
      // Every line exactly once, no markers, and the file is exactly the bytes written.
      expect(auditLines(first.get(file) ?? '', expected), file).toEqual(EXACT);
      lines += expected.length;
    }
    expect(lines).toBeGreaterThan(N * 100);
    const healthy = engine.status().workspaces.every((w) => w.healthy);
    expect(healthy).toBe(true);
    console.log(`stress: ${lines} lines, ${await h.commitCount()} commits, ${h.env.jj.calls} jj calls, ${gate.holds} gate holds`);
  }, 180_000);
});
