import { mkdir, readFile, rename, rm, writeFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from './harness.test-support.js';
import type { WorkspaceSpec } from './repo-sync.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await sleep(10);
  }
}

async function tree(w: WorkspaceSpec): Promise<Record<string, string>> {
  const { readdir } = await import('node:fs/promises');
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(w.dir, rel), { withFileTypes: true })) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (p === '.jj') continue;
      if (e.isDirectory()) await walk(p);
      else out[p] = await readFile(join(w.dir, p), 'utf8');
    }
  };
  await walk('');
  return out;
}

describe('RepoSync (real jj)', () => {
  it('a write in A appears in B and C; commit message names the mount', async () => {
    h = await makeHarness(3);
    const [a, b, c] = h.ws as [WorkspaceSpec, WorkspaceSpec, WorkspaceSpec];
    await writeFile(join(a.dir, 'note.md'), 'hello\n');
    h.engine.markDirty(a.id);
    await waitFor(async () => (await h!.read(b, 'note.md')) === 'hello\n' && (await h!.read(c, 'note.md')) === 'hello\n');
    const desc = (await h.rj.repo(['log', '--no-graph', '-r', 'main', '-T', 'description'])).stdout;
    expect(desc).toMatch(/^\/mnt\/w0 \d{4}-\d\d-\d\dT/);
    const st = h.engine.status();
    expect(st.workspaces.every((w) => w.healthy && w.parent === st.main)).toBe(true);
  });

  it('a workspace attached later receives everything', async () => {
    h = await makeHarness(2);
    const [a] = h.ws as [WorkspaceSpec];
    await mkdir(join(a.dir, 'd'));
    await writeFile(join(a.dir, 'd', 'x.txt'), 'x\n');
    await writeFile(join(a.dir, 'y.txt'), 'y\n');
    await h.engine.syncNow();
    const late = await h.addWs('late');
    await h.engine.attach(late);
    expect(await tree(late)).toEqual(await tree(a));
  });

  it('same-line edits: identical markers everywhere, resolution in C clears them everywhere', async () => {
    h = await makeHarness(3);
    const [a, b, c] = h.ws as [WorkspaceSpec, WorkspaceSpec, WorkspaceSpec];
    await writeFile(join(a.dir, 'f.txt'), 'base\n');
    await h.engine.syncNow();
    await writeFile(join(a.dir, 'f.txt'), 'from A\n');
    await writeFile(join(b.dir, 'f.txt'), 'from B\n');
    const r = await h.engine.syncNow();
    expect(r.behind).toEqual([]);
    const fa = await h.read(a, 'f.txt');
    expect(fa).toMatch(/^<<<<<<< /m);
    expect(fa).toContain('from A');
    expect(fa).toContain('from B');
    expect(await h.read(b, 'f.txt')).toBe(fa);
    expect(await h.read(c, 'f.txt')).toBe(fa);
    expect(await h.engine.conflicts()).toEqual(['f.txt']);
    expect(h.engine.status().conflicts).toEqual(['f.txt']);
    await writeFile(join(c.dir, 'f.txt'), 'from A and B\n');
    h.engine.markDirty(c.id);
    await waitFor(async () => (await h!.read(a, 'f.txt')) === 'from A and B\n' && (await h!.read(b, 'f.txt')) === 'from A and B\n');
    expect(await h.engine.conflicts()).toEqual([]);
  });

  it('edit vs delete keeps the edit, unchanged and not listed as a conflict', async () => {
    h = await makeHarness(2);
    const [a, b] = h.ws as [WorkspaceSpec, WorkspaceSpec];
    await writeFile(join(a.dir, 'f.txt'), 'one\n');
    await h.engine.syncNow();
    await writeFile(join(b.dir, 'f.txt'), 'one edited\n');
    await unlink(join(a.dir, 'f.txt'));
    await h.engine.syncNow();
    expect(await h.read(a, 'f.txt')).toBe('one edited\n');
    expect(await h.read(b, 'f.txt')).toBe('one edited\n');
    expect(await h.engine.conflicts()).toEqual([]);
  });

  it('directory rename vs edit inside loses nothing', async () => {
    h = await makeHarness(2);
    const [a, b] = h.ws as [WorkspaceSpec, WorkspaceSpec];
    await mkdir(join(a.dir, 'docs'));
    await writeFile(join(a.dir, 'docs', 'p.md'), 'v1\n');
    await h.engine.syncNow();
    await rename(join(a.dir, 'docs'), join(a.dir, 'papers'));
    await writeFile(join(b.dir, 'docs', 'p.md'), 'v2 edited\n');
    await h.engine.syncNow();
    const ta = await tree(a);
    expect(await tree(b)).toEqual(ta);
    expect(ta['papers/p.md']).toBe('v1\n');
    expect(ta['docs/p.md']).toContain('v2 edited');
  });

  it('editor-style save makes exactly one commit and no droppings in history', async () => {
    h = await makeHarness(2);
    const [a, b] = h.ws as [WorkspaceSpec, WorkspaceSpec];
    const before = await h.commitCount();
    // vim: swap file, 4913 probe, write to temp, rename over, backup file, all within the debounce.
    await writeFile(join(a.dir, '.doc.md.swp'), 'swap');
    h.engine.markDirty(a.id);
    await writeFile(join(a.dir, '4913'), '');
    await unlink(join(a.dir, '4913'));
    await writeFile(join(a.dir, 'doc.md~'), 'old');
    await writeFile(join(a.dir, '.goutputstream-ABC123'), 'new text\n');
    await rename(join(a.dir, '.goutputstream-ABC123'), join(a.dir, 'doc.md'));
    h.engine.markDirty(a.id);
    await waitFor(async () => (await h!.read(b, 'doc.md')) === 'new text\n');
    await h.engine.syncNow();
    expect(await h.commitCount()).toBe(before + 1);
    const files = (await h.rj.repo(['file', 'list', '-r', 'main', '-T', 'path ++ "\\n"'])).stdout.trim().split('\n');
    expect(files).toEqual(['doc.md']);
    await rm(join(a.dir, '.doc.md.swp'));
  });

  it('idle after convergence: zero commits and zero jj processes for 10 s', async () => {
    h = await makeHarness(3);
    const [a] = h.ws as [WorkspaceSpec];
    await writeFile(join(a.dir, 'f.txt'), 'x\n');
    h.engine.markDirty(a.id);
    await h.engine.syncNow();
    await sleep(500);
    const calls = h.env.jj.calls;
    const commits = await h.commitCount();
    const callsAfterCount = h.env.jj.calls;
    await sleep(10_000);
    expect(h.env.jj.calls).toBe(callsAfterCount);
    expect(calls + 1).toBe(callsAfterCount);
    expect(h.env.jj.inFlight).toBe(0);
    expect(await h.commitCount()).toBe(commits);
  }, 30_000);

  it('a 2 MiB new file syncs', async () => {
    h = await makeHarness(2);
    const [a, b] = h.ws as [WorkspaceSpec, WorkspaceSpec];
    const big = Buffer.alloc(2 * 1024 * 1024, 'abcdefgh');
    await writeFile(join(a.dir, 'big.bin'), big);
    await h.engine.syncNow();
    expect((await readFile(join(b.dir, 'big.bin'))).equals(big)).toBe(true);
    expect(h.engine.status().refusedFiles).toEqual([]);
  });

  it('reports files jj refuses (over the size limit)', async () => {
    h = await makeHarness(2, { maxNewFileSize: '1KiB' });
    const [a] = h.ws as [WorkspaceSpec];
    await writeFile(join(a.dir, 'huge.bin'), Buffer.alloc(4096, 1));
    await h.engine.syncNow();
    expect(h.engine.status().refusedFiles.map((r) => [r.workspace, r.path])).toEqual([['w0', 'huge.bin']]);
  });

  it('recovers a stale workspace at attach without losing unsnapshotted edits', async () => {
    h = await makeHarness(2, { attach: false });
    const [a, b] = h.ws as [WorkspaceSpec, WorkspaceSpec];
    await h.engine.attach(a);
    await writeFile(join(a.dir, 'shared.txt'), 'base\n');
    await h.engine.syncNow();
    // b is not attached: give it a commit on an older base, then rewrite b@ from ANOTHER process
    // (the repo) so that b's files are stale, and leave an unsnapshotted edit in b.
    await writeFile(join(b.dir, 'mine.txt'), 'snapshotted\n');
    await h.rj.workspace(b.dir, ['log', '-r', '@']);
    await writeFile(join(b.dir, 'unsnap.txt'), 'only on disk\n');
    await h.rj.repo(['describe', 'w1@', '-m', 'x']);
    await h.rj.repo(['rebase', '-s', 'w1@', '-d', 'main']);
    const err = await h.rj.workspace(b.dir, ['log', '-r', '@']).catch((e: unknown) => e);
    expect(String(err)).toMatch(/stale/);
    await h.engine.attach(b);
    await h.engine.syncNow();
    for (const w of [a, b]) {
      expect(await h.read(w, 'unsnap.txt')).toBe('only on disk\n');
      expect(await h.read(w, 'mine.txt')).toBe('snapshotted\n');
      expect(await h.read(w, 'shared.txt')).toBe('base\n');
    }
    expect(h.engine.status().workspaces.every((w) => w.healthy)).toBe(true);
  });

  it('a failing workspace is unhealthy while the others keep syncing', async () => {
    h = await makeHarness(3);
    const [a, b, c] = h.ws as [WorkspaceSpec, WorkspaceSpec, WorkspaceSpec];
    await rm(join(c.dir, '.jj'), { recursive: true });
    await writeFile(join(a.dir, 'f.txt'), 'x\n');
    const r = await h.engine.syncNow();
    expect(await h.read(b, 'f.txt')).toBe('x\n');
    expect(r.failed.map((f) => f.id)).toContain(c.id);
    const sc = h.engine.status().workspaces.find((w) => w.id === c.id);
    expect(sc?.healthy).toBe(false);
    expect(sc?.lastError).toMatch(/jj/);
    expect(r.behind.map((x) => x.id)).toEqual([c.id]);
  });

  it('removeWorkspace commits the last changes first', async () => {
    h = await makeHarness(2);
    const [a, b] = h.ws as [WorkspaceSpec, WorkspaceSpec];
    await writeFile(join(b.dir, 'last.txt'), 'last words\n');
    await h.engine.removeWorkspace(b.id);
    expect(await h.read(a, 'last.txt')).toBe('last words\n');
    const names = (await h.rj.repo(['workspace', 'list', '-T', 'name ++ "\\n"'])).stdout.trim().split('\n');
    expect(names).toEqual(['w0']);
    await expect(readFile(join(b.dir, 'last.txt'))).rejects.toThrow();
  });
});

describe('readRepoState (real jj)', () => {
  it('knows the working copy of a repo with a single workspace (jj names it only when there are several)', async () => {
    const { readRepoState } = await import('./workspace-ops.js');
    h = await makeHarness(1, { attach: false });
    const one = await readRepoState(h.rj);
    expect([...one.workingCopies.keys()]).toEqual(['w0']);
    expect(one.workingCopies.get('w0')!.parents).toEqual([one.main]);
    expect(one.divergent).toEqual([]);
    await h.addWs('w1');
    const two = await readRepoState(h.rj);
    expect([...two.workingCopies.keys()].sort()).toEqual(['w0', 'w1']);
  });
});
