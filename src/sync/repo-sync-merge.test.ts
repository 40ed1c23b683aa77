import { appendFile, lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from './harness.test-support.js';
import { SIDES_TRAILER } from './merge-paths.js';
import type { WorkspaceSpec } from './repo-sync.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const markerLines = (text: string) => text.split('\n').filter((l) => /^(<{7}|={7}|>{7})( |$)/.test(l)).length;

async function ls(w: WorkspaceSpec): Promise<string[]> {
  return (await readdir(w.dir)).filter((n) => n !== '.jj').sort();
}

describe('RepoSync merges concurrent edits (real jj)', () => {
  it('appends to one file in two workspaces merge with no markers, main first', async () => {
    h = await makeHarness(3);
    const [a, b, c] = h.ws as [WorkspaceSpec, WorkspaceSpec, WorkspaceSpec];
    await writeFile(join(a.dir, 'log.md'), 'start\n');
    await h.engine.syncNow();
    await appendFile(join(a.dir, 'log.md'), 'a1\na2\n');
    await appendFile(join(b.dir, 'log.md'), 'b1\n');
    const r = await h.engine.syncNow();
    expect(r.behind).toEqual([]);
    // a is committed first (attach order), so its lines are main's when b's are merged.
    for (const w of [a, b, c]) expect(await h.read(w, 'log.md')).toBe('start\na1\na2\nb1\n');
    expect(await h.engine.conflicts()).toEqual([]);
    const conflicted = (await h.rj.repo(['log', '--no-graph', '-r', '::main & conflicts()', '-T', 'commit_id'])).stdout;
    expect(conflicted).toBe('');
  });

  it('a workspace moved onto main by its commit step is committed from what the rebase reported: no snapshot, no W@ lookup', async () => {
    h = await makeHarness(3);
    const [a, b, c] = h.ws as [WorkspaceSpec, WorkspaceSpec, WorkspaceSpec];
    await writeFile(join(a.dir, 'log.md'), 'start\n');
    await h.engine.syncNow();
    await appendFile(join(a.dir, 'log.md'), 'a1\n');
    await appendFile(join(b.dir, 'log.md'), 'b1\n'); // b's rebase onto a's commit conflicts
    await writeFile(join(c.dir, 'own.md'), 'c1\n'); // c's does not
    const from = h.env.jj.log.length;
    const r = await h.engine.syncNow();
    expect(r.committed).toEqual([a.id, b.id, c.id]);
    for (const w of [a, b, c]) {
      expect(await h.read(w, 'log.md')).toBe('start\na1\nb1\n');
      expect(await h.read(w, 'own.md')).toBe('c1\n');
    }
    const calls = h.env.jj.log.slice(from);
    const inWs = (w: WorkspaceSpec, verb: string) => calls.filter((e) => e.cwd === w.dir && e.args.includes(verb)).length;
    // b and c: a rebase onto main (it snapshots) and a commit, no `log -r @` snapshot between;
    // b is rebased once more by the fan-out, onto c's commit.
    for (const [w, rebases] of [[b, 2], [c, 1]] as const) {
      expect(inWs(w, 'rebase'), w.id).toBe(rebases);
      expect(inWs(w, 'commit'), w.id).toBe(1);
      expect(inWs(w, 'log'), w.id).toBe(0);
    }
    // b's conflict was repaired from the commit id its rebase reported.
    expect(calls.filter((e) => e.args.includes(`${b.id}@`)).length).toBe(0);
  });

  it('a real conflict stays one two-sided conflict while both sides keep appending', async () => {
    h = await makeHarness(2);
    const [a, b] = h.ws as [WorkspaceSpec, WorkspaceSpec];
    await writeFile(join(a.dir, 'f.md'), 'title\nbody\n');
    await h.engine.syncNow();
    await writeFile(join(a.dir, 'f.md'), 'title A\nbody\n');
    await writeFile(join(b.dir, 'f.md'), 'title B\nbody\n');
    await h.engine.syncNow();
    const first = await h.read(a, 'f.md');
    expect(markerLines(first)).toBe(3);
    expect(await h.engine.conflicts()).toEqual(['f.md']);
    const desc = (await h.rj.repo(['log', '--no-graph', '-r', 'main', '-T', 'description'])).stdout;
    expect(desc).toContain('Jjfs-Conflict: "f.md"');
    // Both sides' original commits are named, and jj can still show each one's own version.
    const sides = new RegExp(`${SIDES_TRAILER} ([0-9a-f]{8,}) ([0-9a-f]{8,})`).exec(desc);
    expect(sides).not.toBeNull();
    const theirs = (await h.rj.repo(['file', 'show', '-r', sides![2]!, 'root:"f.md"'])).stdout;
    expect(theirs).toBe('title B\nbody\n');

    const appended: string[] = [];
    for (let i = 0; i < 6; i++) {
      for (const [w, tag] of [[a, 'A'], [b, 'B']] as const) {
        const line = `${tag} line ${i}\n`;
        await appendFile(join(w.dir, 'f.md'), line);
        appended.push(line);
      }
      await h.engine.syncNow();
    }
    const final = await h.read(a, 'f.md');
    expect(await h.read(b, 'f.md')).toBe(final);
    expect(markerLines(final)).toBe(3);
    for (const line of appended) expect(final.split(line).length - 1, line).toBe(1);
    expect(Buffer.byteLength(final)).toBe(Buffer.byteLength(first) + appended.reduce((n, l) => n + Buffer.byteLength(l), 0));

    await writeFile(join(b.dir, 'f.md'), 'resolved\n');
    await h.engine.syncNow();
    expect(await h.read(a, 'f.md')).toBe('resolved\n');
    expect(await h.engine.conflicts()).toEqual([]);
  });

  it('a workspace left conflicted by a crash between rebase and repair is repaired before its commit', async () => {
    h = await makeHarness(2);
    const [a, b] = h.ws as [WorkspaceSpec, WorkspaceSpec];
    await writeFile(join(a.dir, 'log.md'), 'start\n');
    await h.engine.syncNow();
    await appendFile(join(a.dir, 'log.md'), 'a1\n');
    await appendFile(join(b.dir, 'log.md'), 'b1\n');
    // What the engine was doing when the daemon died: a committed, b rebased (jj's conflict in b).
    await h.rj.workspace(a.dir, ['commit', '-m', 'a']);
    await h.rj.workspace(b.dir, ['rebase', '-s', '@', '-d', 'main']);
    expect(await h.read(b, 'log.md')).toMatch(/^<<<<<<< /m);
    const r = await h.engine.syncNow();
    expect(r.behind).toEqual([]);
    for (const w of [a, b]) expect(await h.read(w, 'log.md')).toBe('start\na1\nb1\n');
    expect((await h.rj.repo(['log', '--no-graph', '-r', '::main & conflicts()', '-T', 'commit_id'])).stdout).toBe('');
  });

  it("'markers' policy: concurrent insertions become a conflict to review", async () => {
    h = await makeHarness(2, { options: { insertions: 'markers' } });
    const [a, b] = h.ws as [WorkspaceSpec, WorkspaceSpec];
    await writeFile(join(a.dir, 'log.md'), 'start\n');
    await h.engine.syncNow();
    await appendFile(join(a.dir, 'log.md'), 'a1\n');
    await appendFile(join(b.dir, 'log.md'), 'b1\n');
    await h.engine.syncNow();
    expect(await h.read(a, 'log.md')).toBe('start\n<<<<<<< main\na1\n=======\nb1\n>>>>>>> /mnt/w1\n');
    expect(await h.engine.conflicts()).toEqual(['log.md']);
  });

  it('a binary file changed in two workspaces: both versions kept, both listed until the copy goes', async () => {
    h = await makeHarness(2);
    const [a, b] = h.ws as [WorkspaceSpec, WorkspaceSpec];
    await writeFile(join(a.dir, 'img.png'), Buffer.from([0x89, 0, 1]));
    await h.engine.syncNow();
    await writeFile(join(a.dir, 'img.png'), Buffer.from([0x89, 0, 2]));
    await writeFile(join(b.dir, 'img.png'), Buffer.from([0x89, 0, 3]));
    await h.engine.syncNow();
    const names = await ls(a);
    expect(await ls(b)).toEqual(names);
    const copy = names.find((n) => n !== 'img.png');
    expect(copy).toMatch(/^img\.conflict-mnt-w1-\d{8}T\d{6}Z\.png$/);
    expect([...(await readFile(join(a.dir, 'img.png')))]).toEqual([0x89, 0, 2]);
    expect([...(await readFile(join(b.dir, copy!)))]).toEqual([0x89, 0, 3]);
    expect(await h.engine.conflicts()).toEqual([copy, 'img.png'].sort());
    await rm(join(a.dir, copy!));
    await h.engine.syncNow();
    expect(await ls(b)).toEqual(['img.png']);
    expect(await h.engine.conflicts()).toEqual([]);
  });

  it('file vs directory at one path: the directory stays, the file goes beside it', async () => {
    h = await makeHarness(2);
    const [a, b] = h.ws as [WorkspaceSpec, WorkspaceSpec];
    await writeFile(join(a.dir, 'keep.md'), 'k\n');
    await h.engine.syncNow();
    await writeFile(join(a.dir, 'notes'), 'a file\n');
    await mkdir(join(b.dir, 'notes'));
    await writeFile(join(b.dir, 'notes', 'inside.md'), 'in a dir\n');
    await h.engine.syncNow();
    for (const w of [a, b]) {
      expect((await lstat(join(w.dir, 'notes'))).isDirectory()).toBe(true);
      expect(await h.read(w, 'notes/inside.md')).toBe('in a dir\n');
      const copy = (await ls(w)).find((n) => n.startsWith('notes.conflict-'));
      expect(copy).toBeDefined();
      expect(await h.read(w, copy!)).toBe('a file\n');
    }
    expect((await h.engine.conflicts()).length).toBe(2);
  });
});
