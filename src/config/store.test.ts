import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigStore } from './store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'jjfs-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ConfigStore', () => {
  it('starts empty, persists updates atomically, and reloads them', async () => {
    const file = path.join(dir, 'config.json');
    const store = new ConfigStore(file);
    expect((await store.load()).config.repos).toEqual({});
    await store.update((c) => {
      c.repos['notes'] = { remote: null, debounce_ms: 1, max_wait_ms: 2, push_interval: 3, push_delay: 5, max_new_file_size: 4, compact_loose_objects: 6, compact_loose_bytes: 9, op_log_max: 7, op_log_keep: 8 };
    });
    const again = new ConfigStore(file);
    expect((await again.load()).config.repos['notes']?.push_interval).toBe(3);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('serialises concurrent updates so none is lost', async () => {
    const store = new ConfigStore(path.join(dir, 'config.json'));
    await store.load();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        store.update(async (c) => {
          await new Promise((r) => setTimeout(r, Math.random() * 5));
          c.repos[`r${i}`] = { remote: null, debounce_ms: 0, max_wait_ms: 0, push_interval: 0, push_delay: 0, max_new_file_size: 0, compact_loose_objects: 0, compact_loose_bytes: 0, op_log_max: 0, op_log_keep: 10 };
        }),
      ),
    );
    const saved = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as { repos: object };
    expect(Object.keys(saved.repos)).toHaveLength(40);
  });

  it('a failed update changes nothing', async () => {
    const store = new ConfigStore(path.join(dir, 'config.json'));
    await store.load();
    await expect(
      store.update((c) => {
        c.mounts.push({ id: 'x', repo: 'r', path: '/p', workspace: '/w', created_at: '' });
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(store.snapshot().mounts).toEqual([]);
  });

  it('quarantines a broken file instead of overwriting it', async () => {
    const file = path.join(dir, 'config.json');
    await writeFile(file, '{"mounts": [{"id": 1}]}');
    const result = await new ConfigStore(file).load();
    expect(result.quarantined?.problem).toContain('"mounts[0].id" must be a non-empty string');
    expect(await readFile(result.quarantined!.file, 'utf8')).toBe('{"mounts": [{"id": 1}]}');
  });
});
