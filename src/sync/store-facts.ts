import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitRunner } from './git.js';
import type { RepoPaths } from './repo-jj.js';

/** What one repo's history costs on disk, measured without jj. */
export interface StoreFacts {
  /** Disk use of the whole private repo (git objects and jj's own stores), in bytes. */
  bytes: number;
  /** Loose git objects (one file each) and their disk use. */
  looseObjects: number;
  looseBytes: number;
  /** Pack files and their size. */
  packs: number;
  packBytes: number;
  /** Disk use of everything but git's objects: jj's operation log, index and metadata, git's refs. */
  jjBytes: number;
  /** Operations in jj's operation log (one file each in the op store). */
  operations: number;
  /** Commits reachable from `main`, when main was given. */
  commits?: number;
}

/** Operation files in the repo's op store: one per operation (a readdir, no jj). */
export async function countOperations(repoDir: string): Promise<number> {
  return (await readdir(join(repoDir, '.jj', 'repo', 'op_store', 'operations')).catch(() => [])).length;
}

/**
 * Measures a repo's store: `git count-objects` for the objects, a walk of everything else (jj's own
 * directories, git's refs; their files are small, so disk use counts the blocks each file holds). Reads only: safe
 * while jj and git work in the repo.
 */
export async function measureStore(git: GitRunner, paths: RepoPaths, main?: string): Promise<StoreFacts> {
  const objects = await countObjects(git, paths);
  const jjBytes = await diskUse(join(paths.repoDir, '.jj'), new Set([join(paths.gitDir, 'objects')]));
  const commits =
    main === undefined ? undefined : Number((await git.run(['rev-list', '--count', main], { gitDir: paths.gitDir, summary: 'git rev-list' })).stdout.trim());
  return {
    ...objects,
    bytes: objects.looseBytes + objects.packBytes + jjBytes,
    jjBytes,
    operations: await countOperations(paths.repoDir),
    ...(commits === undefined || !Number.isFinite(commits) ? {} : { commits }),
  };
}

/** Loose objects and packs only: one `git count-objects`, no walk (the compactor's frequent check). */
export async function countObjects(git: GitRunner, paths: RepoPaths): Promise<Pick<StoreFacts, 'looseObjects' | 'looseBytes' | 'packs' | 'packBytes'>> {
  const counted = await git.run(['count-objects', '-v'], { gitDir: paths.gitDir, summary: 'git count-objects' });
  const field = (name: string): number => Number(/^(\S+): (\d+)$/m.exec(counted.stdout.split('\n').find((l) => l.startsWith(`${name}:`)) ?? '')?.[2] ?? 0);
  const looseObjects = field('count');
  const looseBytes = field('size') * 1024;
  const packs = field('packs');
  const packBytes = field('size-pack') * 1024;
  return { looseObjects, looseBytes, packs, packBytes };
}

/** Disk use (allocated blocks) of everything under `dir`, skipping the directories in `skip`. */
async function diskUse(dir: string, skip: ReadonlySet<string>): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    await Promise.all(
      entries.map(async (e) => {
        const p = join(d, e.name);
        if (skip.has(p)) return;
        if (e.isDirectory()) return walk(p);
        // A file jj deletes meanwhile (index segments, lock files) simply does not count.
        const st = await lstat(p).catch(() => undefined);
        if (st) total += st.blocks * 512;
      }),
    );
  };
  await walk(dir);
  return total;
}
