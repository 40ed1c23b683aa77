import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JjfsEnv, readOrUndefined, sleep, waitFor } from './helpers/jjfs-env.js';

let env: JjfsEnv;
let a: string;
let b: string;
let c: string;
beforeEach(async () => {
  env = await JjfsEnv.create();
  a = await env.open('notes', 'a');
  b = await env.open('notes', 'b');
  c = await env.open('notes', 'c');
});
afterEach(async () => {
  await env.cleanup();
});

const seen = (dir: string, file: string, content: string | undefined, timeoutMs = 10_000) =>
  waitFor(async () => (await readOrUndefined(path.join(dir, file))) === content, timeoutMs);

async function sync(): Promise<{ converged: boolean; conflicts: string[] }> {
  const { rounds } = await env.json<{ rounds: Array<{ converged: boolean; conflicts: string[] }> }>(['sync', 'notes']);
  return rounds[0]!;
}

describe('sync through real mounts', () => {
  it('a write in A appears in B and C; a later mount gets the full history', async () => {
    await writeFile(path.join(a, 'note.md'), 'from A\n');
    expect(await seen(b, 'note.md', 'from A\n')).toBe(true);
    expect(await seen(c, 'note.md', 'from A\n')).toBe(true);
    await mkdir(path.join(b, 'dir'));
    await writeFile(path.join(b, 'dir', 'deep.md'), 'from B\n');
    expect(await seen(a, 'dir/deep.md', 'from B\n')).toBe(true);
    const d = await env.open('notes', 'd');
    expect(await readFile(path.join(d, 'note.md'), 'utf8')).toBe('from A\n');
    expect(await readFile(path.join(d, 'dir', 'deep.md'), 'utf8')).toBe('from B\n');
    const log = await env.jj('notes', ['log', '-r', '::main', '--no-graph', '-T', 'description.first_line() ++ "\\n"']);
    expect(log).toContain(a); // commit messages name the mount the change came from
    expect(log).toContain(b);
  });

  it('same-line edits end as the same conflict everywhere; a resolution in C clears it', async () => {
    await writeFile(path.join(a, 'c.md'), 'base\n');
    expect(await seen(b, 'c.md', 'base\n')).toBe(true);
    expect(await seen(c, 'c.md', 'base\n')).toBe(true);
    await Promise.all([writeFile(path.join(a, 'c.md'), 'edit A\n'), writeFile(path.join(b, 'c.md'), 'edit B\n')]);
    const round = await sync();
    expect(round.converged).toBe(true);
    expect(round.conflicts).toEqual(['c.md']);
    const inA = await readFile(path.join(a, 'c.md'), 'utf8');
    expect(inA).toMatch(/^<<<<<<< /m);
    expect(inA).toContain('edit A');
    expect(inA).toContain('edit B');
    expect(await readFile(path.join(b, 'c.md'), 'utf8')).toBe(inA);
    expect(await readFile(path.join(c, 'c.md'), 'utf8')).toBe(inA);
    const listed = await env.run(['conflicts']);
    expect(listed.stdout).toContain('notes\tc.md');
    const status = await env.json<{ repos: Array<{ conflicts: string[] }> }>(['status']);
    expect(status.repos[0]!.conflicts).toEqual(['c.md']);

    await writeFile(path.join(c, 'c.md'), 'resolved\n');
    const after = await sync();
    expect(after.conflicts).toEqual([]);
    for (const dir of [a, b, c]) expect(await readFile(path.join(dir, 'c.md'), 'utf8')).toBe('resolved\n');
    expect((await env.run(['conflicts'])).stdout).toMatch(/No conflicts/);
  });

  it('edit vs delete keeps the edit', async () => {
    await writeFile(path.join(a, 'e.md'), 'one\n');
    expect(await seen(b, 'e.md', 'one\n')).toBe(true);
    await Promise.all([writeFile(path.join(a, 'e.md'), 'edited\n'), rm(path.join(b, 'e.md'))]);
    await sync();
    for (const dir of [a, b, c]) {
      const text = await readOrUndefined(path.join(dir, 'e.md'));
      expect(text, dir).toBeDefined();
      expect(text).toBe('edited\n');
    }
  });

  it('directory rename vs edit inside loses nothing', async () => {
    await mkdir(path.join(a, 'old'));
    await writeFile(path.join(a, 'old', 'f.md'), 'v1\n');
    expect(await seen(b, 'old/f.md', 'v1\n')).toBe(true);
    await Promise.all([rename(path.join(a, 'old'), path.join(a, 'new')), writeFile(path.join(b, 'old', 'f.md'), 'v2 edit\n')]);
    await sync();
    await sync();
    for (const dir of [a, b, c]) {
      expect(await readFile(path.join(dir, 'new', 'f.md'), 'utf8')).toContain('v1');
      expect(await readFile(path.join(dir, 'old', 'f.md'), 'utf8')).toContain('v2 edit');
    }
  });

  it('an editor-style save is one commit with no swap file in history', async () => {
    await writeFile(path.join(a, 'doc.md'), 'v1\n');
    await sync();
    const before = await env.commitCount('notes');
    // vim: swap file, 4913 probe, write to a temp file, rename over, drop the swap file.
    await writeFile(path.join(a, '.doc.md.swp'), 'swap');
    await writeFile(path.join(a, '4913'), '');
    await rm(path.join(a, '4913'));
    await writeFile(path.join(a, 'doc.md~'), 'v1\n');
    await writeFile(path.join(a, '.doc.md.tmp'), 'v2\n');
    await rename(path.join(a, '.doc.md.tmp'), path.join(a, 'doc.md'));
    await rm(path.join(a, 'doc.md~'));
    await rm(path.join(a, '.doc.md.swp'));
    expect(await seen(b, 'doc.md', 'v2\n')).toBe(true);
    await sync();
    expect(await env.commitCount('notes')).toBe(before + 1);
    const files = await env.jj('notes', ['file', 'list', '-r', 'main']);
    expect(files.split('\n').filter(Boolean)).toEqual(['doc.md']);
    const history = await env.jj('notes', ['log', '-r', '::main', '--no-graph', '-s', '-T', '""']);
    expect(history).not.toMatch(/swp|4913|~/);
  });

  it('an idle repo makes no commits and spawns no jj process', async () => {
    await writeFile(path.join(a, 'x.md'), 'x\n');
    expect(await seen(c, 'x.md', 'x\n')).toBe(true);
    await sync();
    await sleep(1_000); // let the watcher's post-round checks settle
    const commits = await env.commitCount('notes');
    const before = (await env.json<{ stats: { jjCalls: number } }>(['status'])).stats.jjCalls;
    await sleep(10_000);
    const after = (await env.json<{ stats: { jjCalls: number } }>(['status'])).stats.jjCalls;
    expect(after).toBe(before);
    expect(await env.commitCount('notes')).toBe(commits);
  }, 60_000);

  it('a file larger than 1 MiB syncs', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    await writeFile(path.join(a, 'big.bin'), big);
    expect(await waitFor(async () => (await readFile(path.join(b, 'big.bin')).catch(() => Buffer.alloc(0))).equals(big), 15_000)).toBe(true);
    const status = await env.json<{ repos: Array<{ refusedFiles: string[] }> }>(['status']);
    expect(status.repos[0]!.refusedFiles).toEqual([]);
  });
});
