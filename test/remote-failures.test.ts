import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RoundInfo, StatusResult } from '../src/rpc/protocol.js';
import { JjfsEnv, readOrUndefined, waitFor } from './helpers/jjfs-env.js';
import { bareRemote, git, gitWrapper, pidsWithArg, remoteFile, remoteLog } from './helpers/remote.js';

let envs: JjfsEnv[] = [];
afterEach(async () => {
  await Promise.all(envs.map((e) => e.cleanup()));
  envs = [];
});

/** A machine whose daemon runs with `daemonEnv(root)` (computed in its temp root before it starts). */
async function machine(daemonEnv: (root: string) => Promise<NodeJS.ProcessEnv> = async () => ({})): Promise<JjfsEnv> {
  const env = await JjfsEnv.create('jjfs-rf-');
  envs.push(env);
  // The first command starts the daemon, with this environment.
  const r = await env.run(['start'], { env: env.env(await daemonEnv(env.root)) });
  if (r.code !== 0) throw new Error(`jjfs start: ${r.stderr}`);
  return env;
}

async function ok(env: JjfsEnv, args: string[]): Promise<string> {
  const r = await env.run(args);
  if (r.code !== 0) throw new Error(`jjfs ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function remoteStatus(env: JjfsEnv) {
  const status = await env.json<StatusResult>(['status']);
  return status.repos.find((r) => r.name === 'notes')!.remote!;
}

const seen = (file: string, content: string, timeoutMs = 15_000) =>
  waitFor(async () => (await readOrUndefined(file)) === content, timeoutMs, 100);

describe('remote failures never block local sync', () => {
  it('remote moved away: mounts keep syncing, status says delayed, everything is pushed once it is back', async () => {
    const a = await machine();
    const remote = await bareRemote(path.join(a.root, 'remote.git'));
    await ok(a, ['init', 'notes']);
    await ok(a, ['remote', 'add', remote, '--repo', 'notes']);
    const m1 = await a.open('notes', 'm1');
    const m2 = await a.open('notes', 'm2');
    await writeFile(path.join(m1, 'before.md'), 'before\n');
    expect((await a.json<{ rounds: RoundInfo[] }>(['sync', '--remote', 'notes'])).rounds[0]!.converged).toBe(true);

    await rename(remote, `${remote}.away`);
    const lines: string[] = [];
    for (let i = 0; i < 5; i++) {
      lines.push(`line ${i}`);
      await writeFile(path.join(m1, 'away.md'), `${lines.join('\n')}\n`);
      expect(await seen(path.join(m2, 'away.md'), `${lines.join('\n')}\n`)).toBe(true);
    }
    await writeFile(path.join(m2, 'other.md'), 'from m2\n');
    expect(await seen(path.join(m1, 'other.md'), 'from m2\n')).toBe(true);

    const failed = await a.run(['sync', '--remote', 'notes']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/NOT converged: remote: .*does not appear to be a git repository/);
    const delayed = await remoteStatus(a);
    expect(delayed.delayed).toBe(true);
    expect(delayed.lastError).toMatch(/does not appear to be a git repository/);
    expect(delayed.nextRetry).toBeDefined();
    expect((await a.run(['status'])).stdout).toContain('remote sync delayed');
    // Local sync is unaffected: both mounts are healthy and a local round converges.
    expect((await a.json<{ rounds: RoundInfo[] }>(['sync', 'notes'])).rounds[0]!.converged).toBe(true);

    await rename(`${remote}.away`, remote);
    // The backoff retry (at most a few seconds here) pushes everything.
    expect(await waitFor(async () => (await remoteFile(remote, 'other.md')) === 'from m2\n', 60_000, 200)).toBe(true);
    expect(await remoteFile(remote, 'away.md')).toBe(`${lines.join('\n')}\n`);
    expect(await remoteFile(remote, 'before.md')).toBe('before\n');
    expect(await waitFor(async () => !(await remoteStatus(a)).delayed, 10_000)).toBe(true);
    expect(await a.daemonLog()).toContain('remote sync delayed');
  }, 120_000);

  it('a push refused because the remote moved meanwhile is fetched, merged and retried', async () => {
    let wrapper!: Awaited<ReturnType<typeof gitWrapper>>;
    const a = await machine(async (root) => {
      wrapper = await gitWrapper(path.join(root, 'bin'));
      return { PATH: wrapper.pathEnv };
    });
    const remote = await bareRemote(path.join(a.root, 'remote.git'));
    await ok(a, ['init', 'notes']);
    await ok(a, ['remote', 'add', remote, '--repo', 'notes']);
    const m = await a.open('notes', 'm');
    await writeFile(path.join(m, 'mine.md'), 'mine\n');
    await ok(a, ['sync', '--remote', 'notes']);

    // Someone else's clone, with a commit that lands on the remote between our fetch and our push.
    const other = path.join(a.root, 'other');
    await git(['clone', '-q', remote, other]);
    await writeFile(path.join(other, 'theirs.md'), 'theirs\n');
    await git(['add', '.'], other);
    await git(['commit', '-qm', 'their commit'], other);
    await writeFile(path.join(wrapper.dir, 'race'), `cd ${JSON.stringify(other)} && git push -q origin main\n`);

    await writeFile(path.join(m, 'mine2.md'), 'mine too\n');
    const round = (await a.json<{ rounds: RoundInfo[] }>(['sync', '--remote', 'notes'])).rounds[0]!;
    expect(round.converged).toBe(true);
    expect(round.remote).toMatchObject({ integrated: 'merge', pushed: true });
    expect(await readOrUndefined(path.join(wrapper.dir, 'race.run'))).toBeDefined(); // the race did happen
    expect(await a.daemonLog()).toContain('push refused (the remote moved)');
    expect(await remoteFile(remote, 'theirs.md')).toBe('theirs\n');
    expect(await remoteFile(remote, 'mine2.md')).toBe('mine too\n');
    expect(await remoteLog(remote)).toContain('their commit');
    expect(await seen(path.join(m, 'theirs.md'), 'theirs\n')).toBe(true);
  }, 90_000);

  it('a hung remote is killed after the timeout and retried; local sync goes on meanwhile', async () => {
    let wrapper!: Awaited<ReturnType<typeof gitWrapper>>;
    const a = await machine(async (root) => {
      wrapper = await gitWrapper(path.join(root, 'bin'));
      return { PATH: wrapper.pathEnv, JJFS_GIT_TIMEOUT_MS: '10000' };
    });
    const remote = await bareRemote(path.join(a.root, 'remote.git'));
    await ok(a, ['init', 'notes']);
    await ok(a, ['remote', 'add', remote, '--repo', 'notes']);
    const m1 = await a.open('notes', 'm1');
    const m2 = await a.open('notes', 'm2');

    await writeFile(path.join(wrapper.dir, 'hang'), '');
    let pending = true;
    const hung = a.run(['sync', '--remote', 'notes']).finally(() => {
      pending = false;
    });
    // While the remote round hangs, a write in one mount reaches the other.
    await writeFile(path.join(m1, 'during.md'), 'during the hang\n');
    expect(await seen(path.join(m2, 'during.md'), 'during the hang\n')).toBe(true);
    expect(pending).toBe(true);
    const failed = await hung;
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('timed out');
    expect((await remoteStatus(a)).lastError).toContain('timed out');
    // The hung process (and its process group) was killed.
    expect(await waitFor(async () => (await pidsWithArg(wrapper.sleepTag)).length === 0, 10_000)).toBe(true);

    await rm(path.join(wrapper.dir, 'hang'));
    expect(await waitFor(async () => (await remoteFile(remote, 'during.md')) === 'during the hang\n', 60_000, 200)).toBe(true);
  }, 120_000);
});
