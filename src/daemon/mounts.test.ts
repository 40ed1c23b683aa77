import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolvePaths, type Paths } from '../config/paths.js';
import { newRepoConfig } from '../config/schema.js';
import { ConfigStore } from '../config/store.js';
import { JjfsError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { UnsyncedReport } from '../rpc/protocol.js';
import type { MountRepos, MountSync, ServedMount } from './mount-deps.js';
import { MountService } from './mounts.js';

/** The mount service over fakes: no jj, no FUSE. Calls are recorded in order. */
async function setUp(root: string, opts: { attachFails?: boolean; unsynced?: string[] } = {}) {
  const paths: Paths = resolvePaths({ JJFS_HOME: path.join(root, 'home') });
  await mkdir(paths.home, { recursive: true });
  const config = new ConfigStore(paths.configFile);
  await config.load();
  await config.update((d) => {
    d.repos['notes'] = newRepoConfig();
  });
  const calls: string[] = [];
  const sync: MountSync = {
    createWorkspace: async (repo, _id, dir) => {
      calls.push(`createWorkspace ${repo}`);
      await mkdir(dir, { recursive: true });
    },
    forgetWorkspace: (repo) => {
      calls.push(`forgetWorkspace ${repo}`);
      return Promise.resolve();
    },
    attach: (repo) => {
      calls.push(`attach ${repo}`);
      return opts.attachFails ? Promise.reject(new Error('jj exploded')) : Promise.resolve();
    },
    detach: (repo) => {
      calls.push(`detach ${repo}`);
      return Promise.resolve();
    },
    remove: (repo) => {
      calls.push(`remove ${repo}`);
      return Promise.resolve();
    },
    markDirty: () => undefined,
    filesAt: () => Promise.resolve([]),
    unsynced: (): Promise<UnsyncedReport> =>
      Promise.resolve({ paths: (opts.unsynced ?? []).map((p) => ({ path: p, reason: 'ignored' as const, detail: '.gitignore' })), ignored: [], droppings: 0 }),
    status: () => undefined,
    registerGate: () => void calls.push('registerGate'),
    unregisterGate: () => void calls.push('unregisterGate'),
  };
  const repos: MountRepos = {
    validateName: () => undefined,
    require: (name) => {
      if (config.snapshot().repos[name] === undefined) throw new JjfsError('not-found', `No repo named "${name}".`);
    },
    init: async (name) => {
      await config.update((d) => {
        d.repos[name] = newRepoConfig();
      });
    },
  };
  const serve = (): ServedMount => {
    let mounted = false;
    return {
      get mounted() {
        return mounted;
      },
      mount: () => {
        calls.push('mount');
        mounted = true;
        return Promise.resolve();
      },
      freeze: () => void calls.push('freeze'),
      unmount: () => {
        calls.push('unmount');
        mounted = false;
        return Promise.resolve();
      },
    };
  };
  const service = new MountService({
    paths,
    config,
    repos,
    sync,
    fuse: { ok: true, detail: 'fake' },
    log: silentLogger,
    resolveVersion: () => Promise.reject(new Error('no history here')),
    serve,
  });
  return { service, config, calls, paths };
}

describe('MountService (fakes for jj and FUSE)', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'jjfs-mounts-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('open mounts before attaching, records the mount, and close undoes it in order', async () => {
    const { service, config, calls } = await setUp(root);
    const where = path.join(root, 'a');
    const { mount } = await service.open({ repo: 'notes', path: where });
    expect(mount).toMatchObject({ repo: 'notes', path: where, state: 'mounted' });
    expect(config.snapshot().mounts.map((m) => m.path)).toEqual([where]);
    expect(calls).toEqual(['createWorkspace notes', 'registerGate', 'mount', 'attach notes']);
    calls.length = 0;
    await service.close(where);
    // Freeze before unmount (a shell left inside gets EROFS), then the final commit.
    expect(calls).toEqual(['freeze', 'unmount', 'remove notes', 'unregisterGate']);
    expect(config.snapshot().mounts).toEqual([]);
    expect(existsSync(where)).toBe(false);
  });

  it('a failed open undoes every step: no mount in config, workspace forgotten, created directory gone', async () => {
    const { service, config, calls } = await setUp(root, { attachFails: true });
    const where = path.join(root, 'b');
    await expect(service.open({ repo: 'notes', path: where })).rejects.toThrow(/jj exploded/);
    expect(config.snapshot().mounts).toEqual([]);
    expect(calls).toEqual(['createWorkspace notes', 'registerGate', 'mount', 'attach notes', 'unmount', 'unregisterGate', 'forgetWorkspace notes']);
    expect(existsSync(where)).toBe(false);
    expect((await service.list()).length).toBe(0);
  });

  it('close refuses a mount holding paths history lacks, names them and the fix, and changes nothing', async () => {
    const { service, config, calls } = await setUp(root, { unsynced: ['.git', 'build/'] });
    const where = path.join(root, 'c');
    await service.open({ repo: 'notes', path: where });
    calls.length = 0;
    const error = await service.close(where).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JjfsError);
    expect((error as Error).message).toMatch(/holds 2 path\(s\) that exist only in this mount/);
    expect((error as Error).message).toMatch(/close with --force/);
    expect(calls).toEqual([]);
    expect(config.snapshot().mounts.map((m) => m.path)).toEqual([where]);
  });

  it('refuses a second mount at the same path and a relative path', async () => {
    const { service } = await setUp(root);
    const where = path.join(root, 'd');
    await service.open({ repo: 'notes', path: where });
    await expect(service.open({ repo: 'notes', path: where })).rejects.toThrow(/already a jjfs mount of repo "notes"/);
    await expect(service.close(path.join(root, 'nowhere'))).rejects.toThrow(/is not a jjfs mount/);
  });
});
