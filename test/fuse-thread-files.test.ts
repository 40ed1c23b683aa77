/**
 * Files answered on the FUSE thread (src/fs/mount.ts, "Open files on the FUSE thread", "Writes on
 * the FUSE thread"): while the mount's JS thread is blocked, opens, reads, fsyncs, creates, writes,
 * truncations, time changes, unlinks and renames through the mount still answer, with the bytes the backing file has; every
 * change still reaches the mount's mutation listener; while the write gate is held opens and writes wait
 * (and a write then goes through the JS handler on the same file); and a file opened there follows
 * jj's replacement of it.
 */
import fs from 'node:fs';
import { access, appendFile, open, readFile, rename, rmdir, stat, truncate, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serveMount, settledBefore, waitFor, type ServedMount } from './helpers/serve-harness.js';

describe('files off the JS thread', () => {
  let m: ServedMount;
  beforeEach(async () => {
    m = await serveMount({ mutations: true, setup: (b) => fs.mkdirSync(path.join(b, '.jj')) });
  });
  afterEach(async () => {
    await m?.stop();
  });
  const M = (p: string): string => path.join(m.mnt, p);
  const B = (p: string): string => path.join(m.backing, p);
  /** How many times the server reported a mutation of `rel`. */
  const mutationsOf = (rel: string): number => m.mutations.filter((p) => p === rel).length;

  it('opens, reads and fsyncs a file while the JS thread is blocked, and closes what it opened', async () => {
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
    fs.writeFileSync(B('big.bin'), bytes);
    fs.writeFileSync(B('small.txt'), 'small file');
    const fdsOf = (): number => fs.readdirSync(`/proc/${m.pid}/fd`).length;
    await readFile(M('small.txt')); // every lookup and libfuse thread set up once
    await waitFor(() => fdsOf() > 0);
    const baseline = fdsOf();
    const { done } = await m.busy(5_000);
    const reading = readFile(M('big.bin'));
    expect(await settledBefore(reading, done)).toBe('resolved');
    expect(Buffer.compare(await reading, bytes)).toBe(0); // every byte, across many READs
    const fh = await open(M('small.txt'), 'r');
    const synced = fh.sync();
    expect(await settledBefore(synced, done)).toBe('resolved');
    await fh.close();
    await expect(open(M('.jj/anything'), 'r')).rejects.toMatchObject({ code: 'ENOENT' });
    await done;
    // RELEASE reaches the server after close(2) returns: wait until its descriptors are closed.
    for (let i = 0; i < 50; i++) await readFile(M('small.txt'));
    await waitFor(() => fdsOf() <= baseline, 10_000);
    expect(fdsOf()).toBeLessThanOrEqual(baseline);
  });

  it('a file opened there follows jj replacing it, and a hold makes an open wait', async () => {
    fs.writeFileSync(B('f.txt'), 'old content');
    const { done } = await m.busy(5_000);
    const opening = open(M('f.txt'), 'r');
    expect(await settledBefore(opening, done)).toBe('resolved');
    const fh = await opening;
    await done;
    try {
      await m.hold();
      const late = open(M('f.txt'), 'r');
      // jj replaces files: a new inode under the same name, the same size.
      fs.writeFileSync(B('f.txt.new'), 'new content');
      fs.renameSync(B('f.txt.new'), B('f.txt'));
      const blocked = await m.busy(0);
      await blocked.done;
      const later = m.busy(200).then((b) => b.done);
      expect(await settledBefore(late, later)).toBe('pending');
      await m.release();
      await (await late).close();
      // Answered on the FUSE thread (the JS thread is blocked), from the file jj wrote.
      const again = await m.busy(5_000);
      const buf = Buffer.alloc(11); // not past the size the kernel knows: no attribute refresh
      const reading = fh.read(buf, 0, 11, 0);
      expect(await settledBefore(reading, again.done)).toBe('resolved');
      expect((await reading).bytesRead).toBe(11);
      expect(buf.toString()).toBe('new content');
      await again.done;
    } finally {
      await fh.close();
    }
  });

  it('creates and writes while the JS thread is blocked; every write reaches the mutation listener', async () => {
    const { done } = await m.busy(5_000);
    const writing = (async () => {
      const fh = await open(M('new.txt'), 'w', 0o640); // no such file: a CREATE, no truncating OPEN
      try {
        await fh.write('first line\nsecond line\n', 0);
        await fh.write('third\n', 11);
      } finally {
        await fh.close();
      }
      return stat(M('new.txt'));
    })();
    expect(await settledBefore(writing, done)).toBe('resolved');
    const st = await writing;
    expect(st.size).toBe(23);
    expect(st.mode & 0o777).toBe(0o640 & ~process.umask());
    await done;
    expect(fs.readFileSync(B('new.txt'), 'utf8')).toBe('first line\nthird\n line\n');
    // A truncation on such a handle (libfuse's ftruncate, then a utimens that goes through JS).
    const fh = await open(M('new.txt'), 'r+');
    await fh.truncate(10);
    await fh.close();
    expect(fs.readFileSync(B('new.txt'), 'utf8')).toBe('first line');
    expect(fs.statSync(B('new.txt')).mode & 0o777).toBe(0o640 & ~process.umask());
    // Reported once the JS thread runs again (at least the create; writes within a second of it
    // on the same handle may share its report).
    await waitFor(() => mutationsOf('new.txt') > 0, 10_000);
    // An existing file opened for writing is written there too, and reported. (Truncating it
    // goes through JS: the kernel sends a SETATTR by path, then a utimens.)
    fs.writeFileSync(B('old.txt'), 'aaaa');
    const before = mutationsOf('old.txt');
    const again = await m.busy(5_000);
    const appending = (async () => {
      const fh = await open(M('old.txt'), 'r+');
      await fh.write('bb', 4);
      await fh.close();
      // A write of one byte answers 1 (once a bug: taken for "hand it to JS", which wrote it again).
      await appendFile(M('old.txt'), 'c');
    })();
    expect(await settledBefore(appending, again.done)).toBe('resolved');
    await again.done;
    expect(fs.readFileSync(B('old.txt'), 'utf8')).toBe('aaaabbc');
    await waitFor(() => mutationsOf('old.txt') > before, 10_000);
  });

  it('unlinks, removes directories and renames while the JS thread is blocked; each change reported', async () => {
    fs.mkdirSync(B('dir'));
    fs.writeFileSync(B('gone.txt'), 'x');
    fs.writeFileSync(B('from.txt'), 'moved');
    const { done } = await m.busy(5_000);
    const changing = (async () => {
      await unlink(M('gone.txt'));
      await rmdir(M('dir'));
      await rename(M('from.txt'), M('to.txt'));
    })();
    expect(await settledBefore(changing, done)).toBe('resolved');
    await done;
    expect(fs.readdirSync(m.backing).sort()).toEqual(['.jj', 'to.txt']);
    expect(fs.readFileSync(B('to.txt'), 'utf8')).toBe('moved');
    await waitFor(() => ['gone.txt', 'dir', 'from.txt', 'to.txt'].every((p) => mutationsOf(p) > 0), 10_000);
    // .jj stays out of reach there too (the JS handlers answer for it).
    await expect(rename(M('to.txt'), M('.jj'))).rejects.toMatchObject({ code: 'EPERM' });
    // A change that fails is no mutation: a rename onto a directory that is not empty. Its notes
    // are marked failed only while JS has not taken them yet (a note JS took during the rename
    // counts as done, by design: a round with nothing to commit), so the JS thread is kept busy
    // across the rename — as in CI, where JS once took them mid-rename and counted 2.
    fs.mkdirSync(B('d1'));
    fs.mkdirSync(B('d2'));
    fs.writeFileSync(B('d2/x'), 'x');
    fs.writeFileSync(B('last.txt'), 'x');
    const blocked = await m.busy(1_000);
    const failing = rename(M('d1'), M('d2'));
    expect(await settledBefore(failing, blocked.done)).toBe('rejected');
    await blocked.done;
    await expect(failing).rejects.toMatchObject({ code: expect.stringMatching(/ENOTEMPTY|EEXIST/) as unknown });
    await unlink(M('last.txt'));
    await waitFor(() => mutationsOf('last.txt') > 0, 10_000); // reported after the failed rename's notes
    expect(mutationsOf('d1') + mutationsOf('d2')).toBe(0);
  });

  it('rewrites (open with O_TRUNC), truncates and sets times while the JS thread is blocked; each change reported', async () => {
    fs.writeFileSync(B('notes.md'), 'a long first version of the notes');
    fs.writeFileSync(B('cut.txt'), '0123456789');
    fs.writeFileSync(B('stamped.txt'), 'x');
    await stat(M('notes.md')); // looked up before JS blocks
    await stat(M('cut.txt'));
    await stat(M('stamped.txt'));
    const when = new Date('2020-05-06T07:08:09.123Z');
    const { done } = await m.busy(5_000);
    const changing = (async () => {
      await writeFile(M('notes.md'), 'short'); // OPEN, then a SETATTR of size 0 and the times
      await truncate(M('cut.txt'), 4);
      await utimes(M('stamped.txt'), when, when);
      // A check for writing answers there too (on a writable mount).
      await access(M('notes.md'), fs.constants.W_OK);
    })();
    expect(await settledBefore(changing, done)).toBe('resolved');
    await done;
    expect(fs.readFileSync(B('notes.md'), 'utf8')).toBe('short');
    expect(fs.readFileSync(B('cut.txt'), 'utf8')).toBe('0123');
    expect(fs.statSync(B('stamped.txt')).mtime.toISOString()).toBe(when.toISOString());
    await waitFor(() => ['notes.md', 'cut.txt', 'stamped.txt'].every((p) => mutationsOf(p) > 0), 10_000);
    // .jj stays out of reach (the JS handlers answer for it).
    await expect(truncate(M('.jj/x'), 0)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('with the gate held a write on a file opened there waits, then lands in the file jj left', async () => {
    fs.writeFileSync(B('w.txt'), 'old content');
    const fh = await open(M('w.txt'), 'r+');
    try {
      await fh.write('OLD', 0); // answered on the FUSE thread: the handle is the addon's
      await m.hold();
      // jj replaces the file meanwhile (a new inode, same name).
      fs.writeFileSync(B('w.txt.new'), 'new content');
      fs.renameSync(B('w.txt.new'), B('w.txt'));
      const writing = fh.write('NEW', 0);
      const blocked = await m.busy(0);
      await blocked.done;
      const later = m.busy(200).then((b) => b.done);
      expect(await settledBefore(writing, later)).toBe('pending');
      const reported = mutationsOf('w.txt');
      await m.release();
      expect((await writing).bytesWritten).toBe(3);
      // Through the JS write (the gate was closed), on the descriptor the addon rechecked.
      expect(fs.readFileSync(B('w.txt'), 'utf8')).toBe('NEW content');
      await waitFor(() => mutationsOf('w.txt') > reported, 10_000);
    } finally {
      await fh.close();
    }
  });
});
