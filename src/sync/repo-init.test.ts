import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compareVersions, locateJj, MIN_JJ_VERSION, JjUnavailableError } from './jj-locate.js';
import { JjError } from './jj-runner.js';
import { initRepo } from './repo-init.js';
import { RepoJj, parseRefusedFiles, repoPaths } from './repo-jj.js';
import { makeTestEnv, type TestEnv } from './fixtures.test-support.js';

let env: TestEnv | undefined;
afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

describe('locateJj', () => {
  it('finds the npm jj when PATH has none', async () => {
    const found = await locateJj({ PATH: '/nonexistent' });
    expect(found.source).toBe('npm');
    expect(compareVersions(found.version, MIN_JJ_VERSION)).toBeGreaterThanOrEqual(0);
  });
  it('rejects a bad JJFS_JJ with install advice', async () => {
    await expect(locateJj({ JJFS_JJ: '/nonexistent/jj', PATH: '' })).rejects.toThrow(JjUnavailableError);
    await expect(locateJj({ JJFS_JJ: '/nonexistent/jj', PATH: '' })).rejects.toThrow(/npm i @smithers-orchestrator/);
  });
});

describe('parseRefusedFiles', () => {
  it('parses jj 0.42 warning', () => {
    const stderr =
      'Warning: Refused to snapshot some files:\n  big.bin: 2.0KiB (2000 bytes); the maximum size allowed is 1.0KiB (1024 bytes)\n  d/x y: 3.0KiB (3000 bytes); the maximum size allowed is 1.0KiB (1024 bytes)\nHint: This is to prevent\n';
    expect(parseRefusedFiles(stderr).map((r) => r.path)).toEqual(['big.bin', 'd/x y']);
    expect(parseRefusedFiles('Working copy now at: x')).toEqual([]);
  });
});

describe('initRepo', () => {
  it('creates a repo with main, no default workspace, config and ignores; is idempotent', async () => {
    env = await makeTestEnv();
    expect(await initRepo(env.jj, env.repoHome)).toEqual({ created: true });
    const paths = repoPaths(env.repoHome);
    const rj = new RepoJj(env.jj, paths);
    const main = (await rj.repo(['log', '--no-graph', '-r', 'main', '-T', 'description'])).stdout;
    expect(main).toBe('jjfs: initial commit\n');
    const ws = (await rj.repo(['workspace', 'list', '-T', 'name ++ "\\n"'])).stdout.trim();
    expect(ws).toBe('');
    expect(await readFile(paths.excludeFile, 'utf8')).toContain('4913');
    expect(await readFile(paths.configFile, 'utf8')).toContain('conflict-marker-style = "git"');
    expect(await initRepo(env.jj, env.repoHome)).toEqual({ created: false });
    const heads = (await rj.repo(['log', '--no-graph', '-r', 'all()', '-T', 'commit_id ++ "\\n"'])).stdout.trim().split('\n');
    expect(heads).toHaveLength(2); // root + initial
  });

  it('completes a half-done init (main missing, default workspace present)', async () => {
    env = await makeTestEnv();
    const paths = repoPaths(env.repoHome);
    await mkdir(paths.repoDir, { recursive: true });
    await writeFile(paths.configFile, '');
    await new RepoJj(env.jj, paths).repoWithWorkingCopy(['git', 'init', '--no-colocate', '.']);
    expect(await initRepo(env.jj, env.repoHome)).toEqual({ created: false });
    const rj = new RepoJj(env.jj, paths);
    expect((await rj.repo(['log', '--no-graph', '-r', 'main', '-T', 'description'])).stdout).toBe('jjfs: initial commit\n');
    expect((await rj.repo(['workspace', 'list', '-T', 'name'])).stdout.trim()).toBe('');
  });

  it('moves aside a broken .jj and re-initialises', async () => {
    env = await makeTestEnv();
    const paths = repoPaths(env.repoHome);
    await mkdir(join(paths.repoDir, '.jj', 'repo'), { recursive: true });
    expect(await initRepo(env.jj, env.repoHome)).toEqual({ created: true });
  });

  it('reports faults as JjError with args, cwd and stderr', async () => {
    env = await makeTestEnv();
    await initRepo(env.jj, env.repoHome);
    const rj = new RepoJj(env.jj, repoPaths(env.repoHome));
    const err = await rj.repo(['log', '-r', 'nosuchrev']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JjError);
    const je = err as JjError;
    expect(je.exitCode).not.toBe(0);
    expect(je.stderr).toMatch(/nosuchrev/);
    expect(je.cwd).toBe(repoPaths(env.repoHome).repoDir);
    await rm(env.root, { recursive: true, force: true });
  });
});
