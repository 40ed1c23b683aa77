/** Unit tests of the pass-through operations, called directly (no FUSE) on a temp dir. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { loadFuse } from './fuse-loader.js';
import { Errno, toErrno } from './ops-errno.js';
import { createPassthroughOps } from './passthrough.js';
import { MountGate } from './write-gate.js';

type Ops = ReturnType<typeof createPassthroughOps>;
/** Calls an operation and resolves with its callback's arguments (errno or count first). */
const call = <T extends unknown[]>(fn: (...a: [...T, (...r: unknown[]) => void]) => void, ...args: T): Promise<number[]> =>
  new Promise((resolve) => fn(...args, (...r: unknown[]) => resolve(r.filter((x) => typeof x === 'number'))));

describe('createPassthroughOps', () => {
  let root: string;
  let gate: MountGate;
  let ops: Ops;
  let mutations: string[];
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'jjfs-fuse-unit-'));
    fs.mkdirSync(path.join(root, '.jj'));
    gate = new MountGate({ log: silentLogger });
    mutations = [];
    ops = createPassthroughOps({ root, gate, log: silentLogger, onMutation: (p) => mutations.push(p) });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('maps Node errors to negative errnos, unknown ones to EIO', () => {
    expect(toErrno(Object.assign(new Error('x'), { code: 'ENOENT' }), silentLogger, 'op', '/p')).toBe(-2);
    expect(toErrno(Object.assign(new Error('x'), { code: 'ENOTEMPTY' }), silentLogger, 'op', '/p')).toBe(-39);
    expect(toErrno(new Error('weird'), silentLogger, 'op', '/p')).toBe(Errno.EIO);
  });

  it('creates, writes at offsets beyond 4 GiB, reads, and reports mutations', async () => {
    const [err, fh] = await call(ops.create, '/a.bin', 0o100644);
    expect(err).toBe(0);
    expect(fh).toBeGreaterThan(0);
    const buf = Buffer.from('hello');
    const pos = 4 * 1024 ** 3 + 3;
    expect(await call(ops.write, '/a.bin', fh!, buf, 5, pos)).toEqual([5]);
    const out = Buffer.alloc(5);
    expect(await call(ops.read, '/a.bin', fh!, out, 5, pos)).toEqual([5]);
    expect(out.toString()).toBe('hello');
    expect(await call(ops.release, '/a.bin', fh!)).toEqual([0]);
    expect(fs.statSync(path.join(root, 'a.bin')).size).toBe(pos + 5);
    expect(mutations).toEqual(['a.bin', 'a.bin']);
    expect(ops.handles.size).toBe(0);
  });

  it('hides .jj at the root only', async () => {
    expect((await call(ops.getattr, '/.jj'))[0]).toBe(Errno.ENOENT);
    expect((await call(ops.getattr, '/.jj/x'))[0]).toBe(Errno.ENOENT);
    expect(await call(ops.mkdir, '/.jj', 0o755)).toEqual([Errno.EPERM]);
    expect((await call(ops.create, '/.jj', 0o644))[0]).toBe(Errno.EPERM);
    const names = await new Promise<string[]>((r) => ops.readdir('/', (_e, n) => r(n ?? [])));
    expect(names).not.toContain('.jj');
    expect(await call(ops.mkdir, '/sub', 0o755)).toEqual([0]);
    expect(await call(ops.mkdir, '/sub/.jj', 0o755)).toEqual([0]);
  });

  it('answers EROFS to every mutation when read-only', async () => {
    const ro = createPassthroughOps({ root, gate, log: silentLogger, readOnly: true });
    fs.writeFileSync(path.join(root, 'f'), 'x');
    expect((await call(ro.open, '/f', fs.constants.O_RDWR))[0]).toBe(Errno.EROFS);
    expect((await call(ro.open, '/f', fs.constants.O_RDONLY))[0]).toBe(0);
    expect((await call(ro.create, '/g', 0o644))[0]).toBe(Errno.EROFS);
    expect(await call(ro.unlink, '/f')).toEqual([Errno.EROFS]);
    expect(await call(ro.truncate, '/f', 0)).toEqual([Errno.EROFS]);
    expect(await call(ro.rename, '/f', '/h')).toEqual([Errno.EROFS]);
  });

  it('reopens a handle whose file was replaced during a gate hold, keeping O_APPEND', async () => {
    const file = path.join(root, 'w.txt');
    fs.writeFileSync(file, 'old\n');
    const [, fh] = await call(ops.open, '/w.txt', fs.constants.O_WRONLY | fs.constants.O_APPEND);
    const release = await gate.hold();
    fs.unlinkSync(file);
    fs.writeFileSync(file, 'new\n');
    release();
    const data = Buffer.from('tail\n');
    expect(await call(ops.write, '/w.txt', fh!, data, data.length, 0)).toEqual([5]);
    expect(fs.readFileSync(file, 'utf8')).toBe('new\ntail\n');
    await call(ops.release, '/w.txt', fh!);
  });

  it('lets the kernel keep a file\'s pages only while the backing file is unchanged since the last open', async () => {
    const sys = loadFuse().syscalls;
    expect(sys, 'the patched fuse-native build (npm ci builds it)').toBeDefined();
    const withSys = createPassthroughOps({ root, gate, log: silentLogger, sys: sys! });
    const file = path.join(root, 'p.txt');
    const openKeep = (flags = fs.constants.O_RDONLY): Promise<boolean> =>
      new Promise((resolve, reject) =>
        withSys.open('/p.txt', flags, (err, fh, keep) => {
          if (err !== 0 || !fh) return reject(new Error(`open answered ${err}`));
          withSys.release('/p.txt', fh, () => resolve(keep === true));
        }),
      );
    fs.writeFileSync(file, 'aaaa');
    expect(await openKeep()).toBe(false); // never seen: the kernel drops whatever it had
    expect(await openKeep()).toBe(true);
    fs.writeFileSync(file, 'bbbb'); // in place, same size, same inode
    expect(await openKeep()).toBe(false);
    expect(await openKeep()).toBe(true);
    fs.unlinkSync(file);
    fs.writeFileSync(file, 'bbbb'); // replaced, as jj does
    expect(await openKeep()).toBe(false);
    expect(await openKeep(fs.constants.O_WRONLY)).toBe(true);
    const [, fh] = await call(withSys.open, '/p.txt', fs.constants.O_WRONLY);
    const data = Buffer.from('cc');
    expect(await call(withSys.write, '/p.txt', fh!, data, 2, 0)).toEqual([2]);
    await call(withSys.release, '/p.txt', fh!);
    expect(await openKeep()).toBe(false); // written since
    // Without the patched build's keep_cache there is nothing to keep.
    expect(await new Promise((r) => ops.open('/p.txt', fs.constants.O_RDONLY, (_e, h, keep) => ops.release('/p.txt', h!, () => r(keep))))).toBe(false);
  });

  it('lists a directory with each entry\'s inode number and type, as lstat has them', async () => {
    const sys = loadFuse().syscalls;
    expect(sys, 'the patched fuse-native build (npm ci builds it)').toBeDefined();
    const withSys = createPassthroughOps({ root, gate, log: silentLogger, sys: sys! });
    fs.mkdirSync(path.join(root, 'dir'));
    fs.writeFileSync(path.join(root, 'file'), 'x');
    fs.symlinkSync('file', path.join(root, 'link'));
    const listed = await new Promise<[string[], { mode: number; ino?: number }[]]>((resolve, reject) =>
      withSys.readdir('/', (err, names, stats) => (err === 0 ? resolve([names!, stats!]) : reject(new Error(`readdir answered ${err}`)))),
    );
    const [names, stats] = listed;
    expect([...names].sort()).toEqual(['.', '..', 'dir', 'file', 'link']);
    names.forEach((name, i) => {
      // `..` of the mount root is the root itself as far as the mount can tell.
      const st = fs.lstatSync(name === '..' ? root : path.join(root, name));
      expect(stats[i]!.ino, name).toBe(st.ino % 2 ** 32 || 1);
      expect(stats[i]!.mode & 0o170000, name).toBe(st.mode & 0o170000);
    });
    expect(await new Promise((r) => withSys.readdir('/nope', (err) => r(err)))).toBe(Errno.ENOENT);
  });

  it('mutations wait for a held gate', async () => {
    const release = await gate.hold();
    let done = false;
    const p = call(ops.mkdir, '/late', 0o755).then((r) => ((done = true), r));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    expect(fs.existsSync(path.join(root, 'late'))).toBe(false);
    release();
    expect(await p).toEqual([0]);
  });
});
