import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RoundInfo, StatusResult } from '../src/rpc/protocol.js';
import { auditLines, EXACT } from '../src/sync/fixtures.test-support.js';
import { JjfsEnv, readOrUndefined, waitFor } from './helpers/jjfs-env.js';
import { bareRemote, git, preconfigure, remoteFile, remoteLog } from './helpers/remote.js';

// Two JJFS_HOMEs = two machines, each with its own daemon and mounts, converging through a bare
// git repository on disk.
let envs: JjfsEnv[] = [];
afterEach(async () => {
  await Promise.all(envs.map((e) => e.cleanup()));
  envs = [];
});

async function machine(): Promise<JjfsEnv> {
  const env = await JjfsEnv.create('jjfs-rs-');
  envs.push(env);
  return env;
}

async function ok(env: JjfsEnv, args: string[]): Promise<string> {
  const r = await env.run(args);
  if (r.code !== 0) throw new Error(`jjfs ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function syncRemote(env: JjfsEnv, repo = 'notes'): Promise<RoundInfo> {
  const { rounds } = await env.json<{ rounds: RoundInfo[] }>(['sync', '--remote', repo]);
  return rounds[0]!;
}

// Reads through a mount poll: a file a sync created appears there once the mount has announced it
// to watchers (see src/fs/announce.ts), which can lag the end of the round.
const seen = (file: string, content: string | undefined, timeoutMs = 30_000) =>
  waitFor(async () => (await readOrUndefined(file)) === content, timeoutMs, 100);
const seenMatching = async (file: string, test: (text: string) => boolean, timeoutMs = 30_000): Promise<string> => {
  let last: string | undefined;
  await waitFor(async () => {
    last = await readOrUndefined(file);
    return last !== undefined && test(last);
  }, timeoutMs, 100);
  return last ?? '';
};

describe('remote sync between two machines', () => {
  it('pushes local edits and converges both ways on the push_interval timer', async () => {
    const a = await machine();
    const b = await machine();
    const remote = await bareRemote(path.join(a.root, 'remote.git'));
    await preconfigure(a, { notes: { push_interval: 1 } });
    await preconfigure(b, { notes: { push_interval: 1 } });

    await ok(a, ['init', 'notes']);
    await ok(a, ['remote', 'add', remote, '--repo', 'notes']);
    const a1 = await a.open('notes', 'a1');
    await writeFile(path.join(a1, 'from-a.md'), 'written on A\n');
    // Pushed by the timer: the remote's main gets the file.
    expect(await waitFor(async () => (await remoteFile(remote, 'from-a.md')) === 'written on A\n', 30_000, 100)).toBe(true);

    // B: a fresh repo (nothing of its own) adopts the remote's history when the remote is added.
    await ok(b, ['init', 'notes']);
    await ok(b, ['remote', 'add', remote, '--repo', 'notes']);
    const b1 = await b.open('notes', 'b1');
    expect(await seen(path.join(b1, 'from-a.md'), 'written on A\n')).toBe(true);

    // B → A, and A → B again, with nothing but the timers.
    await mkdir(path.join(b1, 'dir'));
    await writeFile(path.join(b1, 'dir', 'from-b.md'), 'written on B\n');
    expect(await seen(path.join(a1, 'dir', 'from-b.md'), 'written on B\n')).toBe(true);
    const a2 = await a.open('notes', 'a2');
    expect(await seen(path.join(a2, 'dir', 'from-b.md'), 'written on B\n')).toBe(true);
    await writeFile(path.join(a2, 'from-a.md'), 'edited on A\n');
    expect(await seen(path.join(b1, 'from-a.md'), 'edited on A\n')).toBe(true);

    const status = await a.json<StatusResult>(['status']);
    const info = status.repos.find((r) => r.name === 'notes')!.remote!;
    expect(info.url).toBe(remote);
    expect(info.delayed).toBe(false);
    expect(info.lastPush).toBeDefined();
    expect(info.lastFetch).toBeDefined();
    expect(await remoteFile(remote, 'dir/from-b.md')).toBe('written on B\n');
  }, 120_000);

  it('same line edited on both machines: the same conflict on both, a resolution on one clears both', async () => {
    const a = await machine();
    const b = await machine();
    const remote = await bareRemote(path.join(a.root, 'remote.git'));
    await ok(a, ['init', 'notes']);
    await ok(a, ['remote', 'add', remote, '--repo', 'notes']);
    const ma = await a.open('notes', 'ma');
    await writeFile(path.join(ma, 'c.md'), 'base\n');
    expect((await syncRemote(a)).converged).toBe(true);
    await ok(b, ['init', 'notes', '--from', remote]);
    const mb = await b.open('notes', 'mb');
    expect(await seen(path.join(mb, 'c.md'), 'base\n')).toBe(true);

    await writeFile(path.join(ma, 'c.md'), 'edit on A\n');
    await writeFile(path.join(mb, 'c.md'), 'edit on B\n');
    expect((await syncRemote(a)).remote?.pushed).toBe(true);
    const onB = await syncRemote(b);
    expect(onB.remote).toMatchObject({ integrated: 'merge', pushed: true, published: ['c.md'] });
    expect(onB.conflicts).toEqual(['c.md']);
    const onA = await syncRemote(a);
    expect(onA.remote?.integrated).toBe('fast-forward');
    expect(onA.conflicts).toEqual(['c.md']);

    const markers = (t: string): boolean => /^<<<<<<< /m.test(t);
    const textA = await seenMatching(path.join(ma, 'c.md'), markers);
    const textB = await seenMatching(path.join(mb, 'c.md'), markers);
    expect(textA).toMatch(/^<<<<<<< /m);
    expect(textA).toMatch(/^>>>>>>> /m);
    expect(textA).toContain('edit on A');
    expect(textA).toContain('edit on B');
    expect(textB).toBe(textA);
    // The remote holds an ordinary commit whose file carries the same markers.
    expect(await remoteFile(remote, 'c.md')).toBe(textA);
    for (const env of [a, b]) {
      expect((await env.run(['conflicts', 'notes'])).stdout).toContain('notes\tc.md');
      const status = await env.json<StatusResult>(['status']);
      expect(status.repos[0]!.conflicts).toEqual(['c.md']);
    }

    // Resolved on B: both end clean.
    await writeFile(path.join(mb, 'c.md'), 'resolved on B\n');
    expect((await syncRemote(b)).conflicts).toEqual([]);
    expect((await syncRemote(a)).conflicts).toEqual([]);
    expect(await seen(path.join(ma, 'c.md'), 'resolved on B\n')).toBe(true);
    for (const env of [a, b]) expect((await env.run(['conflicts', 'notes'])).stdout).toMatch(/No conflicts/);
    expect(await remoteFile(remote, 'c.md')).toBe('resolved on B\n');
    // Nothing lost: B's own edit is still in B's jj history.
    const everything = await b.jj('notes', ['log', '--no-graph', '-r', 'all()', '-T', 'description.first_line() ++ "\\n"']);
    expect(everything).toContain(mb);
  }, 120_000);

  it('two machines appending to one file converge on the union, with no markers', async () => {
    const a = await machine();
    const b = await machine();
    const remote = await bareRemote(path.join(a.root, 'remote.git'));
    await ok(a, ['init', 'notes']);
    await ok(a, ['remote', 'add', remote, '--repo', 'notes']);
    const ma = await a.open('notes', 'ma');
    await writeFile(path.join(ma, 'log.md'), 'start\n');
    expect((await syncRemote(a)).converged).toBe(true);
    await ok(b, ['init', 'notes', '--from', remote]);
    const mb = await b.open('notes', 'mb');
    expect(await seen(path.join(mb, 'log.md'), 'start\n')).toBe(true);

    const written = ['start\n'];
    for (let round = 0; round < 4; round++) {
      // Both machines append before either hears of the other's lines.
      for (const [m, tag] of [[ma, 'A'], [mb, 'B']] as const) {
        for (let i = 0; i < 3; i++) {
          const line = `${tag} ${round}.${i}\n`;
          await appendFile(path.join(m, 'log.md'), line);
          written.push(line);
        }
      }
      await syncRemote(a);
      await syncRemote(b);
    }
    await syncRemote(a);
    const onB = await syncRemote(b);
    expect(onB.conflicts).toEqual([]);
    const final = await remoteFile(remote, 'log.md');
    expect(auditLines(final ?? '', written)).toEqual(EXACT);
    expect(await seen(path.join(ma, 'log.md'), final)).toBe(true);
    expect(await seen(path.join(mb, 'log.md'), final)).toBe(true);
    for (const env of [a, b]) expect((await env.run(['conflicts', 'notes'])).stdout).toMatch(/No conflicts/);
  }, 120_000);

  it('with default settings a change in a mount is on the remote within push_delay and a round', async () => {
    const a = await machine();
    const remote = await bareRemote(path.join(a.root, 'remote.git'));
    await ok(a, ['init', 'notes']);
    await ok(a, ['remote', 'add', remote, '--repo', 'notes']);
    const m = await a.open('notes', 'm');
    // Let the first round after `remote add` pass, so what follows is pushed by the edit alone.
    expect(await waitFor(async () => (await a.json<StatusResult>(['status'])).repos[0]!.remote?.lastPush !== undefined, 30_000, 200)).toBe(true);
    const started = Date.now();
    await writeFile(path.join(m, 'backup.md'), 'backed up\n');
    // push_interval is 300 s by default: only push_delay (10 s of quiet) can bring it here this soon.
    expect(await waitFor(async () => (await remoteFile(remote, 'backup.md')) === 'backed up\n', 60_000, 200)).toBe(true);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await waitFor(async () => (await a.json<StatusResult>(['status'])).repos[0]!.remote?.unpushed === 0, 10_000, 200)).toBe(true);
  }, 120_000);

  it('config set push_delay reschedules a waiting push at once', async () => {
    const a = await machine();
    const remote = await bareRemote(path.join(a.root, 'remote.git'));
    await preconfigure(a, { notes: { push_interval: 0, push_delay: 3600 } });
    await ok(a, ['init', 'notes']);
    await ok(a, ['remote', 'add', remote, '--repo', 'notes']);
    const m = await a.open('notes', 'm');
    await writeFile(path.join(m, 'waiting.md'), 'waits an hour\n');
    expect((await a.json<{ rounds: RoundInfo[] }>(['sync', 'notes'])).rounds[0]!.converged).toBe(true);
    expect(await remoteFile(remote, 'waiting.md')).toBeUndefined();
    await ok(a, ['config', 'set', 'push_delay', '1']);
    expect(await waitFor(async () => (await remoteFile(remote, 'waiting.md')) === 'waits an hour\n', 30_000, 200)).toBe(true);
  }, 90_000);

  it('jjfs stop pushes the changes not pushed yet', async () => {
    const a = await machine();
    const remote = await bareRemote(path.join(a.root, 'remote.git'));
    await preconfigure(a, { notes: { push_interval: 0, push_delay: 3600 } });
    await ok(a, ['init', 'notes']);
    await ok(a, ['remote', 'add', remote, '--repo', 'notes']);
    const m = await a.open('notes', 'm');
    await writeFile(path.join(m, 'late.md'), 'written just before stopping\n');
    expect((await a.json<{ rounds: RoundInfo[] }>(['sync', 'notes'])).rounds[0]!.converged).toBe(true);
    const status = await a.json<StatusResult>(['status']);
    expect(status.repos[0]!.remote?.unpushed).toBeGreaterThanOrEqual(1);
    expect((await a.run(['status'])).stdout).toMatch(/remote: .*, \d+ change\(s\) not pushed yet/);
    expect(await remoteFile(remote, 'late.md')).toBeUndefined();
    expect((await a.run(['stop'])).code).toBe(0);
    expect(await remoteFile(remote, 'late.md')).toBe('written just before stopping\n');
  }, 120_000);

  it('init --from starts from a repo with history; its default branch becomes main', async () => {
    const a = await machine();
    const work = path.join(a.root, 'work');
    const remote = await bareRemote(path.join(a.root, 'upstream.git'), 'trunk');
    await git(['init', '-q', '-b', 'trunk', work]);
    await writeFile(path.join(work, 'one.md'), 'one\n');
    await git(['add', '.'], work);
    await git(['commit', '-qm', 'first'], work);
    await mkdir(path.join(work, 'sub'));
    await writeFile(path.join(work, 'sub', 'two.md'), 'two\n');
    await git(['add', '.'], work);
    await git(['commit', '-qm', 'second'], work);
    await git(['push', '-q', remote, 'trunk'], work);

    const out = await ok(a, ['init', 'notes', '--from', remote]);
    expect(out).toContain('Created repo "notes"');
    const m = await a.open('notes', 'm');
    expect(await seen(path.join(m, 'one.md'), 'one\n')).toBe(true);
    expect(await seen(path.join(m, 'sub', 'two.md'), 'two\n')).toBe(true);
    const history = await a.jj('notes', ['log', '--no-graph', '-r', '::main ~ root()', '-T', 'description.first_line() ++ "\\n"']);
    expect(history.split('\n').filter(Boolean)).toEqual(['second', 'first']);

    const again = await a.run(['init', 'notes', '--from', remote]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already exists');

    await writeFile(path.join(m, 'three.md'), 'three\n');
    const round = await syncRemote(a);
    expect(round.converged).toBe(true);
    expect(round.remote?.pushed).toBe(true);
    expect(await remoteFile(remote, 'three.md', 'trunk')).toBe('three\n');
    expect((await remoteLog(remote, 'trunk')).slice(-2)).toEqual(['second', 'first']);
    expect(await remoteFile(remote, 'three.md', 'main')).toBeUndefined();
  }, 90_000);
});
