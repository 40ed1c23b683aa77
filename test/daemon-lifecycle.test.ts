import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive, JjfsEnv, waitFor } from './helpers/jjfs-env.js';

let env: JjfsEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
});
afterEach(async () => {
  await env.cleanup();
});

describe('daemon lifecycle', () => {
  it('start, status, second start, stop', async () => {
    const before = await env.run(['status']);
    expect(before.code).toBe(3);
    expect(before.stdout).toMatch(/not running/);

    const start = await env.run(['start']);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toMatch(/jjfsd started \(pid \d+\)/);
    const pid = await env.daemonPid();
    expect(pid).toBeDefined();
    expect(isAlive(pid!)).toBe(true);

    const status = await env.json<{ running: boolean; pid: number; jj: { version: string } }>(['status']);
    expect(status.running).toBe(true);
    expect(status.pid).toBe(pid);
    expect(status.jj.version).toMatch(/^\d+\.\d+\.\d+/);

    const again = await env.run(['start']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`already running (pid ${pid})`);

    const stop = await env.run(['stop']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(isAlive(pid!)).toBe(false);
    expect(existsSync(path.join(env.home, 'daemon.sock'))).toBe(false);
    expect(existsSync(path.join(env.home, 'daemon.json'))).toBe(false);
    expect(existsSync(path.join(env.home, 'daemon.lock'))).toBe(false);

    const stopAgain = await env.run(['stop']);
    expect(stopAgain.code).toBe(0);
    expect(stopAgain.stdout).toMatch(/not running/);
  });

  it('refuses a second daemon with the pid of the first', async () => {
    expect((await env.run(['start'])).code).toBe(0);
    const pid = await env.daemonPid();
    const second = env.spawnDaemon();
    let stderr = '';
    second.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => second.on('exit', r));
    expect(code).toBe(5);
    expect(stderr).toContain(`already running (pid ${pid})`);
    // The first daemon is untouched and still answers.
    expect((await env.run(['status'])).code).toBe(0);
    expect(await env.daemonPid()).toBe(pid);
  });

  it('starts again after kill -9 (stale lock and socket recognised)', async () => {
    expect((await env.run(['start'])).code).toBe(0);
    const pid = (await env.daemonPid())!;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid), 5_000);
    expect(existsSync(path.join(env.home, 'daemon.sock'))).toBe(true); // left behind by the dead daemon
    expect((await env.run(['status'])).code).toBe(3);
    const restart = await env.run(['start']);
    expect(restart.code, restart.stderr).toBe(0);
    const newPid = await env.daemonPid();
    expect(newPid).not.toBe(pid);
    expect((await env.run(['status'])).code).toBe(0);
  });

  it('stops by itself when its lock is removed (e.g. its home was deleted)', async () => {
    expect((await env.run(['start'])).code).toBe(0);
    const pid = (await env.daemonPid())!;
    await rm(path.join(env.home, 'daemon.lock'), { recursive: true, force: true });
    expect(await waitFor(() => !isAlive(pid), 15_000)).toBe(true);
  });

  it('the CLI starts the daemon when a command needs it', async () => {
    expect(await env.daemonPid()).toBeUndefined();
    const list = await env.run(['list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/No mounts/);
    const pid = await env.daemonPid();
    expect(pid && isAlive(pid)).toBe(true);
  });

  it('a daemon frozen past the lock\'s stale time keeps it: a second one refuses, the first answers again', async () => {
    expect((await env.run(['start'])).code).toBe(0);
    const pid = (await env.daemonPid())!;
    // Since the lock's last refresh; Infinity once it is gone.
    const lockAge = () => stat(path.join(env.home, 'daemon.lock')).then((s) => Date.now() - s.mtimeMs, () => Infinity);
    process.kill(pid, 'SIGSTOP');
    try {
      // Past LOCK_STALE_MS (5 s) without a refresh, as a daemon starved by a busy machine is.
      expect(await waitFor(async () => (await lockAge()) > 6_000, 20_000, 250)).toBe(true);
      const second = env.spawnDaemon();
      let stderr = '';
      second.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((r) => second.on('exit', r));
      expect(code, stderr).toBe(5);
      expect(stderr).toContain(`already running (pid ${pid})`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // Thawed, it refreshes its lock again (a lock taken over meanwhile would be gone or not its own,
    // and it would stop, resetting every connection it served).
    expect(await waitFor(async () => (await lockAge()) < 2_000, 10_000, 100)).toBe(true);
    expect((await env.run(['status'])).code).toBe(0);
    expect(await env.daemonPid()).toBe(pid);
    expect(isAlive(pid)).toBe(true);
  }, 60_000);

  it('stops on SIGTERM: socket removed, lock released, exit 0', async () => {
    const child = env.spawnDaemon();
    await waitFor(() => existsSync(path.join(env.home, 'daemon.sock')), 10_000);
    expect((await env.run(['status'])).code).toBe(0);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(existsSync(path.join(env.home, 'daemon.sock'))).toBe(false);
    expect(existsSync(path.join(env.home, 'daemon.lock'))).toBe(false);
  });

  it('50 CLIs running init at once on distinct names all succeed', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `repo-${i}`);
    const results = await Promise.all(names.map((n) => env.run(['init', n], { timeoutMs: 120_000 })));
    const failed = results.flatMap((r, i) => (r.code === 0 ? [] : [`${names[i]}: ${r.stderr.trim()}`]));
    // The daemon log says why (a daemon that stopped, a lock taken over): the home is gone after the test.
    const log = failed.length > 0 ? (await env.daemonLog()) || '(no log)' : '';
    expect(failed, `${failed.join('\n')}\n--- sync.log (last 4 KiB) ---\n${log.slice(-4096)}`).toEqual([]);
    const config = JSON.parse(await readFile(path.join(env.home, 'config.json'), 'utf8')) as { repos: Record<string, unknown> };
    expect(Object.keys(config.repos).sort()).toEqual([...names].sort());
    const dirs = await readdir(path.join(env.home, 'repos'));
    expect(dirs.sort()).toEqual([...names].sort());
    // Exactly one daemon won the start race.
    const { repos } = await env.json<{ repos: unknown[] }>(['repos']);
    expect(repos).toHaveLength(50);
  }, 180_000);

  it('refuses a jj older than supported, saying how to install one', async () => {
    const fake = path.join(env.root, 'old-jj');
    await writeFile(fake, '#!/bin/sh\necho "jj 0.30.0"\n', { mode: 0o755 });
    const r = await env.run(['init'], { env: env.env({ JJFS_JJ: fake }) });
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/version 0\.30\.0 is too old/);
    expect(r.stderr).toMatch(/npm i @smithers-orchestrator\/jj-linux-x64@0\.32\.0/);
    const missing = await env.run(['init'], { env: env.env({ JJFS_JJ: path.join(env.root, 'nope') }) });
    expect(missing.code).toBe(7);
    expect(missing.stderr).toMatch(/JJFS_JJ does not name a usable jj/);
  });

  it('init is idempotent', async () => {
    const first = await env.json<{ created: boolean }>(['init', 'notes']);
    expect(first.created).toBe(true);
    const second = await env.json<{ created: boolean }>(['init', 'notes']);
    expect(second.created).toBe(false);
  });

  it('keeps a corrupt config.json aside and says so', async () => {
    await mkdir(env.home, { recursive: true });
    const broken = '{ "repos": { "notes": { "remote": 42 } }, ';
    await writeFile(path.join(env.home, 'config.json'), broken);
    const start = await env.run(['start']);
    expect(start.code, start.stderr).toBe(0);
    const status = await env.json<{ warnings: string[] }>(['status']);
    expect(status.warnings.join('\n')).toMatch(/config\.json was invalid \(not valid JSON/);
    const kept = (await readdir(env.home)).filter((f) => f.startsWith('config.json.corrupt-'));
    expect(kept).toHaveLength(1);
    expect(await readFile(path.join(env.home, kept[0]!), 'utf8')).toBe(broken);
  });

  it('reports a structurally invalid config with the field at fault', async () => {
    await mkdir(env.home, { recursive: true });
    await writeFile(path.join(env.home, 'config.json'), JSON.stringify({ repos: { notes: { remote: 42 } }, mounts: [] }));
    expect((await env.run(['start'])).code).toBe(0);
    const status = await env.json<{ warnings: string[] }>(['status']);
    expect(status.warnings.join('\n')).toContain('"repos.notes.remote" is not a string or null');
  });
});
