import { chmod, open, mkdir, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { watch } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MountInfo } from '../src/rpc/protocol.js';
import { errorCode, JjfsEnv, readOrUndefined, waitFor } from './helpers/jjfs-env.js';

// Where kernel caching could go stale (issue 12), a daemon mount must show every change at once:
// jj growing, shrinking, rewriting, deleting a file or replacing it by a directory, a readdir after
// a create elsewhere, cached pages, fstat on an open fd, direct edits in the backing directory.
// Both ways a daemon mounts: with kernel caches (names, attributes) and invalidation (`invalidated`, the
// default), and the fallback without (`timeouts`, forced with JJFS_KERNEL_CACHE=off); list
// reports the mode (src/fs/mount.ts, "Kernel name caches").
describe.each([
  { mode: 'invalidated', env: {} },
  { mode: 'timeouts', env: { JJFS_KERNEL_CACHE: 'off' } },
] as const)('daemon mounts where kernel caching could go stale ($mode)', ({ mode, env: extraEnv }) => {
  let env: JjfsEnv;
  let a: string;
  let b: string;
  let backingB: string;
  const run = async (args: string[]): Promise<void> => {
    const r = await env.run(args, { env: env.env(extraEnv) });
    if (r.code !== 0) throw new Error(`jjfs ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  };
  const sync = () => run(['sync', 'notes']);

  beforeEach(async () => {
    env = await JjfsEnv.create();
    await run(['start']);
    a = path.join(env.root, 'a');
    b = path.join(env.root, 'b');
    await run(['open', 'notes', a]);
    await run(['open', 'notes', b]);
    const mounts = (await env.json<{ mounts: MountInfo[] }>(['list'])).mounts;
    expect(mounts.map((m) => m.kernelCache)).toEqual([mode, mode]);
    backingB = mounts.find((m) => m.path === b)!.workspace;
  });
  afterEach(async () => {
    await env.cleanup();
  });

  it('a cached stat, name and "no such name" follow jj rewriting the file: grow, shrink, same size, delete, directory', async () => {
    await writeFile(path.join(a, 'f.md'), 'one\n');
    await sync();
    expect((await stat(path.join(b, 'f.md'))).size).toBe(4);
    expect(await errorCode(() => stat(path.join(b, 'g.md')))).toBe('ENOENT'); // cached as absent
    const steps: Array<[string, string]> = [
      ['grow', 'one\ntwo three\n'],
      ['shrink', 'x\n'],
      ['same size', 'y\n'],
    ];
    for (const [label, content] of steps) {
      await writeFile(path.join(a, 'f.md'), content);
      await writeFile(path.join(a, 'g.md'), label);
      await sync();
      expect((await stat(path.join(b, 'f.md'))).size, label).toBe(Buffer.byteLength(content));
      expect(await readFile(path.join(b, 'f.md'), 'utf8'), label).toBe(content);
      expect(await readFile(path.join(b, 'g.md'), 'utf8'), label).toBe(label);
    }
    await rm(path.join(a, 'g.md'));
    await sync();
    expect(await errorCode(() => stat(path.join(b, 'g.md')))).toBe('ENOENT');
    await rm(path.join(a, 'f.md'));
    await mkdir(path.join(a, 'f.md'));
    await writeFile(path.join(a, 'f.md', 'inside.md'), 'in a directory now\n');
    await sync();
    expect((await stat(path.join(b, 'f.md'))).isDirectory()).toBe(true);
    expect(await readFile(path.join(b, 'f.md', 'inside.md'), 'utf8')).toBe('in a directory now\n');
  }, 120_000);

  it('a readdir shows a file created in another mount; cached pages follow a same-size rewrite, by jj or in place', async () => {
    await writeFile(path.join(a, 'page.md'), 'AAAAAAAA\n');
    await sync();
    expect((await readdir(b)).sort()).toEqual(['page.md']);
    expect(await readFile(path.join(b, 'page.md'), 'utf8')).toBe('AAAAAAAA\n'); // pages cached
    await writeFile(path.join(a, 'page.md'), 'BBBBBBBB\n');
    await writeFile(path.join(a, 'new.md'), 'new\n');
    await sync();
    expect((await readdir(b)).sort()).toEqual(['new.md', 'page.md']);
    expect(await readFile(path.join(b, 'page.md'), 'utf8')).toBe('BBBBBBBB\n');
    // Pages are kept across opens of an unchanged file (src/fs/ops-files.ts, "Page cache"); an
    // in-place same-size edit behind the mount (same inode, unlike jj's) must still show at the
    // very next open, before any event about it arrives.
    expect(await readFile(path.join(b, 'page.md'), 'utf8')).toBe('BBBBBBBB\n'); // pages kept
    const before = await stat(path.join(backingB, 'page.md'));
    await writeFile(path.join(backingB, 'page.md'), 'CCCCCCCC\n');
    expect((await stat(path.join(backingB, 'page.md'))).ino).toBe(before.ino);
    expect(await readFile(path.join(b, 'page.md'), 'utf8')).toBe('CCCCCCCC\n');
  }, 120_000);

  it('fstat on an open fd shows the rewritten file once announced (the fallback: within its 1 s attribute timeout)', async () => {
    await writeFile(path.join(a, 'open.md'), 'short\n');
    await sync();
    const fh = await open(path.join(b, 'open.md'), 'r');
    try {
      expect((await fh.stat()).size).toBe(6);
      await writeFile(path.join(a, 'open.md'), 'a good deal longer now\n');
      await sync();
      expect(await waitFor(async () => (await fh.stat()).size === 23, 10_000)).toBe(true);
      const { bytesRead, buffer } = await fh.read(Buffer.alloc(64), 0, 64, 0);
      expect(buffer.subarray(0, bytesRead).toString()).toBe('a good deal longer now\n');
    } finally {
      await fh.close();
    }
  }, 120_000);

  it("the mount root's and a directory's cached attributes follow jj and direct edits", async () => {
    // The root is the one inode no lookup refreshes (src/fs/mount.ts, "Kernel caches"), and a
    // symlink is the one creation no event replays (a replay through the mount would refresh its
    // parent): only the invalidation can show the root's new mtime. So the root's attributes are
    // cached only once the replay of `sub` is over (its event seen on b).
    const seen: string[] = [];
    const watching = watch(b, (_type, name) => seen.push(String(name)));
    try {
      await mkdir(path.join(a, 'sub'));
      await writeFile(path.join(a, 'sub', 'one.md'), 'one\n');
      await sync();
      expect(await waitFor(() => seen.includes('sub'), 10_000)).toBe(true);
    } finally {
      watching.close();
    }
    const root = await stat(b);
    const sub = await stat(path.join(b, 'sub'));
    await symlink('sub/one.md', path.join(a, 'link.md'));
    await writeFile(path.join(a, 'sub', 'two.md'), 'two\n');
    await sync();
    expect(await readlink(path.join(b, 'link.md'))).toBe('sub/one.md');
    // Within a second: the fallback keeps attributes that long (attr_timeout=1).
    expect(await waitFor(async () => (await stat(b)).mtimeMs > root.mtimeMs, 5_000)).toBe(true);
    expect(await waitFor(async () => (await stat(path.join(b, 'sub'))).mtimeMs > sub.mtimeMs, 5_000)).toBe(true);
    // A change no event replays (a directory's mode, edited behind the mount) still shows.
    const want = ((await stat(path.join(b, 'sub'))).mode & 0o777) === 0o700 ? 0o750 : 0o700;
    await chmod(path.join(backingB, 'sub'), want);
    expect(await waitFor(async () => ((await stat(path.join(b, 'sub'))).mode & 0o777) === want, 10_000)).toBe(true);
  }, 120_000);

  it('a listing the kernel keeps follows a file synced from another mount, one deleted there, and a direct edit', async () => {
    // A directory whose ctime is over a second old is listed once and then kept by the kernel
    // (src/fs/mount.ts, "Listings"; the fallback lists at every open): each step lists it twice
    // once it settled, so the second listing is the kernel's, then changes it and lists again.
    await mkdir(path.join(a, 'docs'));
    await writeFile(path.join(a, 'docs', 'one.md'), 'one\n');
    await sync();
    const docs = path.join(b, 'docs');
    const listed = async (): Promise<string[]> => (await readdir(docs)).sort();
    const listTwiceSettled = async (want: string[]): Promise<void> => {
      expect(await waitFor(async () => Date.now() - (await stat(path.join(backingB, 'docs'))).ctimeMs > 1_200, 15_000)).toBe(true);
      expect(await listed()).toEqual(want);
      expect(await listed()).toEqual(want);
    };
    await listTwiceSettled(['one.md']);
    await writeFile(path.join(a, 'docs', 'two.md'), 'two\n');
    await sync();
    expect(await listed()).toEqual(['one.md', 'two.md']);
    await listTwiceSettled(['one.md', 'two.md']);
    await rm(path.join(a, 'docs', 'one.md'));
    await sync();
    expect(await listed()).toEqual(['two.md']);
    await listTwiceSettled(['two.md']);
    // Behind the mount: listed at the very next open, before any event about it arrives.
    await writeFile(path.join(backingB, 'docs', 'direct.md'), 'direct\n');
    expect(await listed()).toEqual(['direct.md', 'two.md']);
    await sync();
    expect((await readdir(path.join(a, 'docs'))).sort()).toEqual(['direct.md', 'two.md']);
  }, 120_000);

  it('a direct edit in the backing directory shows in the mount, also where "no such name" was cached', async () => {
    expect(await errorCode(() => stat(path.join(b, 'direct.md')))).toBe('ENOENT');
    await writeFile(path.join(backingB, 'direct.md'), 'written behind the mount\n');
    expect(await waitFor(async () => (await readOrUndefined(path.join(b, 'direct.md'))) === 'written behind the mount\n', 10_000)).toBe(true);
    await rm(path.join(backingB, 'direct.md'));
    expect(await waitFor(async () => (await errorCode(() => stat(path.join(b, 'direct.md')))) === 'ENOENT', 10_000)).toBe(true);
    // And it is synced like any change (it reached history through the watcher).
    await writeFile(path.join(backingB, 'kept.md'), 'kept\n');
    expect(await waitFor(async () => (await readOrUndefined(path.join(a, 'kept.md'))) === 'kept\n', 20_000)).toBe(true);
  }, 120_000);
});
