/**
 * jjfs install / uninstall / start / stop with the service manager replaced by a recording fake
 * that really runs the installed definition (so the rendered unit and plist must start a working
 * daemon), in a temporary HOME.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive, JjfsEnv, mountPoints, ROOT } from './helpers/jjfs-env.js';
import { environOf, FAKE_SERVICE_MANAGER, fakeCalls, mutating, serviceEnv } from './helpers/service-env.js';

let env: JjfsEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
});
afterEach(async () => {
  await env.cleanup();
});

const run = (args: string[], e: NodeJS.ProcessEnv) => env.run(args, { env: e, timeoutMs: 120_000 });

describe('jjfs install with systemd', () => {
  it('dry run prints the unit and the commands and changes nothing', async () => {
    const e = serviceEnv(env, 'systemd');
    const unit = path.join(e.HOME!, '.config', 'systemd', 'user', 'jjfs.service');
    const r = await run(['install', '--dry-run'], e);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Would write ${unit}:`);
    expect(r.stdout).toContain(`ExecStart="${process.execPath}" "${path.join(ROOT, 'dist', 'daemon', 'main.js')}"`);
    expect(r.stdout).toContain(`Environment="JJFS_HOME=${env.home}"`);
    expect(r.stdout).toContain(`Environment="LD_LIBRARY_PATH=${path.join(env.home, 'lib')}"`);
    expect(r.stdout).toContain('Restart=on-failure');
    expect(r.stdout).toContain(`Would run:\n  ${FAKE_SERVICE_MANAGER} --user daemon-reload\n  ${FAKE_SERVICE_MANAGER} --user enable --now jjfs.service\n`);
    expect(existsSync(unit)).toBe(false);
    expect(existsSync(env.home)).toBe(false);
    expect(mutating(await fakeCalls(env))).toEqual([]);

    const json = JSON.parse((await run(['install', '--dry-run', '--json'], e)).stdout) as { dryRun: boolean; file: string; content: string; commands: string[] };
    expect(json).toMatchObject({ dryRun: true, file: unit });
    expect(r.stdout).toContain(json.content.trimEnd());
  });

  it('install takes over a running daemon; start/stop/auto-start go through the service; uninstall reverses it', async () => {
    const e = serviceEnv(env, 'systemd');
    const unit = path.join(e.HOME!, '.config', 'systemd', 'user', 'jjfs.service');
    const a = await env.open('notes', 'a');
    await writeFile(path.join(a, 'kept.md'), 'written before install\n');
    const direct = (await env.daemonPid())!;
    const dry = JSON.parse((await run(['install', '--dry-run', '--json'], e)).stdout) as { content: string; stopsDaemon: number };
    expect(dry.stopsDaemon).toBe(direct);

    const r = await run(['install'], e);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Stopping the jjfsd running outside systemd (pid ${direct})`);
    expect(r.stdout).toContain(`Installed ${unit}.`);
    expect(await readFile(unit, 'utf8')).toBe(dry.content);
    expect(mutating(await fakeCalls(env))).toEqual(['--user daemon-reload', '--user enable --now jjfs.service']);
    expect(isAlive(direct)).toBe(false);

    // The daemon now running was started from the unit, with the environment it prepares.
    const pid = (await env.daemonPid())!;
    expect(pid).not.toBe(direct);
    expect(Number(await readFile(path.join(env.root, 'sm', 'pid'), 'utf8'))).toBe(pid);
    const environ = await environOf(pid);
    expect(environ).toMatchObject({ JJFS_DAEMON_ENV: '1', LD_LIBRARY_PATH: path.join(env.home, 'lib'), UV_THREADPOOL_SIZE: '64', JJFS_HOME: env.home });
    expect(await mountPoints()).toContain(a);
    expect(await readFile(path.join(a, 'kept.md'), 'utf8')).toBe('written before install\n');
    const again = await run(['install'], e);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/is up to date and jjfsd runs under systemd/);

    const stop = await run(['stop'], e);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toBe(`jjfsd stopped by systemd (pid ${pid})\n`);
    expect(isAlive(pid)).toBe(false);
    expect(await mountPoints()).not.toContain(a);

    // Any command auto-starts it, through the service.
    const list = await run(['list'], e);
    expect(list.code, list.stderr).toBe(0);
    const auto = (await env.daemonPid())!;
    expect(Number(await readFile(path.join(env.root, 'sm', 'pid'), 'utf8'))).toBe(auto);
    expect(await mountPoints()).toContain(a);
    await run(['stop'], e);
    const start = await run(['start'], e);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toMatch(/^jjfsd started by systemd \(pid \d+\)/);
    expect(mutating(await fakeCalls(env)).slice(2)).toEqual([
      '--user stop jjfs.service',
      '--user start jjfs.service',
      '--user stop jjfs.service',
      '--user start jjfs.service',
    ]);

    const dryUn = await run(['uninstall', '--dry-run'], e);
    expect(dryUn.stdout).toContain(`--user disable --now jjfs.service\n  rm ${unit}\n`);
    expect(existsSync(unit)).toBe(true);

    const served = (await env.daemonPid())!;
    const un = await run(['uninstall'], e);
    expect(un.code, un.stderr).toBe(0);
    expect(un.stdout).toContain(`Removed ${unit}`);
    expect(existsSync(unit)).toBe(false);
    expect(isAlive(served)).toBe(false);
    expect(mutating(await fakeCalls(env)).slice(-2)).toEqual(['--user disable --now jjfs.service', '--user daemon-reload']);
    expect((await run(['uninstall'], e)).stdout).toMatch(/No jjfs service is installed/);

    // Without the service, start is direct again (the fake is not asked to start anything).
    const before = mutating(await fakeCalls(env)).length;
    const direct2 = await run(['start'], e);
    expect(direct2.stdout).toMatch(/^jjfsd started \(pid \d+\)/);
    expect(mutating(await fakeCalls(env))).toHaveLength(before);
  }, 240_000);

  it('a service manager that cannot be reached: install refuses and writes nothing; start falls back to a direct start', async () => {
    const broken = serviceEnv(env, 'systemd', { FAKE_SM_BROKEN: '1' });
    const unit = path.join(broken.HOME!, '.config', 'systemd', 'user', 'jjfs.service');
    const r = await run(['install'], broken);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/Failed to connect to bus.*loginctl enable-linger/);
    expect(existsSync(unit)).toBe(false);

    expect((await run(['install'], serviceEnv(env, 'systemd'))).code).toBe(0);
    expect((await run(['stop'], serviceEnv(env, 'systemd'))).code).toBe(0);
    const start = await run(['start'], broken);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stderr).toMatch(/could not start jjfsd through systemd .*started it directly/);
    expect(start.stdout).toMatch(/^jjfsd started \(pid \d+\)/);
  }, 120_000);
});

describe('jjfs install with launchd', () => {
  it('bootstraps the agent, start/stop through launchctl, uninstall boots it out', async () => {
    const e = serviceEnv(env, 'launchd');
    const uid = process.getuid!();
    const agent = path.join(e.HOME!, 'Library', 'LaunchAgents', 'com.jjfs.daemon.plist');
    const a = await env.open('notes', 'a');
    await env.run(['stop']);

    const dry = await run(['install', '--dry-run'], e);
    expect(dry.stdout).toContain(`Would write ${agent}:`);
    expect(dry.stdout).toContain('<key>KeepAlive</key>');
    expect(dry.stdout).toContain(`  ${FAKE_SERVICE_MANAGER} bootstrap gui/${uid} ${agent}`);

    const r = await run(['install'], e);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(agent)).toBe(true);
    const pid = (await env.daemonPid())!;
    expect(Number(await readFile(path.join(env.root, 'sm', 'pid'), 'utf8'))).toBe(pid);
    expect(await environOf(pid)).toMatchObject({ JJFS_DAEMON_ENV: '1', JJFS_HOME: env.home, UV_THREADPOOL_SIZE: '64' });
    expect(await mountPoints()).toContain(a);

    expect((await run(['stop'], e)).stdout).toBe(`jjfsd stopped by launchd (pid ${pid})\n`);
    expect((await run(['start'], e)).stdout).toMatch(/^jjfsd started by launchd/);
    const un = await run(['uninstall'], e);
    expect(un.code, un.stderr).toBe(0);
    expect(existsSync(agent)).toBe(false);
    const svc = `gui/${uid}/com.jjfs.daemon`;
    expect(mutating(await fakeCalls(env))).toEqual([
      `enable ${svc}`,
      `bootstrap gui/${uid} ${agent}`,
      `kill SIGTERM ${svc}`,
      `kickstart ${svc}`,
      `bootout ${svc}`,
    ]);
  }, 180_000);
});
