import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { ExecaGitRunner } from './git.js';
import { repoPaths } from './repo-jj.js';
import { StoreCompactor } from './store-compactor.js';
import { countObjects } from './store-facts.js';

let root: string | undefined;
let compactor: StoreCompactor | undefined;
afterEach(async () => {
  await compactor?.close();
  compactor = undefined;
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

/** A git store where jj keeps one (`repos/notes/repo/.jj/repo/store/git`) with `count` loose blobs of `size` random bytes, each kept by a ref. */
async function storeWithLooseBlobs(count: number, size: number): Promise<ReturnType<typeof repoPaths>> {
  root = await mkdtemp(join(tmpdir(), 'jjfs-compactor-'));
  const paths = repoPaths(join(root, 'notes'));
  execFileSync('git', ['init', '-q', '--bare', paths.gitDir]);
  for (let i = 0; i < count; i++) {
    const file = join(root, `blob-${i}`);
    // Random bytes: zlib cannot shrink them, so the loose objects weigh what they hold.
    await writeFile(file, randomBytes(size));
    const id = execFileSync('git', ['--git-dir', paths.gitDir, 'hash-object', '-w', file]).toString().trim();
    // Reachable, as jj keeps every object it wrote (refs/jj/keep/*): a repack packs only those.
    execFileSync('git', ['--git-dir', paths.gitDir, 'update-ref', `refs/jj/keep/${id}`, id]);
  }
  return paths;
}

describe('StoreCompactor thresholds (real git)', () => {
  it('packs a few heavy loose objects once their bytes pass compact_loose_bytes, whatever their count', async () => {
    const paths = await storeWithLooseBlobs(4, 512 * 1024);
    const git = new ExecaGitRunner();
    const make = (bytes: number): StoreCompactor =>
      new StoreCompactor({ repo: 'notes', paths, git, log: silentLogger, between: (task) => task(), threshold: () => 1000, bytesThreshold: () => bytes });

    // 4 objects, 2 MiB: under a 4 MiB byte threshold and far under the count, nothing to do.
    compactor = make(4 * 1024 * 1024);
    expect(await compactor.compactNow()).toBeUndefined();
    expect((await countObjects(git, paths)).looseObjects).toBe(4);
    await compactor.close();

    compactor = make(1024 * 1024);
    const report = await compactor.compactNow();
    expect(report?.error).toBeUndefined();
    expect(report?.looseBefore).toBe(4);
    expect(report?.looseAfter).toBe(0);
    const after = await countObjects(git, paths);
    expect(after.looseObjects).toBe(0);
    expect(after.packs).toBeGreaterThanOrEqual(1);
  });

  it('compact_loose_objects 0 turns packing off, the byte threshold with it', async () => {
    const paths = await storeWithLooseBlobs(3, 512 * 1024);
    const git = new ExecaGitRunner();
    compactor = new StoreCompactor({ repo: 'notes', paths, git, log: silentLogger, between: (task) => task(), threshold: () => 0, bytesThreshold: () => 1 });
    expect(await compactor.compactNow()).toBeUndefined();
    expect((await countObjects(git, paths)).looseObjects).toBe(3);
  });
});
