/**
 * jjfs doctor on a healthy setup and on each broken case, each reported with its fix; applying the
 * fix it names clears the problem where that can be done here.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive, JjfsEnv, waitFor } from './helpers/jjfs-env.js';
import { serviceEnv } from './helpers/service-env.js';

interface Check {
  name: string;
  level: 'ok' | 'warning' | 'problem';
  ok: boolean;
  detail: string;
  fix?: string;
}

let env: JjfsEnv;
let e: NodeJS.ProcessEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
  e = serviceEnv(env, 'systemd');
});
afterEach(async () => {
  await env.cleanup();
});

async function doctor(extra: NodeJS.ProcessEnv = {}): Promise<{ code: number; checks: Check[]; problems: Check[] }> {
  const r = await env.run(['doctor', '--json'], { env: { ...e, ...extra }, timeoutMs: 120_000 });
  const out = JSON.parse(r.stdout) as { ok: boolean; problems: number; checks: Check[] };
  const problems = out.checks.filter((c) => !c.ok);
  expect(out.ok).toBe(problems.length === 0);
  expect(out.problems).toBe(problems.length);
  for (const c of out.checks) {
    expect(c.ok, `${c.name}: ok is false exactly for a problem`).toBe(c.level !== 'problem');
    expect(Boolean(c.fix), `${c.name}: a fix exactly for a problem or a warning`).toBe(c.level !== 'ok');
  }
  return { code: r.code, checks: out.checks, problems };
}

const names = (checks: Check[]) => checks.map((c) => c.name);

async function killDaemon(): Promise<void> {
  const pid = (await env.daemonPid())!;
  process.kill(pid, 'SIGKILL');
  expect(await waitFor(() => !isAlive(pid), 10_000)).toBe(true);
}

async function bareRemote(): Promise<string> {
  const dir = path.join(env.root, 'remote.git');
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- err is an ExecFileException (an Error; the rule does not see through @types/node's Omit<>)
  await new Promise((resolve, reject) => execFile('git', ['init', '--bare', '-q', '-b', 'main', dir], (err) => (err ? reject(err) : resolve(undefined))));
  return dir;
}

describe('jjfs doctor', () => {
  it('a healthy setup: every check ok, exit 0', async () => {
    await env.open('notes', 'a');
    expect((await env.run(['remote', 'add', await bareRemote(), '--repo', 'notes'], { env: e })).code).toBe(0);
    const install = await env.run(['install'], { env: e, timeoutMs: 120_000 });
    expect(install.code, install.stderr).toBe(0);

    const { code, checks, problems } = await doctor();
    expect(problems).toEqual([]);
    expect(code).toBe(0);
    expect(names(checks)).toEqual(['jj', '/dev/fuse', 'unmount tool', 'libfuse', 'socket', 'lock', 'stale mounts', 'service', 'mounts', 'remote of notes', 'history', 'disk']);
    expect(checks.find((c) => c.name === 'service')!.detail).toMatch(/^systemd: active, enabled/);
    expect(checks.find((c) => c.name === 'mounts')!.detail).toBe('1 mounted, workspaces healthy (notes); kernel cache on 1 of 1');
    const human = await env.run(['doctor'], { env: e });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/No problems found\.\n$/);
  }, 180_000);

  it('service not installed: a warning, exit 0 (exit 1 with --strict)', async () => {
    await env.open('notes', 'a');
    const { code, checks, problems } = await doctor();
    expect(code).toBe(0);
    expect(problems).toEqual([]);
    expect(checks.filter((c) => c.level === 'warning')).toEqual([
      { name: 'service', level: 'warning', ok: true, detail: expect.stringMatching(/^not installed \(.*jjfs\.service does not exist\)/), fix: 'jjfs install' },
    ]);
    expect((await env.run(['doctor', '--strict', '--json'], { env: e, timeoutMs: 120_000 })).code).toBe(1);
    const human = await env.run(['doctor'], { env: e });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/warning service +not installed[^\n]*\n +fix: jjfs install\n/);
    expect(human.stdout).toMatch(/No problems found \(1 warning\)\.\n$/);
  });

  it('jj missing (JJFS_JJ=/nonexistent)', async () => {
    const { code, problems } = await doctor({ JJFS_JJ: '/nonexistent' });
    expect(code).toBe(1);
    const jj = problems.find((c) => c.name === 'jj')!;
    expect(jj.detail).toContain('/nonexistent (JJFS_JJ): not executable');
    expect(jj.fix).toMatch(/^JJFS_JJ=\/nonexistent is set: point it at a jj >= 0\.42\.0 or unset it/);
  });

  it('stale socket, then fixed by jjfs start', async () => {
    await mkdir(env.home, { recursive: true });
    const sock = path.join(env.home, 'daemon.sock');
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => console.log('up'))`]);
    await new Promise((r) => holder.stdout.once('data', r));
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    expect(existsSync(sock)).toBe(true);

    const { code, problems } = await doctor();
    expect(code).toBe(1);
    expect(problems.find((c) => c.name === 'socket')).toEqual({
      name: 'socket',
      level: 'problem',
      ok: false,
      detail: `${sock} exists but nothing answers: jjfsd died without removing it (crash or kill -9)`,
      fix: 'jjfs start (it removes the stale socket and remounts every mount)',
    });
    expect((await env.run(['start'])).code).toBe(0);
    expect((await doctor()).checks.find((c) => c.name === 'socket')!.ok).toBe(true);
  });

  it('stale lock, then fixed by jjfs start', async () => {
    await mkdir(path.join(env.home, 'daemon.lock'), { recursive: true });
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => gone.once('exit', r));
    await writeFile(path.join(env.home, 'daemon.json'), JSON.stringify({ pid: gone.pid, socket: path.join(env.home, 'daemon.sock'), version: '0.1.0', startedAt: '' }));

    const { code, problems } = await doctor();
    expect(code).toBe(1);
    expect(problems.find((c) => c.name === 'lock')).toEqual({
      name: 'lock',
      level: 'problem',
      ok: false,
      detail: `${path.join(env.home, 'daemon.lock')} is stale: held by pid ${gone.pid}, which is not running (jjfsd was killed)`,
      fix: 'jjfs start (it takes the stale lock over)',
    });
    expect((await env.run(['start'])).code).toBe(0);
    expect((await doctor()).checks.find((c) => c.name === 'lock')!.detail).toMatch(/^held by jjfsd \(pid \d+\)$/);
  });

  it('stale mount after kill -9 (with its stale socket and lock), then fixed by jjfs start', async () => {
    const a = await env.open('notes', 'a');
    const b = await env.open('notes', 'b');
    await killDaemon();
    const { code, problems } = await doctor();
    expect(code).toBe(1);
    const stale = problems.filter((c) => c.name === 'stale mount');
    expect(stale.map((c) => c.detail).sort()).toEqual([a, b].map((p) => `${p}: "Transport endpoint is not connected" (the jjfsd serving it died)`).sort());
    expect(stale[0]!.fix).toMatch(/^jjfs start \(it clears stale mounts and remounts\); by hand: umount -l \//);
    expect(names(problems).sort()).toEqual(['lock', 'mounts', 'socket', 'stale mount', 'stale mount']);
    expect(problems.find((c) => c.name === 'mounts')!.fix).toBe('jjfs start');

    expect((await env.run(['start'])).code).toBe(0);
    expect(names((await doctor()).problems)).toEqual([]);
  });

  it('unhealthy workspace', async () => {
    const a = await env.open('notes', 'a');
    const { mounts } = await env.json<{ mounts: Array<{ workspace: string }> }>(['list']);
    // Break the workspace's pointer to its repo: every jj command in it now fails.
    await writeFile(path.join(mounts[0]!.workspace, '.jj', 'repo'), path.join(env.root, 'no-such-repo'));
    // A forced round snapshots every workspace, so jj runs in the broken one.
    expect((await env.run(['sync', 'notes'])).code).toBe(1);
    expect((await env.json<{ mounts: Array<{ state: string }> }>(['list'])).mounts[0]!.state).toBe('unhealthy');
    const { code, problems } = await doctor();
    expect(code).toBe(1);
    const m = problems.find((c) => c.name === 'mount')!;
    expect(m.detail).toMatch(new RegExp(`^${a} \\(repo notes\\) is unhealthy: .+`));
    expect(m.fix).toBe(`recreate it (the repo keeps every recorded change): jjfs close ${a} && jjfs open notes ${a}`);
  });

  it('unreachable remotes, credentials never shown', async () => {
    // A remote that worked when it was added, then went away.
    const bare = await bareRemote();
    expect((await env.run(['init', 'notes'])).code).toBe(0);
    expect((await env.run(['remote', 'add', bare, '--repo', 'notes'])).code).toBe(0);
    await rename(bare, `${bare}.moved`);
    // A URL with credentials to a host that refuses connections (remote add would refuse it, so it
    // goes into config.json by hand, with the daemon stopped).
    expect((await env.run(['init', 'work'])).code).toBe(0);
    expect((await env.run(['stop'])).code).toBe(0);
    const configFile = path.join(env.home, 'config.json');
    const config = JSON.parse(await readFile(configFile, 'utf8')) as { repos: Record<string, { remote: string | null }> };
    config.repos['work']!.remote = 'https://alice:s3cret@127.0.0.1:9/x.git';
    await writeFile(configFile, JSON.stringify(config));

    const r = await env.run(['doctor', '--json'], { env: e, timeoutMs: 120_000 });
    expect(r.stdout + r.stderr).not.toContain('s3cret');
    expect((await env.run(['doctor'], { env: e, timeoutMs: 120_000 })).stdout).not.toContain('s3cret');
    const { code, problems } = await doctor();
    expect(code).toBe(1);
    const notes = problems.find((c) => c.name === 'remote of notes')!;
    expect(notes.detail).toMatch(new RegExp(`^${bare} is not reachable: .+`));
    expect(notes.fix).toBe('check the URL, the network and your credentials; replace it with: jjfs remote remove --repo notes && jjfs remote add URL --repo notes');
    const work = problems.find((c) => c.name === 'remote of work')!;
    expect(work.detail).toMatch(/^https:\/\/127\.0\.0\.1:9\/x\.git is not reachable: /);
  });
});
