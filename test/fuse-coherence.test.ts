/**
 * Coherence through a real mount: changes made directly in the backing directory (as jj does)
 * must be visible on the next open/stat/readdir, and handles opened before a jj-style rewrite
 * (unlink + recreate inside a gate hold) must write to the new file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf, serveMount, sh, type ServedMount } from './helpers/serve-harness.js';

describe('jjfs mount: coherence with the backing directory', () => {
  let m: ServedMount;
  beforeAll(async () => {
    m = await serveMount();
  });
  afterAll(async () => {
    await m?.stop();
  });
  const M = (p: string): string => path.join(m.mnt, p);
  const B = (p: string): string => path.join(m.backing, p);

  it('grown file is read whole, same-size overwrite is new, mtime/size follow at once', () => {
    fs.writeFileSync(B('f.txt'), 'short');
    expect(fs.readFileSync(M('f.txt'), 'utf8')).toBe('short');
    expect(fs.statSync(M('f.txt')).size).toBe(5);
    fs.writeFileSync(B('f.txt'), 'a much longer content');
    expect(fs.readFileSync(M('f.txt'), 'utf8')).toBe('a much longer content');
    fs.writeFileSync(B('f.txt'), 'A MUCH LONGER CONTENT'); // same size
    expect(fs.readFileSync(M('f.txt'), 'utf8')).toBe('A MUCH LONGER CONTENT');
    fs.utimesSync(B('f.txt'), 1_000_000, 1_000_000);
    expect(fs.statSync(M('f.txt')).mtimeMs).toBe(1_000_000_000);
    // temp + rename over (jj and editors)
    fs.writeFileSync(B('f.tmp'), 'replaced by rename, longer than before!');
    fs.renameSync(B('f.tmp'), B('f.txt'));
    expect(fs.statSync(M('f.txt')).size).toBe(39);
    expect(fs.readFileSync(M('f.txt'), 'utf8')).toBe('replaced by rename, longer than before!');
    // via a shell and cwd-relative names too
    fs.writeFileSync(B('f.txt'), 'shell sees this');
    expect(sh('cat f.txt && stat -c %s f.txt', m.mnt)).toBe('shell sees this15\n');
  });

  it('deleted files disappear, new files appear, type changes are followed', () => {
    fs.writeFileSync(B('gone.txt'), 'x');
    expect(fs.existsSync(M('gone.txt'))).toBe(true);
    fs.unlinkSync(B('gone.txt'));
    expect(codeOf(() => fs.statSync(M('gone.txt')))).toBe('ENOENT');
    expect(fs.readdirSync(M(''))).not.toContain('gone.txt');
    expect(codeOf(() => fs.statSync(M('born.txt')))).toBe('ENOENT');
    fs.writeFileSync(B('born.txt'), 'y');
    expect(fs.readFileSync(M('born.txt'), 'utf8')).toBe('y');
    fs.unlinkSync(B('born.txt'));
    fs.mkdirSync(B('born.txt'));
    expect(fs.statSync(M('born.txt')).isDirectory()).toBe(true);
    expect(fs.readdirSync(M('born.txt'))).toEqual([]);
    fs.rmdirSync(B('born.txt'));
    fs.symlinkSync('f.txt', B('born.txt'));
    expect(fs.readFileSync(M('born.txt'), 'utf8')).toBe('shell sees this');
    fs.unlinkSync(B('born.txt'));
  });

  it('a handle opened before a jj rewrite writes to the new file after the gate release', async () => {
    fs.writeFileSync(B('w.txt'), 'v1\n');
    const appender = fs.openSync(M('w.txt'), 'a');
    const writer = fs.openSync(M('w.txt'), 'r+');
    const reader = fs.openSync(M('w.txt'), 'r');
    fs.writeSync(appender, 'append1\n');
    expect(fs.readFileSync(B('w.txt'), 'utf8')).toBe('v1\nappend1\n');

    // What the sync engine does: hold the gate, let jj unlink + recreate, release.
    await m.hold();
    fs.unlinkSync(B('w.txt'));
    fs.writeFileSync(B('w.txt'), 'jj-version\n');
    await m.release();

    fs.writeSync(appender, 'append2\n');
    expect(fs.readFileSync(B('w.txt'), 'utf8')).toBe('jj-version\nappend2\n');
    fs.writeSync(writer, 'JJ', null, 'utf8');
    // `writer` kept its own file offset (0): positional semantics survive the reopen.
    expect(fs.readFileSync(B('w.txt'), 'utf8')).toBe('JJ-version\nappend2\n');
    // A reader past the rewrite sees the new file through its handle too.
    const buf = Buffer.alloc(64);
    const n = fs.readSync(reader, buf, 0, 64, 0);
    expect(buf.subarray(0, n).toString()).toBe('JJ-version\nappend2\n');
    for (const fd of [appender, writer, reader]) fs.closeSync(fd);
  });

  it('without a rewrite, handles are not reopened (same inode, no generation change)', () => {
    fs.writeFileSync(B('same.txt'), 'abc');
    const fd = fs.openSync(M('same.txt'), 'r+');
    fs.unlinkSync(B('same.txt')); // outside any hold: the handle keeps its file, like Unix
    fs.writeFileSync(B('same.txt'), 'new');
    fs.writeSync(fd, 'X', 0);
    fs.closeSync(fd);
    expect(fs.readFileSync(B('same.txt'), 'utf8')).toBe('new');
  });

  it('mutating operations wait while the gate is held and proceed after release', async () => {
    await m.hold();
    const child = sh(`(echo held-write > ${M('late.txt')}; echo done) > /dev/null 2>&1 & echo $!`).trim();
    await new Promise((r) => setTimeout(r, 500));
    expect(fs.existsSync(B('late.txt'))).toBe(false);
    await m.release();
    const start = Date.now();
    while (!fs.existsSync(B('late.txt')) || fs.readFileSync(B('late.txt'), 'utf8') !== 'held-write\n') {
      if (Date.now() - start > 5_000) throw new Error(`write did not complete after release (pid ${child})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});
