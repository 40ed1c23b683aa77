/**
 * getattr, readdir, access and statfs answered on the FUSE thread (src/fs/mount.ts, "getattr and
 * readdir without the JS thread"): while the mount's JS thread is blocked, a stat, a listing, an
 * access check or a statfs through the mount still answers — exactly what the JS handlers would (the backing file's attributes; every entry
 * with its inode number and type; `.jj` absent) — and while the write gate is held it does not
 * (lookups and listings wait for jj, as they always did). Files: fuse-thread-files.test.ts.
 */
import fs from 'node:fs';
import { access, readdir, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serveMount, settledBefore, sh, type ServedMount } from './helpers/serve-harness.js';

describe('getattr and readdir off the JS thread', () => {
  let m: ServedMount;
  beforeEach(async () => {
    // No kernel caches (the serve-mount default): every stat below reaches the FUSE server.
    m = await serveMount({ setup: (b) => fs.mkdirSync(path.join(b, '.jj')) });
  });
  afterEach(async () => {
    await m?.stop();
  });
  const M = (p: string): string => path.join(m.mnt, p);
  const B = (p: string): string => path.join(m.backing, p);

  it('answers while the JS thread is blocked, with the attributes the backing file has', async () => {
    fs.mkdirSync(B('dir'));
    fs.writeFileSync(B('dir/file.txt'), 'twelve bytes');
    fs.utimesSync(B('dir/file.txt'), new Date('2021-03-04T05:06:07.123Z'), new Date('2021-03-04T05:06:07.123Z'));
    const { done } = await m.busy(5_000);
    const seen = stat(M('dir/file.txt'), { bigint: true });
    expect(await settledBefore(seen, done)).toBe('resolved');
    const st = await seen;
    const backing = fs.lstatSync(B('dir/file.txt'), { bigint: true });
    expect(st.size).toBe(12n);
    expect(st.mode).toBe(backing.mode);
    expect(st.mtimeNs).toBe(backing.mtimeNs);
    expect(st.ctimeNs).toBe(backing.ctimeNs);
    expect(st.nlink).toBe(backing.nlink);
    expect(st.uid).toBe(backing.uid);
    expect(st.ino).toBe(backing.ino % 2n ** 32n); // as the JS getattr reports it (fuse-native: 32 bits)
    // Absent and hidden names answer there too.
    await expect(stat(M('dir/none.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(M('.jj'))).rejects.toMatchObject({ code: 'ENOENT' });
    await done;
  });

  it('lists a directory while the JS thread is blocked: names, inode numbers and types as the backing has them', async () => {
    fs.mkdirSync(B('sub'));
    fs.writeFileSync(B('file.txt'), 'x');
    fs.symlinkSync('file.txt', B('link'));
    const { done } = await m.busy(5_000);
    const listing = readdir(m.mnt, { withFileTypes: true });
    expect(await settledBefore(listing, done)).toBe('resolved');
    const entries = await listing;
    expect(entries.map((e) => e.name).sort()).toEqual(['file.txt', 'link', 'sub']); // no .jj
    const kind = (e: { isDirectory(): boolean; isSymbolicLink(): boolean; isFile(): boolean }): string =>
      e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'link' : e.isFile() ? 'file' : 'other';
    expect(Object.fromEntries(entries.map((e) => [e.name, kind(e)]))).toEqual({ 'file.txt': 'file', link: 'link', sub: 'dir' });
    await done;
    // Inode numbers as readdir reports them (python's scandir: d_ino), against the backing's.
    const inos = JSON.parse(sh(`python3 -c 'import os,json; print(json.dumps({e.name: e.inode() for e in os.scandir(".")}))'`, m.mnt)) as Record<string, number>;
    for (const name of ['file.txt', 'link', 'sub']) expect(inos[name], name).toBe(fs.lstatSync(B(name)).ino % 2 ** 32);
  });

  it('answers access and statfs while the JS thread is blocked, as the backing says', async () => {
    fs.writeFileSync(B('plain.txt'), 'x');
    fs.chmodSync(B('plain.txt'), 0o644);
    fs.writeFileSync(B('tool.sh'), '#!/bin/sh\n');
    fs.chmodSync(B('tool.sh'), 0o755);
    await stat(M('plain.txt')); // names looked up before JS blocks (the lookups answer anyway)
    await stat(M('tool.sh'));
    const { done } = await m.busy(5_000);
    // access(2) for execution: root passes only where some x bit is set, as on the backing file.
    const execOk = access(M('tool.sh'), fs.constants.X_OK);
    expect(await settledBefore(execOk, done)).toBe('resolved');
    await expect(access(M('plain.txt'), fs.constants.X_OK)).rejects.toMatchObject({ code: 'EACCES' });
    await expect(access(M('plain.txt'), fs.constants.R_OK)).resolves.toBeUndefined();
    const counts = statfs(m.mnt);
    expect(await settledBefore(counts, done)).toBe('resolved');
    const [mine, theirs] = [await counts, fs.statfsSync(m.backing)];
    expect(mine.bsize).toBe(theirs.bsize);
    expect(mine.blocks).toBe(theirs.blocks);
    expect(mine.files).toBe(theirs.files);
    // A check for writing answers there too on a writable mount.
    const writeOk = access(M('plain.txt'), fs.constants.W_OK);
    expect(await settledBefore(writeOk, done)).toBe('resolved');
    await done;
  });

  it('leaves a check for writing on a read-only view to JS, which answers EROFS', async () => {
    // Refused in the pass-through, not by the kernel's ro (as the daemon's read-only views run).
    const ro = await serveMount({ refuseWrites: true, setup: (b) => fs.writeFileSync(path.join(b, 'plain.txt'), 'x') });
    try {
      await stat(path.join(ro.mnt, 'plain.txt'));
      const { done } = await ro.busy(2_000);
      const writeOk = access(path.join(ro.mnt, 'plain.txt'), fs.constants.W_OK);
      const readOk = access(path.join(ro.mnt, 'plain.txt'), fs.constants.R_OK);
      expect(await settledBefore(readOk, done)).toBe('resolved');
      expect(await settledBefore(writeOk, done)).toBe('pending'); // waits for the JS handler
      await done;
      await expect(writeOk).rejects.toMatchObject({ code: 'EROFS' });
    } finally {
      await ro.stop();
    }
  });

  it('is not used while the write gate is held: a lookup and a listing wait for the release', async () => {
    fs.mkdirSync(B('d'));
    await m.hold();
    fs.writeFileSync(B('late.txt'), 'written while jj held the gate');
    const seen = stat(M('late.txt'));
    const listing = readdir(m.mnt); // the root: no lookup before the READDIR
    // The JS thread is free (it answers the server's own commands) and both still wait.
    const { done } = await m.busy(0);
    await done;
    const later = m.busy(200).then((b) => b.done);
    expect(await settledBefore(seen, later)).toBe('pending');
    expect(await settledBefore(listing, later)).toBe('pending');
    await m.release();
    expect((await seen).size).toBe(30);
    expect((await listing).sort()).toEqual(['d', 'late.txt']);
  });
});
