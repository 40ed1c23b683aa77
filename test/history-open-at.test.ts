import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Entry, jsonIn, seenEverywhere, syncRepo } from './helpers/history.js';
import { errorCode, JjfsEnv, mountPoints } from './helpers/jjfs-env.js';

let env: JjfsEnv;
let a: string;
beforeEach(async () => {
  env = await JjfsEnv.create();
  a = await env.open('notes', 'a');
});
afterEach(async () => {
  await env.cleanup();
});


interface MountJson {
  path: string;
  repo: string;
  state: string;
  at?: string;
  workspace: string;
}

describe('open --at: a read-only mount of a past state', () => {
  it('shows the old tree, refuses writes with EROFS, survives a restart and closes cleanly', async () => {
    await mkdir(path.join(a, 'd'));
    await writeFile(path.join(a, 'd', 'old.md'), 'old content\n');
    await writeFile(path.join(a, 'keep.md'), 'v1\n');
    await syncRepo(env, 'notes');
    const [past] = (await jsonIn<{ entries: Entry[] }>(env, ['log'], a)).entries;
    await writeFile(path.join(a, 'keep.md'), 'v2\n');
    await rm(path.join(a, 'd'), { recursive: true });
    await writeFile(path.join(a, 'new.md'), 'new\n');
    await syncRepo(env, 'notes');

    const ro = path.join(env.root, 'then');
    const opened = await jsonIn<{ mount: MountJson; version: { commit: string } }>(env, ['open', 'notes', ro, '--at', past!.commit.slice(0, 12)], env.root);
    expect(opened.version.commit).toBe(past!.commit);
    expect(opened.mount.at).toBe(past!.commit);
    expect((await readdir(ro)).sort()).toEqual(['d', 'keep.md']);
    expect(await readFile(path.join(ro, 'keep.md'), 'utf8')).toBe('v1\n');
    expect(await readFile(path.join(ro, 'd', 'old.md'), 'utf8')).toBe('old content\n');

    // Every kind of write fails with EROFS, and nothing reaches the live mount or history.
    const commits = await env.commitCount('notes');
    expect(await errorCode(() => writeFile(path.join(ro, 'keep.md'), 'overwrite\n'))).toBe('EROFS');
    expect(await errorCode(() => appendFile(path.join(ro, 'keep.md'), 'more\n'))).toBe('EROFS');
    expect(await errorCode(() => writeFile(path.join(ro, 'created.md'), 'x'))).toBe('EROFS');
    expect(await errorCode(() => rm(path.join(ro, 'keep.md')))).toBe('EROFS');
    expect(await errorCode(() => mkdir(path.join(ro, 'dir')))).toBe('EROFS');
    expect(await readFile(path.join(ro, 'keep.md'), 'utf8')).toBe('v1\n');
    await syncRepo(env, 'notes');
    expect(await env.commitCount('notes')).toBe(commits);
    expect(await readFile(path.join(a, 'keep.md'), 'utf8')).toBe('v2\n');

    // The live mount keeps syncing; the read-only one does not move.
    await writeFile(path.join(a, 'keep.md'), 'v3\n');
    await syncRepo(env, 'notes');
    expect(await readFile(path.join(ro, 'keep.md'), 'utf8')).toBe('v1\n');

    // Listed with its version; back after a restart.
    const listed = (await env.json<{ mounts: MountJson[] }>(['list'])).mounts.find((m) => m.path === ro);
    expect(listed).toMatchObject({ state: 'mounted', at: past!.commit, repo: 'notes' });
    expect((await env.run(['stop'])).code).toBe(0);
    expect((await env.run(['start'])).code).toBe(0);
    expect(await readFile(path.join(ro, 'keep.md'), 'utf8')).toBe('v1\n');
    expect(await errorCode(() => writeFile(path.join(ro, 'keep.md'), 'x'))).toBe('EROFS');

    // close: unmounted, directory and backing workspace gone, jj forgets the workspace.
    const closed = await env.run(['close', ro]);
    expect(closed.code, closed.stderr).toBe(0);
    expect(closed.stdout).toMatch(/read-only view/);
    expect(await mountPoints()).not.toContain(ro);
    expect(existsSync(ro)).toBe(false);
    expect(existsSync(listed!.workspace)).toBe(false);
    const workspaces = await env.jj('notes', ['workspace', 'list', '-T', 'name ++ "\\n"']);
    expect(workspaces.split('\n').filter(Boolean)).toHaveLength(1); // only a's
    expect((await env.json<{ mounts: MountJson[] }>(['list'])).mounts.map((m) => m.path)).toEqual([a]);
    // The live mount is untouched by all of it.
    expect(await seenEverywhere([a], 'keep.md', Buffer.from('v3\n'))).toBe(true);
  });

  it('refuses a bad version or a missing repo and creates nothing', async () => {
    const target = path.join(env.root, 'nope');
    const bad = await env.run(['open', 'notes', target, '--at', 'deadbeef']);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/deadbeef/);
    const early = await env.run(['open', 'notes', target, '--at', '2001-01-01T00:00:00Z']);
    expect(early.code).toBe(4);
    expect(early.stderr).toMatch(/no version at or before 2001-01-01/);
    const missing = await env.run(['open', 'other', target, '--at', '1h']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/No repo named "other"/);
    expect(existsSync(target)).toBe(false);
    expect((await env.json<{ mounts: MountJson[] }>(['list'])).mounts).toHaveLength(1);
    expect((await env.json<{ repos: unknown[] }>(['repos'])).repos).toHaveLength(1);
  });
});
