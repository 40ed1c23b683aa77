import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExecaGitRunner } from './git.js';
import { fetchBranch } from './remote-transport.js';
import { countObjects } from './store-facts.js';
import { repoPaths } from './repo-jj.js';

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

describe('fetchBranch (real git, bare remote on disk)', () => {
  it('writes what it fetches as a pack, never as loose objects, however little', async () => {
    // The compactor prunes unreachable objects at once (store-compactor.ts, #fullPack): that is
    // safe beside a fetch only because git keeps a fetched PACK (.keep) until its ref is written,
    // which it does not do for loose objects (fewer than fetch.unpackLimit, 100 by default).
    root = await mkdtemp(join(tmpdir(), 'jjfs-fetch-'));
    const remote = join(root, 'remote.git');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', remote]);
    const stream = 'commit refs/heads/main\ncommitter t <t@t> 1700000000 +0000\ndata 2\nv1\nM 100644 inline a.md\ndata 6\nhello\n\n';
    execFileSync('git', ['--git-dir', remote, 'fast-import', '--quiet'], { input: stream });
    const tip = execFileSync('git', ['--git-dir', remote, 'rev-parse', 'main']).toString().trim();
    const paths = repoPaths(join(root, 'notes'));
    execFileSync('git', ['init', '-q', '--bare', paths.gitDir]);
    const git = new ExecaGitRunner({ timeoutMs: 30_000 });

    expect(await fetchBranch(git, paths.gitDir, { url: remote, branch: 'main' })).toBe(tip);
    const objects = await countObjects(git, paths);
    expect(objects.looseObjects).toBe(0); // three objects: a commit, a tree, a blob
    expect(objects.packs).toBe(1);
    execFileSync('git', ['--git-dir', paths.gitDir, 'cat-file', '-e', `${tip}^{tree}`]);
  });
});
