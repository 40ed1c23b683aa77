import { execFileSync } from 'node:child_process';
import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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

/** Whether the store of `paths` holds object `id` (loose or packed). */
function objectExists(paths: ReturnType<typeof repoPaths>, id: string): boolean {
  try {
    execFileSync('git', ['--git-dir', paths.gitDir, 'cat-file', '-e', id], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs git on the store of `paths`; its output, trimmed. */
function gitIn(paths: ReturnType<typeof repoPaths>, args: string[], input = ''): string {
  return execFileSync('git', ['--git-dir', paths.gitDir, ...args], { input }).toString().trim();
}

/** `git fast-import` of `versions` commits, each appending a random line to every one of `files` logs. */
function growingLogs(files: number, versions: number): string {
  const logs = Array.from({ length: files }, () => '');
  let stream = '';
  for (let v = 0; v < versions; v++) {
    stream += `commit refs/heads/main\ncommitter t <t@t> ${1_700_000_000 + v} +0000\ndata 3\nv${String(v).padStart(2, '0')}\n`;
    for (let f = 0; f < files; f++) {
      logs[f] += `log ${f} version ${v} ${randomBytes(30).toString('hex')}\n`;
      stream += `M 100644 inline log-${f}.md\ndata ${Buffer.byteLength(logs[f]!)}\n${logs[f]!}`;
    }
    stream += '\n';
  }
  return stream;
}

/** A store holding `files` growing logs as jj leaves them: every version a loose object, the tip kept by a ref. */
async function storeWithGrowingLogs(files: number, versions: number): Promise<ReturnType<typeof repoPaths>> {
  root = await mkdtemp(join(tmpdir(), 'jjfs-compactor-'));
  const paths = repoPaths(join(root, 'notes'));
  const source = join(root, 'source.git');
  execFileSync('git', ['init', '-q', '--bare', source]);
  execFileSync('git', ['--git-dir', source, 'fast-import', '--quiet'], { input: growingLogs(files, versions) });
  const tip = execFileSync('git', ['--git-dir', source, 'rev-parse', 'main']).toString().trim();
  execFileSync('git', ['init', '-q', '--bare', paths.gitDir]);
  const pack = execFileSync('git', ['--git-dir', source, 'pack-objects', '--all', '--stdout'], { input: '' });
  execFileSync('git', ['--git-dir', paths.gitDir, 'unpack-objects', '-q'], { input: pack });
  execFileSync('git', ['--git-dir', paths.gitDir, 'update-ref', `refs/jj/keep/${tip}`, tip]);
  return paths;
}

describe('StoreCompactor packing (real git)', () => {
  it("stores each file's versions as deltas of each other", async () => {
    // 8 logs × 40 versions: 400 loose objects (1.6 MiB on disk). Packed with the walk from the
    // refs, 43 KiB; with `git repack --geometric=2` alone (no walk: no paths, so versions of
    // different logs get paired), 150 KiB — measured.
    const paths = await storeWithGrowingLogs(8, 40);
    const git = new ExecaGitRunner();
    compactor = new StoreCompactor({ repo: 'notes', paths, git, log: silentLogger, between: (task) => task(), threshold: () => 100 });
    const report = await compactor.compactNow();
    expect(report?.error).toBeUndefined();
    expect(report?.looseBefore).toBe(400);
    const after = await countObjects(git, paths);
    expect(after.looseObjects).toBe(0);
    expect(after.packBytes).toBeLessThan(80 * 1024);
    expect(gitIn(paths, ['fsck', '--no-dangling'])).toBe('');
  });

  it('a full compaction drops unreachable objects at once and leaves a pack kept by a fetch alone', async () => {
    const paths = await storeWithGrowingLogs(2, 5);
    const git = new ExecaGitRunner();
    const gitOut = (args: string[], input = ''): string => gitIn(paths, args, input);
    const unreachable = gitOut(['hash-object', '-w', '--stdin'], 'written, then superseded\n');
    // What a fetch in flight leaves: a pack of objects no ref reaches yet, marked kept (.keep).
    const fetched = gitOut(['hash-object', '-w', '--stdin'], 'fetched, its ref not written yet\n');
    const pack = gitOut(['pack-objects', '-q', join(paths.gitDir, 'objects', 'pack', 'pack')], `${fetched}\n`);
    await writeFile(join(paths.gitDir, 'objects', 'pack', `pack-${pack}.keep`), 'fetch-pack 1 on host\n');
    gitOut(['prune-packed']);
    compactor = new StoreCompactor({ repo: 'notes', paths, git, log: silentLogger, between: (task) => task(), threshold: () => 1 });
    const report = await compactor.compactNow(true);
    expect(report?.error).toBeUndefined();
    expect(report?.pruned).toBe(true);
    expect(objectExists(paths, unreachable)).toBe(false); // however young
    expect(objectExists(paths, fetched)).toBe(true);
    expect((await countObjects(git, paths)).looseObjects).toBe(0);
    expect(gitOut(['fsck', '--no-dangling'])).toBe('');
  });

  it('after a trim, deletes the loose objects it made unreachable, never one written since it started', async () => {
    const paths = await storeWithGrowingLogs(2, 5);
    const git = new ExecaGitRunner();
    const gitOut = (args: string[], input = ''): string => gitIn(paths, args, input);
    // History already packed, so the few objects below do not double the packs: no full repack
    // (which would drop every unreachable object packed beside it, however young).
    gitOut(['repack', '-a', '-d', '-q']);
    const looseFile = (id: string): string => join(paths.gitDir, 'objects', id.slice(0, 2), id.slice(2));
    const aMinuteAgo = new Date(Date.now() - 60_000);
    // A superseded snapshot: kept by a ref (as jj keeps every commit) until the trim drops it.
    const dropped = gitOut(['hash-object', '-w', '--stdin'], 'a snapshot the trim drops\n');
    gitOut(['update-ref', `refs/jj/keep/${dropped}`, dropped]);
    utimesSync(looseFile(dropped), aMinuteAgo, aMinuteAgo);
    // Unreachable all along, and old: what a history query's jj may have written (a merged tree).
    const stray = gitOut(['hash-object', '-w', '--stdin'], 'written long before the trim, kept by nothing\n');
    utimesSync(looseFile(stray), aMinuteAgo, aMinuteAgo);
    let duringTrim = '';
    const opLog = {
      max: () => 10,
      keep: () => 5,
      trim: async () => {
        gitOut(['update-ref', '-d', `refs/jj/keep/${dropped}`]);
        // Written once the trim has started (by another process; no ref keeps it yet).
        duringTrim = gitOut(['hash-object', '-w', '--stdin'], 'written while the trim ran\n');
        return { opsBefore: 12, opsAfter: 5 };
      },
    };
    // 12 operations, past max: the trim is due.
    const operations = join(paths.repoDir, '.jj', 'repo', 'op_store', 'operations');
    await mkdir(operations, { recursive: true });
    for (let i = 0; i < 12; i++) await writeFile(join(operations, String(i).padStart(128, 'a')), '');
    compactor = new StoreCompactor({ repo: 'notes', paths, git, log: silentLogger, between: (task) => task(), threshold: () => 100_000, opLog });
    const report = await compactor.compactNow();
    expect(report?.error).toBeUndefined();
    expect(report?.opsAfter).toBe(5);
    expect(report?.pruned).toBeUndefined();
    expect([objectExists(paths, dropped), objectExists(paths, stray), objectExists(paths, duringTrim)]).toEqual([false, false, true]);
    expect(gitOut(['fsck', '--no-dangling'])).toBe('');
  });

  it("removes a fetch's keep file left for over an hour (a fetch killed mid-way), never another", async () => {
    const paths = await storeWithGrowingLogs(2, 5);
    const git = new ExecaGitRunner();
    const gitOut = (args: string[], input = ''): string => gitIn(paths, args, input);
    const packDir = join(paths.gitDir, 'objects', 'pack');
    const keepOf = (text: string, keep: string): string => {
      const id = gitOut(['hash-object', '-w', '--stdin'], text);
      const pack = gitOut(['pack-objects', '-q', join(packDir, 'pack')], `${id}\n`);
      writeFileSync(join(packDir, `pack-${pack}.keep`), keep);
      return join(packDir, `pack-${pack}.keep`);
    };
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    const stale = keepOf('fetched by a fetch that died\n', 'fetch-pack 1 on host\n');
    utimesSync(stale, twoHoursAgo, twoHoursAgo);
    const fresh = keepOf('fetched by a fetch still running\n', 'fetch-pack 2 on host\n');
    const mine = keepOf('kept on purpose\n', 'someone keeps this pack\n');
    utimesSync(mine, twoHoursAgo, twoHoursAgo);
    gitOut(['prune-packed']);
    compactor = new StoreCompactor({ repo: 'notes', paths, git, log: silentLogger, between: (task) => task(), threshold: () => 1 });
    expect((await compactor.compactNow(true))?.error).toBeUndefined();
    expect([existsSync(stale), existsSync(fresh), existsSync(mine)]).toEqual([false, true, true]);
  });
});

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
