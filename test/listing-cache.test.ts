/**
 * Listings the kernel keeps (src/fs/mount.ts, "Listings"; native-shims/build-fuse.mjs,
 * jjfs_listing_answer): with the caches on, a directory whose ctime is more than a second old is
 * listed by the mount once and then served by the kernel without a READDIR, until it changes —
 * through the mount or behind it. Counted with the mount's readdir calls (FuseMount.listingReads).
 * Without the caches, without jjfs's request loop, or with JJFS_LISTING_CACHE=off, every open lists.
 */
import fs from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serveMount, waitFor, type ServedMount } from './helpers/serve-harness.js';

/** Resolves once dir's ctime is more than a second old (the rule's "settled", with a margin). */
async function settled(dir: string): Promise<void> {
  await waitFor(() => Date.now() - fs.statSync(dir).ctimeMs > 1_200, 15_000);
}

const sorted = async (dir: string): Promise<string[]> => (await readdir(dir)).sort();
const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `f${String(i).padStart(3, '0')}.md`);

function fill(backing: string): void {
  fs.mkdirSync(path.join(backing, 'dir'));
  for (const name of names(60)) fs.writeFileSync(path.join(backing, 'dir', name), name);
  fs.writeFileSync(path.join(backing, 'top.md'), 'top');
}

describe('directory listings the kernel keeps', () => {
  const servers: ServedMount[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });

  it('lists a settled directory once, then follows every change behind the mount at the next open', async () => {
    const m = await serveMount({ kernelCache: true, setup: fill });
    servers.push(m);
    const dir = path.join(m.mnt, 'dir');
    const backingDir = path.join(m.backing, 'dir');
    let expected = names(60);
    await settled(backingDir);
    await settled(m.backing);

    const before = await m.listingReads();
    expect(before).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 3; i++) expect(await sorted(dir)).toEqual(expected);
    for (let i = 0; i < 3; i++) expect(await sorted(m.mnt)).toEqual(['dir', 'top.md']);
    // One readdir for each directory: its first open reads the listing, the kernel keeps it.
    expect((await m.listingReads()) - before).toBe(2);

    // A file created behind the mount (as jj or an editor on the backing directory would).
    fs.writeFileSync(path.join(backingDir, 'new.md'), 'new');
    expected = [...expected, 'new.md'].sort();
    expect(await sorted(dir)).toEqual(expected);
    // A file deleted behind the mount, right after (the same second as the listing before).
    fs.unlinkSync(path.join(backingDir, 'f000.md'));
    expected = expected.filter((n) => n !== 'f000.md');
    expect(await sorted(dir)).toEqual(expected);
    // Renamed, and the directory's mtime put back as it was: its ctime still moves.
    const { atime, mtime } = fs.statSync(backingDir);
    fs.renameSync(path.join(backingDir, 'f001.md'), path.join(backingDir, 'renamed.md'));
    fs.utimesSync(backingDir, atime, mtime);
    expected = [...expected.filter((n) => n !== 'f001.md'), 'renamed.md'].sort();
    expect(await sorted(dir)).toEqual(expected);
    // At the root: a file replaced by a directory of the same name.
    fs.unlinkSync(path.join(m.backing, 'top.md'));
    fs.mkdirSync(path.join(m.backing, 'top.md'));
    const entries = await readdir(m.mnt, { withFileTypes: true });
    expect(entries.map((e) => [e.name, e.isDirectory()]).sort()).toEqual([
      ['dir', true],
      ['top.md', true],
    ]);

    // Settled again: kept again, and a change through the mount is seen as well.
    await settled(backingDir);
    const again = await m.listingReads();
    for (let i = 0; i < 3; i++) expect(await sorted(dir)).toEqual(expected);
    expect((await m.listingReads()) - again).toBe(1);
    fs.writeFileSync(path.join(dir, 'through-the-mount.md'), 'x');
    expected = [...expected, 'through-the-mount.md'].sort();
    expect(await sorted(dir)).toEqual(expected);
    expect(fs.readdirSync(backingDir).sort()).toEqual(expected);
  }, 60_000);

  it('does not keep the listing of a directory that changed in the last second', async () => {
    const m = await serveMount({ kernelCache: true, setup: fill });
    servers.push(m);
    const dir = path.join(m.mnt, 'dir');
    const expected = names(60);
    // Changed just now, several times between listings: every open lists it anew.
    const before = await m.listingReads();
    for (let i = 0; i < 5; i++) {
      fs.writeFileSync(path.join(m.backing, 'dir', `late-${i}.md`), 'x');
      expected.push(`late-${i}.md`);
      expected.sort();
      expect(await sorted(dir)).toEqual(expected);
    }
    expect((await m.listingReads()) - before).toBe(5);
  }, 60_000);
});

describe.each([
  ['without the kernel caches', { kernelCache: false, env: {} }],
  ['with JJFS_LISTING_CACHE=off', { kernelCache: true, env: { JJFS_LISTING_CACHE: 'off' } }],
  ["with libfuse's loop", { kernelCache: true, env: { JJFS_FUSE_LOOP: 'libfuse' } }],
])('directory listings %s', (_name, opts: { kernelCache: boolean; env: Record<string, string> }) => {
  const servers: ServedMount[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });

  it('are read at every open, and show a change behind the mount', async () => {
    const m = await serveMount({ ...opts, setup: fill });
    servers.push(m);
    const dir = path.join(m.mnt, 'dir');
    await settled(path.join(m.backing, 'dir'));
    const before = await m.listingReads();
    for (let i = 0; i < 3; i++) expect(await sorted(dir)).toEqual(names(60));
    expect((await m.listingReads()) - before).toBe(3);
    fs.writeFileSync(path.join(m.backing, 'dir', 'new.md'), 'new');
    expect(await sorted(dir)).toEqual([...names(60), 'new.md'].sort());
  }, 60_000);
});
