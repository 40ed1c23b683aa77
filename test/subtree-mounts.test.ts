import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MountInfo, StatusResult } from '../src/rpc/protocol.js';
import { auditLines, EXACT } from '../src/sync/fixtures.test-support.js';
import { errorCode, isAlive, JjfsEnv, readOrUndefined, waitFor } from './helpers/jjfs-env.js';

// Mount what you need (issue 16): `jjfs open REPO/SUB/DIR` shows one folder of the repo, holds only
// it on disk, and syncs with full mounts and other mounts of the same folder.
let env: JjfsEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
});
afterEach(async () => {
  await env.cleanup();
});

async function openSub(spec: string, name: string, extra: string[] = []): Promise<string> {
  const where = path.join(env.root, name);
  const r = await env.run(['open', spec, where, ...extra]);
  if (r.code !== 0) throw new Error(`open ${spec} exited ${r.code}: ${r.stderr}`);
  return where;
}

const seen = (file: string, content: string | undefined) => waitFor(async () => (await readOrUndefined(file)) === content, 20_000);

describe('subtree mounts', () => {
  it('show only their folder, hold only it on disk, and sync both ways with full and subtree mounts', async () => {
    const full = await env.open('notes', 'full');
    await mkdir(path.join(full, 'projects', 'a'), { recursive: true });
    await mkdir(path.join(full, 'projects', 'b'), { recursive: true });
    await writeFile(path.join(full, 'projects', 'a', 'plan.md'), 'plan a\n');
    await writeFile(path.join(full, 'projects', 'b', 'plan.md'), 'plan b\n');
    await writeFile(path.join(full, 'top.md'), 'top\n');
    await env.json(['sync', 'notes']);

    const a1 = await openSub('notes/projects/a', 'a1');
    const a2 = await openSub('notes/projects/a', 'a2');
    expect((await readdir(a1)).sort()).toEqual(['plan.md']);
    expect(await readFile(path.join(a1, 'plan.md'), 'utf8')).toBe('plan a\n');
    const listed = (await env.json<{ mounts: MountInfo[] }>(['list'])).mounts.find((m) => m.path === a1)!;
    expect(listed.subtree).toBe('projects/a');
    // Only the subtree is on disk: nothing of projects/b or top.md in its workspace.
    expect((await readdir(listed.workspace)).filter((n) => n !== '.jj')).toEqual(['projects']);
    expect((await readdir(path.join(listed.workspace, 'projects')))).toEqual(['a']);

    // A write in the subtree mount lands at projects/a/... and reaches the full mount and the other subtree mount.
    await writeFile(path.join(a1, 'notes.md'), 'from a1\n');
    expect(await seen(path.join(full, 'projects', 'a', 'notes.md'), 'from a1\n')).toBe(true);
    expect(await seen(path.join(a2, 'notes.md'), 'from a1\n')).toBe(true);
    // The full mount's writes inside the subtree reach it; outside, they never appear in its workspace.
    await writeFile(path.join(full, 'projects', 'a', 'plan.md'), 'plan a v2\n');
    await writeFile(path.join(full, 'projects', 'b', 'plan.md'), 'plan b v2\n');
    await writeFile(path.join(full, 'elsewhere.md'), 'not for a\n');
    expect(await seen(path.join(a1, 'plan.md'), 'plan a v2\n')).toBe(true);
    await env.json(['sync', 'notes']);
    expect(existsSync(path.join(listed.workspace, 'elsewhere.md'))).toBe(false);
    expect(existsSync(path.join(listed.workspace, 'projects', 'b'))).toBe(false);
    expect((await readdir(a1)).sort()).toEqual(['notes.md', 'plan.md']);

    // History commands inside a subtree mount take paths relative to it.
    const log = await env.run(['log', 'notes.md', '--json'], { cwd: a1 });
    expect(log.code, log.stderr).toBe(0);
    expect((JSON.parse(log.stdout) as { path: string }).path).toBe('projects/a/notes.md');
  });

  it('a folder the repo does not have yet is created, reaches history with its first file; concurrent appends merge', async () => {
    const full = await env.open('notes', 'full');
    const sub = await openSub('notes/new/folder', 'sub');
    expect(await readdir(sub)).toEqual([]);
    const written: { sub: string[]; full: string[] } = { sub: [], full: [] };
    await writeFile(path.join(sub, 'log.md'), '');
    expect(await seen(path.join(full, 'new', 'folder', 'log.md'), '')).toBe(true);
    for (let i = 0; i < 40; i++) {
      const s = `sub ${i}\n`;
      const f = `full ${i}\n`;
      await Promise.all([
        writeFile(path.join(sub, 'log.md'), s, { flag: 'a' }),
        writeFile(path.join(full, 'new', 'folder', 'log.md'), f, { flag: 'a' }),
      ]);
      written.sub.push(s);
      written.full.push(f);
    }
    await env.json(['sync', 'notes']);
    await env.json(['sync', 'notes']);
    const both = [...written.sub, ...written.full];
    expect(await waitFor(async () => (await readFile(path.join(sub, 'log.md'), 'utf8')) === (await readFile(path.join(full, 'new', 'folder', 'log.md'), 'utf8')), 20_000)).toBe(true);
    expect(auditLines(await readFile(path.join(sub, 'log.md'), 'utf8'), both)).toEqual(EXACT);
  });

  it('bad subtrees are refused with the cause, and nothing is created', async () => {
    const full = await env.open('notes', 'full');
    await writeFile(path.join(full, 'file.md'), 'a file\n');
    await env.json(['sync', 'notes']);
    const before = (await env.json<{ mounts: MountInfo[] }>(['list'])).mounts.length;
    const cases: Array<[string, RegExp]> = [
      ['notes/../etc', /points outside the repo/],
      ['notes/.jj', /jj's own metadata/],
      ['notes/file.md', /is a file in repo "notes", not a folder/],
      ['notes/file.md/inside', /file\.md is a file in repo "notes", not a folder/],
      ['notes/', /subtree in "notes\/" is empty/],
    ];
    for (const [spec, message] of cases) {
      const where = path.join(env.root, `bad-${cases.findIndex((c) => c[0] === spec)}`);
      const r = await env.run(['open', spec, where]);
      expect(r.code, `${spec}: ${r.stderr}`).not.toBe(0);
      expect(r.stderr, spec).toMatch(message);
      expect(existsSync(where), `${spec} left ${where}`).toBe(false);
    }
    expect((await env.json<{ mounts: MountInfo[] }>(['list'])).mounts.length).toBe(before);
    const st = await env.json<StatusResult>(['status']);
    expect(st.mounts.every((m) => m.state === 'mounted')).toBe(true);
  });

  it('a read-only subtree view survives kill -9 and follows its folder', async () => {
    const full = await env.open('notes', 'full');
    await mkdir(path.join(full, 'docs'));
    await writeFile(path.join(full, 'docs', 'a.md'), 'v1\n');
    await env.json(['sync', 'notes']);
    const view = await openSub('notes/docs', 'docs-view', ['--read-only']);
    expect(await readFile(path.join(view, 'a.md'), 'utf8')).toBe('v1\n');
    const pid = (await env.daemonPid())!;
    process.kill(pid, 'SIGKILL');
    expect(await waitFor(() => !isAlive(pid), 10_000)).toBe(true);
    expect((await env.run(['start'])).code).toBe(0);
    const info = (await env.json<{ mounts: MountInfo[] }>(['list'])).mounts.find((m) => m.path === view)!;
    expect(info).toMatchObject({ state: 'mounted', readOnly: true, subtree: 'docs' });
    await writeFile(path.join(full, 'docs', 'a.md'), 'v2\n');
    expect(await seen(path.join(view, 'a.md'), 'v2\n')).toBe(true);
    expect(await errorCode(() => writeFile(path.join(view, 'a.md'), 'mine\n'))).toBe('EROFS');
  });
});
