import { chmod, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import watcher from '@parcel/watcher';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MountInfo, StatusResult } from '../src/rpc/protocol.js';
import { errorCode, isAlive, JjfsEnv, readOrUndefined, waitFor } from './helpers/jjfs-env.js';

// Mount what you need (issue 16): a live read-only view follows main like any mount — its watchers
// hear of every change — answers every write with EROFS, commits nothing, survives kill -9.
let env: JjfsEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
});
afterEach(async () => {
  await env.cleanup();
});

async function openReadOnly(name: string): Promise<string> {
  const where = path.join(env.root, name);
  const r = await env.run(['open', 'notes', where, '--read-only']);
  if (r.code !== 0) throw new Error(`open --read-only exited ${r.code}: ${r.stderr}`);
  expect(r.stdout).toMatch(/read-only; it follows every change/);
  return where;
}


describe('read-only live views', () => {
  it('follow every change with watcher events, refuse every write with EROFS, and commit nothing', async () => {
    const a = await env.open('notes', 'a');
    await writeFile(path.join(a, 'kept.md'), 'one\n');
    await mkdir(path.join(a, 'dir'));
    await writeFile(path.join(a, 'dir', 'inner.md'), 'inner\n');
    await env.json(['sync', 'notes']);
    const r = await openReadOnly('view');
    expect(await readFile(path.join(r, 'kept.md'), 'utf8')).toBe('one\n');

    const seen: Array<{ path: string; type: string }> = [];
    const sub = await watcher.subscribe(r, (err, events) => {
      if (!err) for (const e of events) seen.push({ path: path.relative(r, e.path), type: e.type });
    });
    try {
      await writeFile(path.join(a, 'new.md'), 'fresh\n');
      await writeFile(path.join(a, 'kept.md'), 'one\ntwo\n');
      await rm(path.join(a, 'dir', 'inner.md'));
      expect(await waitFor(async () => (await readOrUndefined(path.join(r, 'new.md'))) === 'fresh\n', 20_000)).toBe(true);
      expect(await waitFor(async () => (await readOrUndefined(path.join(r, 'kept.md'))) === 'one\ntwo\n', 20_000)).toBe(true);
      expect(await waitFor(async () => (await readOrUndefined(path.join(r, 'dir', 'inner.md'))) === undefined, 20_000)).toBe(true);
      // Its watchers hear of each synced change, as in any mount.
      const heard = async (p: string, type: string): Promise<void> => {
        if (await waitFor(() => seen.some((e) => e.path === p && e.type === type), 10_000)) return;
        expect.fail(`no ${type} of ${p}; heard ${JSON.stringify(seen)}; daemon log:\n${(await env.daemonLog()).slice(-6000)}`);
      };
      await heard('new.md', 'create');
      await heard('kept.md', 'update');
      await heard(path.join('dir', 'inner.md'), 'delete');
    } finally {
      await sub.unsubscribe();
    }

    const commits = await env.commitCount('notes');
    const refused = {
      write: await errorCode(() => writeFile(path.join(r, 'kept.md'), 'mine\n')),
      create: await errorCode(() => writeFile(path.join(r, 'other.md'), 'x\n')),
      mkdir: await errorCode(() => mkdir(path.join(r, 'sub'))),
      rename: await errorCode(() => rename(path.join(r, 'kept.md'), path.join(r, 'moved.md'))),
      delete: await errorCode(() => rm(path.join(r, 'new.md'))),
      chmod: await errorCode(() => chmod(path.join(r, 'kept.md'), 0o600)),
      symlink: await errorCode(() => symlink('kept.md', path.join(r, 'link'))),
    };
    expect(refused).toEqual({ write: 'EROFS', create: 'EROFS', mkdir: 'EROFS', rename: 'EROFS', delete: 'EROFS', chmod: 'EROFS', symlink: 'EROFS' });
    await env.json(['sync', 'notes']);
    expect(await env.commitCount('notes')).toBe(commits);
    expect(await readFile(path.join(a, 'kept.md'), 'utf8')).toBe('one\ntwo\n');
    expect(await readOrUndefined(path.join(a, 'other.md'))).toBeUndefined();

    const listed = (await env.json<{ mounts: MountInfo[] }>(['list'])).mounts.find((m) => m.path === r)!;
    expect(listed).toMatchObject({ state: 'mounted', readOnly: true });
    expect(listed.at).toBeUndefined();
    const close = await env.run(['close', r]);
    expect(close.code, close.stderr).toBe(0);
    expect(close.stdout).toMatch(/Closed the read-only view/);
    expect(await env.commitCount('notes')).toBe(commits);
  });

  it('survives kill -9 of the daemon: remounted read-only, and it follows again', async () => {
    const a = await env.open('notes', 'a');
    const r = await openReadOnly('view');
    await writeFile(path.join(a, 'f.md'), 'before\n');
    expect(await waitFor(async () => (await readOrUndefined(path.join(r, 'f.md'))) === 'before\n', 20_000)).toBe(true);
    const pid = (await env.daemonPid())!;
    process.kill(pid, 'SIGKILL');
    expect(await waitFor(() => !isAlive(pid), 10_000)).toBe(true);
    expect((await env.run(['start'])).code).toBe(0);
    const st = await env.json<StatusResult>(['status']);
    expect(st.mounts.find((m) => m.path === r)).toMatchObject({ state: 'mounted', readOnly: true });
    await writeFile(path.join(a, 'f.md'), 'after\n');
    expect(await waitFor(async () => (await readOrUndefined(path.join(r, 'f.md'))) === 'after\n', 20_000)).toBe(true);
    expect(await errorCode(() => writeFile(path.join(r, 'f.md'), 'mine\n'))).toBe('EROFS');
  });
});
