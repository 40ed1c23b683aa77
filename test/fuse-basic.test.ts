/**
 * Integration tests through a real jjfs mount served by a child process (serve-mount.mjs).
 * They fail — never skip — when FUSE cannot mount.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf, serveMount, sh, waitFor, type ServedMount } from './helpers/serve-harness.js';

describe('jjfs mount: file operations', () => {
  let m: ServedMount;
  beforeAll(async () => {
    m = await serveMount({
      mutations: true,
      setup: (b) => {
        fs.mkdirSync(path.join(b, '.jj', 'repo'), { recursive: true });
        fs.writeFileSync(path.join(b, '.jj', 'repo', 'store'), 'secret');
        fs.writeFileSync(path.join(b, 'existing.txt'), 'hello\n');
      },
    });
  });
  afterAll(async () => {
    await m?.stop();
  });
  const M = (p: string): string => path.join(m.mnt, p);
  const B = (p: string): string => path.join(m.backing, p);

  it('creates, appends, overwrites, renames, deletes; mkdir/rmdir; reports mutations', async () => {
    expect(fs.readFileSync(M('existing.txt'), 'utf8')).toBe('hello\n');
    fs.writeFileSync(M('new.txt'), 'one\n');
    fs.appendFileSync(M('new.txt'), 'two\n');
    expect(fs.readFileSync(B('new.txt'), 'utf8')).toBe('one\ntwo\n');
    fs.writeFileSync(M('new.txt'), 'over');
    expect(fs.readFileSync(M('new.txt'), 'utf8')).toBe('over');
    expect(fs.statSync(M('new.txt')).size).toBe(4);
    fs.renameSync(M('new.txt'), M('renamed.txt'));
    expect(fs.existsSync(B('new.txt'))).toBe(false);
    expect(fs.readFileSync(B('renamed.txt'), 'utf8')).toBe('over');
    fs.writeFileSync(M('target.txt'), 'old target');
    fs.renameSync(M('renamed.txt'), M('target.txt'));
    expect(fs.readFileSync(M('target.txt'), 'utf8')).toBe('over');
    fs.unlinkSync(M('target.txt'));
    expect(codeOf(() => fs.statSync(M('target.txt')))).toBe('ENOENT');
    fs.mkdirSync(M('d/e'), { recursive: true });
    fs.writeFileSync(M('d/e/f'), 'x');
    expect(fs.readdirSync(M('d/e'))).toEqual(['f']);
    expect(codeOf(() => fs.rmdirSync(M('d/e')))).toBe('ENOTEMPTY');
    fs.unlinkSync(M('d/e/f'));
    fs.rmdirSync(M('d/e'));
    fs.rmdirSync(M('d'));
    expect(fs.readdirSync(m.backing).sort()).toEqual(['.jj', 'existing.txt']);
    expect(codeOf(() => fs.openSync(M('existing.txt'), 'wx'))).toBe('EEXIST');
    // O_TRUNC through open
    const fd = fs.openSync(M('existing.txt'), 'r+');
    fs.ftruncateSync(fd, 2);
    fs.closeSync(fd);
    expect(fs.readFileSync(B('existing.txt'), 'utf8')).toBe('he');
    fs.writeFileSync(M('existing.txt'), 'hello\n');
    // The server reports asynchronously on stdout; this process was busy with sync calls.
    await waitFor(() => m.mutations.includes('existing.txt') && m.mutations.includes('d/e/f'));
    expect(m.mutations).toContain('renamed.txt');
    expect(m.mutations).toContain('d/e/f');
    expect(m.mutations).toContain('existing.txt');
    expect(m.mutations.every((p) => !p.startsWith('/'))).toBe(true);
  });

  it('keeps modes, symlinks, hard links, mtimes; chmod; statfs', () => {
    fs.writeFileSync(M('exe.sh'), '#!/bin/sh\necho ok\n', { mode: 0o751 });
    expect(fs.statSync(B('exe.sh')).mode & 0o7777).toBe(0o751);
    fs.chmodSync(M('exe.sh'), 0o700);
    expect(fs.statSync(B('exe.sh')).mode & 0o7777).toBe(0o700);
    expect(sh(`${M('exe.sh')}`)).toBe('ok\n');
    // The caller's umask applies once (in the kernel), not again in the server.
    sh(`umask 002 && mkdir ${M('dm')} && touch ${M('dm/f')}`);
    expect(fs.statSync(B('dm/f')).mode & 0o7777).toBe(0o664);
    expect(fs.statSync(B('dm')).mode & 0o7777).toBe(0o775);
    fs.symlinkSync('exe.sh', M('link'));
    expect(fs.readlinkSync(M('link'))).toBe('exe.sh');
    expect(fs.lstatSync(B('link')).isSymbolicLink()).toBe(true);
    fs.linkSync(M('exe.sh'), M('hard'));
    expect(fs.statSync(M('hard')).nlink).toBe(2);
    expect(fs.statSync(M('hard')).ino).toBe(fs.statSync(B('exe.sh')).ino);
    const ls = sh(`ls -ai ${m.mnt}`);
    expect(ls).toMatch(/exe\.sh/); // use_ino: entries with real inode numbers are listed
    expect(fs.readdirSync(m.mnt)).not.toContain('.jj');
    const st = fs.statfsSync(m.mnt);
    expect(st.blocks).toBeGreaterThan(0);
    for (const p of ['exe.sh', 'link', 'hard', 'dm']) fs.rmSync(M(p), { recursive: true });
  });

  it('touch -m -d sets the real mtime (needs the patched fuse-native), touch sets now', () => {
    fs.writeFileSync(M('t.txt'), 'x');
    sh(`touch -m -d '2001-02-03 04:05:06' ${M('t.txt')}`);
    expect(fs.statSync(B('t.txt')).mtime.toISOString()).toBe('2001-02-03T04:05:06.000Z');
    const atimeBefore = fs.statSync(B('t.txt')).atimeMs;
    sh(`touch -a -d '2002-01-01 00:00:00' ${M('t.txt')}`);
    expect(fs.statSync(B('t.txt')).mtime.toISOString()).toBe('2001-02-03T04:05:06.000Z');
    expect(fs.statSync(B('t.txt')).atimeMs).not.toBe(atimeBefore);
    sh(`touch ${M('t.txt')}`);
    expect(Math.abs(fs.statSync(B('t.txt')).mtimeMs - Date.now())).toBeLessThan(10_000);
    fs.unlinkSync(M('t.txt'));
  });

  it('hides .jj: not listed, not reachable, not creatable', () => {
    expect(fs.readdirSync(m.mnt)).not.toContain('.jj');
    expect(codeOf(() => fs.statSync(M('.jj')))).toBe('ENOENT');
    expect(codeOf(() => fs.readFileSync(M('.jj/repo/store')))).toBe('ENOENT');
    expect(codeOf(() => fs.mkdirSync(M('.jj')))).toBe('EPERM');
    expect(codeOf(() => fs.writeFileSync(M('.jj'), 'x'))).toBe('EPERM');
    expect(codeOf(() => fs.symlinkSync('x', M('.jj')))).toBe('EPERM');
    fs.writeFileSync(M('victim'), 'v');
    expect(codeOf(() => fs.renameSync(M('victim'), M('.jj')))).toBe('EPERM');
    expect(codeOf(() => fs.linkSync(M('victim'), M('.jj')))).toBe('EPERM');
    expect(codeOf(() => fs.unlinkSync(M('.jj')))).toBe('ENOENT');
    fs.unlinkSync(M('victim'));
    // subdirectories may have their own `.jj`: only the root one is hidden
    fs.mkdirSync(M('sub/.jj'), { recursive: true });
    expect(fs.readdirSync(M('sub'))).toEqual(['.jj']);
    fs.rmSync(M('sub'), { recursive: true });
    expect(fs.readFileSync(B('.jj/repo/store'), 'utf8')).toBe('secret');
  });

  it('vim saves through the mount (swap file, 4913 probe, backup + rename)', () => {
    fs.writeFileSync(M('doc.txt'), 'line1\n');
    sh(`vim -u NONE -N -i NONE -es -c 'set writebackup backupcopy=no' -c 'call append("$", "line2")' -c 'wq' doc.txt`, m.mnt);
    expect(fs.readFileSync(M('doc.txt'), 'utf8')).toBe('line1\nline2\n');
    expect(fs.readdirSync(m.backing).filter((n) => /swp|4913|~$|fuse_hidden/.test(n))).toEqual([]);
    sh(`vim -u NONE -N -i NONE -es -c 'set backupcopy=yes' -c 'call append("$", "line3")' -c 'wq' doc.txt`, m.mnt);
    expect(fs.readFileSync(B('doc.txt'), 'utf8')).toBe('line1\nline2\nline3\n');
    fs.unlinkSync(M('doc.txt'));
  });

  it('git init + commit + status inside the mount', () => {
    fs.mkdirSync(M('repo'));
    const git = (args: string): string =>
      sh(`git -c user.name=t -c user.email=t@t -c init.defaultBranch=main ${args}`, M('repo'));
    git('init -q');
    fs.writeFileSync(M('repo/a.txt'), 'a\n');
    fs.mkdirSync(M('repo/src'));
    fs.writeFileSync(M('repo/src/b.ts'), 'export {}\n');
    git('add -A');
    git('commit -q -m first');
    expect(git('log --oneline')).toMatch(/first/);
    expect(git('status --porcelain')).toBe('');
    fs.appendFileSync(M('repo/a.txt'), 'more\n');
    expect(git('status --porcelain')).toBe(' M a.txt\n');
    git('commit -qam second');
    expect(git('fsck --no-progress 2>&1')).not.toMatch(/error|missing/);
    expect(fs.readdirSync(B('repo/.git')).filter((n) => n.startsWith('.fuse_hidden'))).toEqual([]);
    fs.rmSync(M('repo'), { recursive: true });
  });

  it('cp -a and tar round trips preserve content, modes, symlinks and mtimes', () => {
    const src = path.join(m.dir, 'native-src');
    fs.mkdirSync(path.join(src, 'sub/deeper'), { recursive: true });
    fs.writeFileSync(path.join(src, 'a.txt'), 'alpha');
    fs.writeFileSync(path.join(src, 'sub/run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(path.join(src, 'sub/deeper/ro'), 'ro', { mode: 0o444 });
    fs.writeFileSync(path.join(src, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 7));
    fs.symlinkSync('../a.txt', path.join(src, 'sub/link'));
    sh(`touch -h -d '2010-05-06 07:08:09.123' ${src}/a.txt ${src}/sub/link ${src}/sub/deeper/ro`);
    const listing = (root: string): string => sh(`cd ${root} && find . -printf '%p %y %m %s %l %TY-%Tm-%Td %TH:%TM:%.6TS\\n' | sort`);
    const sums = (root: string): string => sh(`cd ${root} && find . -type f -print0 | sort -z | xargs -0 sha1sum`);
    const want = listing(src);
    sh(`cp -a ${src} ${M('copied')}`);
    expect(listing(M('copied'))).toBe(want);
    expect(sums(M('copied'))).toBe(sums(src));
    const back = path.join(m.dir, 'native-back');
    sh(`cp -a ${M('copied')} ${back}`);
    expect(listing(back)).toBe(want);
    sh(`tar --format=posix -C ${src} -cf - . | tar -C ${M('')} -xf - --one-top-level=untarred`);
    expect(listing(M('untarred'))).toBe(want);
    const back2 = path.join(m.dir, 'native-back2');
    fs.mkdirSync(back2);
    sh(`tar --format=posix -C ${M('untarred')} -cf - . | tar -C ${back2} -xpf -`);
    expect(listing(back2)).toBe(want);
    expect(sums(back2)).toBe(sums(src));
    fs.rmSync(M('copied'), { recursive: true });
    fs.rmSync(M('untarred'), { recursive: true });
  });

  it('sparse file: writes at 1 GiB - 1 and beyond 4 GiB read back', () => {
    const fd = fs.openSync(M('sparse'), 'w+');
    const GiB = 1024 ** 3;
    fs.writeSync(fd, Buffer.from('A'), 0, 1, GiB - 1);
    fs.writeSync(fd, Buffer.from('B'), 0, 1, GiB);
    fs.writeSync(fd, Buffer.from('beyond4G'), 0, 8, 4 * GiB + 5);
    fs.closeSync(fd);
    expect(fs.statSync(M('sparse')).size).toBe(4 * GiB + 13);
    const rfd = fs.openSync(M('sparse'), 'r');
    const b = Buffer.alloc(8);
    expect(fs.readSync(rfd, b, 0, 2, GiB - 1)).toBe(2);
    expect(b.subarray(0, 2).toString()).toBe('AB');
    expect(fs.readSync(rfd, b, 0, 8, 4 * GiB + 5)).toBe(8);
    expect(b.toString()).toBe('beyond4G');
    expect(fs.readSync(rfd, b, 0, 4, 12345)).toBe(4);
    expect([...b.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    fs.closeSync(rfd);
    const nat = fs.openSync(B('sparse'), 'r');
    expect(fs.readSync(nat, b, 0, 8, 4 * GiB + 5)).toBe(8);
    fs.closeSync(nat);
    fs.truncateSync(M('sparse'), 6 * GiB);
    expect(fs.statSync(B('sparse')).size).toBe(6 * GiB);
    fs.unlinkSync(M('sparse'));
  });

  it('8 parallel readers get the whole file', async () => {
    const data = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i);
    fs.writeFileSync(B('par.bin'), data);
    const reads = await Promise.all(Array.from({ length: 8 }, () => fs.promises.readFile(M('par.bin'))));
    for (const r of reads) expect(r.equals(data)).toBe(true);
    const out = sh(`for i in 1 2 3 4 5 6 7 8; do sha1sum ${M('par.bin')} & done; wait`);
    expect(new Set(out.trim().split('\n').map((l) => l.split(' ')[0])).size).toBe(1);
    fs.unlinkSync(M('par.bin'));
  });
});

describe('jjfs mount: read-only', () => {
  let m: ServedMount;
  beforeAll(async () => {
    m = await serveMount({ readOnly: true, setup: (b) => fs.writeFileSync(path.join(b, 'f.txt'), 'data') });
  });
  afterAll(async () => {
    await m?.stop();
  });

  it('reads, and refuses every mutation with EROFS', () => {
    const M = (p: string): string => path.join(m.mnt, p);
    expect(fs.readFileSync(M('f.txt'), 'utf8')).toBe('data');
    expect(codeOf(() => fs.writeFileSync(M('f.txt'), 'x'))).toBe('EROFS');
    expect(codeOf(() => fs.appendFileSync(M('f.txt'), 'x'))).toBe('EROFS');
    expect(codeOf(() => fs.writeFileSync(M('new'), 'x'))).toBe('EROFS');
    expect(codeOf(() => fs.mkdirSync(M('d')))).toBe('EROFS');
    expect(codeOf(() => fs.unlinkSync(M('f.txt')))).toBe('EROFS');
    expect(codeOf(() => fs.renameSync(M('f.txt'), M('g')))).toBe('EROFS');
    expect(codeOf(() => fs.chmodSync(M('f.txt'), 0o600))).toBe('EROFS');
    expect(codeOf(() => fs.symlinkSync('f.txt', M('l')))).toBe('EROFS');
    expect(codeOf(() => fs.truncateSync(M('f.txt'), 0))).toBe('EROFS');
    expect(codeOf(() => fs.utimesSync(M('f.txt'), 1, 1))).toBe('EROFS');
    expect(fs.readFileSync(path.join(m.backing, 'f.txt'), 'utf8')).toBe('data');
  });
});
