import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile, readlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rescueMountPoint } from './rescue.js';

let root: string;
let mp: string;
let ws: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'jjfs-rescue-'));
  mp = path.join(root, 'mp');
  ws = path.join(root, 'ws');
  await mkdir(mp);
  await mkdir(path.join(ws, '.jj'), { recursive: true });
  await writeFile(path.join(ws, '.jj', 'repo'), 'pointer');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const when = new Date('2030-01-02T03:04:05.678Z');
const stamp = '2030-01-02T03-04-05-678Z';

describe('rescueMountPoint', () => {
  it('does nothing for an empty mount point', async () => {
    expect(await rescueMountPoint(mp, ws, when)).toEqual({ moved: [], renamed: [], duplicates: [] });
    expect(await readdir(ws)).toEqual(['.jj']);
  });

  it('moves new files, symlinks and directories, merges directories, never overwrites', async () => {
    await writeFile(path.join(ws, 'same.md'), 'same\n');
    await writeFile(path.join(ws, 'differs.md'), 'workspace\n');
    await mkdir(path.join(ws, 'dir'));
    await writeFile(path.join(ws, 'dir', 'old.md'), 'old\n');

    await writeFile(path.join(mp, 'new.md'), 'new\n');
    await writeFile(path.join(mp, 'same.md'), 'same\n');
    await writeFile(path.join(mp, 'differs.md'), 'written while down\n');
    await symlink('new.md', path.join(mp, 'link'));
    await mkdir(path.join(mp, 'dir'));
    await writeFile(path.join(mp, 'dir', 'old.md'), 'changed\n');
    await writeFile(path.join(mp, 'dir', 'added.md'), 'added\n');
    await mkdir(path.join(mp, 'newdir', 'deep'), { recursive: true });
    await writeFile(path.join(mp, 'newdir', 'deep', 'f'), 'f\n');
    await mkdir(path.join(mp, '.jj'));
    await writeFile(path.join(mp, '.jj', 'x'), 'not the real .jj\n');

    const report = await rescueMountPoint(mp, ws, when);
    expect(report.moved.sort()).toEqual(['dir/added.md', 'link', 'new.md', 'newdir'].sort());
    expect(report.duplicates).toEqual(['same.md']);
    expect(report.renamed.sort()).toEqual(
      [
        ['.jj', `.jj.jjfs-rescued-${stamp}`],
        ['differs.md', `differs.md.jjfs-rescued-${stamp}`],
        ['dir/old.md', `old.md.jjfs-rescued-${stamp}`],
      ].sort(),
    );
    expect(await readdir(mp)).toEqual([]);
    expect(await readFile(path.join(ws, 'differs.md'), 'utf8')).toBe('workspace\n');
    expect(await readFile(path.join(ws, `differs.md.jjfs-rescued-${stamp}`), 'utf8')).toBe('written while down\n');
    expect(await readFile(path.join(ws, 'dir', 'old.md'), 'utf8')).toBe('old\n');
    expect(await readFile(path.join(ws, 'dir', `old.md.jjfs-rescued-${stamp}`), 'utf8')).toBe('changed\n');
    expect(await readFile(path.join(ws, 'dir', 'added.md'), 'utf8')).toBe('added\n');
    expect(await readFile(path.join(ws, 'newdir', 'deep', 'f'), 'utf8')).toBe('f\n');
    expect(await readlink(path.join(ws, 'link'))).toBe('new.md');
    expect(await readFile(path.join(ws, '.jj', 'repo'), 'utf8')).toBe('pointer');
    expect(await readFile(path.join(ws, `.jj.jjfs-rescued-${stamp}`, 'x'), 'utf8')).toBe('not the real .jj\n');
  });

  it('picks a free name when a rescued copy already exists', async () => {
    await writeFile(path.join(ws, 'f'), 'ws\n');
    await writeFile(path.join(ws, `f.jjfs-rescued-${stamp}`), 'earlier rescue\n');
    await writeFile(path.join(mp, 'f'), 'now\n');
    const report = await rescueMountPoint(mp, ws, when);
    expect(report.renamed).toEqual([['f', `f.jjfs-rescued-${stamp}-1`]]);
    expect(await readFile(path.join(ws, `f.jjfs-rescued-${stamp}`), 'utf8')).toBe('earlier rescue\n');
    expect(await readFile(path.join(ws, `f.jjfs-rescued-${stamp}-1`), 'utf8')).toBe('now\n');
  });
});
