import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import watcher from '@parcel/watcher';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JjfsEnv, readOrUndefined, sleep, waitFor } from './helpers/jjfs-env.js';

let env: JjfsEnv;
let a: string;
let b: string;
beforeEach(async () => {
  env = await JjfsEnv.create();
  a = await env.open('notes', 'a');
  b = await env.open('notes', 'b');
});
afterEach(async () => {
  await env.cleanup();
});

interface Seen {
  at: number;
  path: string;
  type: string;
}

/** Watches mount B with @parcel/watcher (recursive) and fs.watch (its own directory). */
async function watchB(): Promise<{ parcel: Seen[]; fsw: Seen[]; stop: () => Promise<void> }> {
  const parcel: Seen[] = [];
  const fsw: Seen[] = [];
  // The watchers run in this (test) process, not in the daemon: watching a mount is what an
  // editor does. Events for the mount come from the kernel (inotify).
  const sub = await watcher.subscribe(b, (err, events) => {
    if (err) return;
    for (const e of events) parcel.push({ at: Date.now(), path: path.relative(b, e.path), type: e.type });
  });
  const fw: FSWatcher = fsWatch(b, (type, name) => fsw.push({ at: Date.now(), path: String(name), type }));
  return {
    parcel,
    fsw,
    stop: async () => {
      fw.close();
      await sub.unsubscribe();
    },
  };
}

/**
 * True once a matching event arrived after `since`. How fast is measured in
 * bench/watch-latency.mjs (p50/p99), not asserted here: this machine is shared and slow at times.
 */
const within = (list: Seen[], pred: (s: Seen) => boolean, since: number) =>
  list.some((s) => pred(s) && s.at >= since);

describe('watchers on a mount see changes synced from another mount', () => {
  it('edit, create, delete and rename in A raise events on B, without an event storm', async () => {
    await writeFile(path.join(a, 'edit.md'), 'v1\n');
    await writeFile(path.join(a, 'gone.md'), 'bye\n');
    await writeFile(path.join(a, 'old-name.md'), 'moving\n');
    expect(await waitFor(async () => (await readOrUndefined(path.join(b, 'old-name.md'))) === 'moving\n')).toBe(true);
    await env.run(['sync', 'notes']);
    await sleep(500);
    const w = await watchB();
    try {
      let t = Date.now();
      await writeFile(path.join(a, 'edit.md'), 'v2 longer\n');
      expect(await waitFor(() => within(w.parcel, (s) => s.path === 'edit.md' && s.type === 'update', t), 10_000)).toBe(true);
      expect(within(w.fsw, (s) => s.path === 'edit.md', t)).toBe(true);
      expect(await readFile(path.join(b, 'edit.md'), 'utf8')).toBe('v2 longer\n');

      t = Date.now();
      await writeFile(path.join(a, 'new.md'), 'fresh\n');
      expect(await waitFor(() => within(w.parcel, (s) => s.path === 'new.md' && s.type === 'create', t), 10_000)).toBe(true);
      expect(within(w.fsw, (s) => s.path === 'new.md' && s.type === 'rename', t)).toBe(true);

      t = Date.now();
      await rm(path.join(a, 'gone.md'));
      expect(await waitFor(() => within(w.parcel, (s) => s.path === 'gone.md' && s.type === 'delete', t), 10_000)).toBe(true);
      expect(within(w.fsw, (s) => s.path === 'gone.md', t)).toBe(true);

      t = Date.now();
      await rename(path.join(a, 'old-name.md'), path.join(a, 'new-name.md'));
      expect(
        await waitFor(
          () =>
            within(w.parcel, (s) => s.path === 'old-name.md' && s.type === 'delete', t) &&
            within(w.parcel, (s) => s.path === 'new-name.md' && s.type === 'create', t),
          10_000,
        ),
      ).toBe(true);

      t = Date.now();
      await mkdir(path.join(a, 'dir'));
      await writeFile(path.join(a, 'dir', 'inner.md'), 'deep\n');
      expect(await waitFor(() => within(w.parcel, (s) => s.path === path.join('dir', 'inner.md'), t), 10_000)).toBe(true);

      // No storm: once quiet, no more events arrive, and no extra commits are made.
      await env.run(['sync', 'notes']);
      await sleep(1500);
      const commits = await env.commitCount('notes');
      const count = w.parcel.length + w.fsw.length;
      await sleep(3000);
      expect(w.parcel.length + w.fsw.length).toBe(count);
      expect(await env.commitCount('notes')).toBe(commits);
      expect(count).toBeLessThan(60);
    } finally {
      await w.stop();
    }
  });

  it('a reader holding the file open in B reads the new bytes after the sync', async () => {
    await writeFile(path.join(a, 'live.md'), 'first version\n');
    expect(await waitFor(async () => (await readOrUndefined(path.join(b, 'live.md'))) === 'first version\n')).toBe(true);
    const fh = await open(path.join(b, 'live.md'), 'r');
    try {
      const read = async () => {
        const buf = Buffer.alloc(100);
        const { bytesRead } = await fh.read(buf, 0, 100, 0);
        return buf.subarray(0, bytesRead).toString();
      };
      expect(await read()).toBe('first version\n');
      await writeFile(path.join(a, 'live.md'), 'SECOND version\n');
      expect(await waitFor(async () => (await readOrUndefined(path.join(b, 'live.md'))) === 'SECOND version\n')).toBe(true);
      expect(await waitFor(async () => (await read()) === 'SECOND version\n', 10_000)).toBe(true);
    } finally {
      await fh.close();
    }
  });
});
