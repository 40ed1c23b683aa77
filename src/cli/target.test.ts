import { mkdtemp, mkdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MountInfo } from '../rpc/protocol.js';
import { mapPath } from './target.js';

let root: string;
let mounts: MountInfo[];
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'jjfs-target-'));
  await mkdir(path.join(root, 'a', 'docs'), { recursive: true });
  await symlink(path.join(root, 'a'), path.join(root, 'link'));
  const m = (p: string, repo: string): MountInfo => ({ id: p, repo, path: path.join(root, p), workspace: '/w', state: 'mounted' });
  mounts = [m('a', 'notes'), m('b', 'work')];
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('mapPath', () => {
  it('maps paths inside a mount, relative to the cwd or absolute', () => {
    expect(mapPath(mounts, path.join(root, 'a', 'docs'), 'x.md', undefined)).toEqual({ repo: 'notes', path: 'docs/x.md' });
    expect(mapPath(mounts, path.join(root, 'a', 'docs'), '../top.md', undefined)).toEqual({ repo: 'notes', path: 'top.md' });
    expect(mapPath(mounts, '/', path.join(root, 'b', 'deleted', 'gone.md'), undefined)).toEqual({ repo: 'work', path: 'deleted/gone.md' });
    expect(mapPath(mounts, path.join(root, 'a'), '.', undefined)).toEqual({ repo: 'notes', path: '' });
  });

  it('follows symlinks to a mount', () => {
    expect(mapPath(mounts, root, 'link/docs/x.md', undefined)).toEqual({ repo: 'notes', path: 'docs/x.md' });
  });

  it('takes a path outside mounts as repo-relative only with --repo', () => {
    expect(mapPath(mounts, '/tmp', 'docs/x.md', 'notes')).toEqual({ repo: 'notes', path: 'docs/x.md' });
    expect(() => mapPath(mounts, '/tmp', 'x.md', undefined)).toThrow(/not inside a jjfs mount.*--repo NAME/);
    expect(() => mapPath(mounts, '/tmp', '/etc/passwd', 'notes')).toThrow(/not inside a mount of repo "notes"/);
  });

  it('refuses a --repo that contradicts the mount', () => {
    expect(() => mapPath(mounts, path.join(root, 'a'), 'x.md', 'work')).toThrow(/mount of repo "notes", not "work"/);
  });

  it('refuses jj metadata', () => {
    expect(() => mapPath(mounts, path.join(root, 'a'), '.jj/repo', undefined)).toThrow(/jj's own metadata/);
  });
});
