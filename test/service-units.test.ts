/**
 * The rendered service definitions: the systemd unit passes `systemd-analyze --user verify` (which
 * needs no running systemd, only a runtime dir), the launchd plist parses as a property list with
 * exactly the keys and values launchd needs. Paths with characters that need escaping on each side
 * (space, %, $, ", \, &, <) are used so that escaping mistakes show up.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as plist from 'plist';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolvePaths } from '../src/config/paths.js';
import { renderService, serviceSpec, STOP_TIMEOUT_S, type ServiceSpec } from '../src/service/render.js';
import { ROOT } from './helpers/jjfs-env.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'jjfs-units-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const ENTRY = path.join(ROOT, 'dist', 'daemon', 'main.js');

function spec(home: string, platform: NodeJS.Platform): ServiceSpec {
  const env = { PATH: '/usr/local/bin:relative/ignored:/usr/bin:/bin:/usr/bin', JJFS_HOME: home, JJFS_JJ: '/opt/jj $HOME/bin/jj', UV_THREADPOOL_SIZE: '8' };
  return serviceSpec(resolvePaths(env), { env, platform, entry: ENTRY });
}

function verify(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'systemd-analyze',
      ['--user', '--no-pager', 'verify', file],
      // --user needs a runtime directory; no systemd has to run.
      { env: { ...process.env, XDG_RUNTIME_DIR: path.join(root, 'rt'), SYSTEMD_LOG_LEVEL: 'notice' } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}`.trim() }),
    );
  });
}

/** Parses what jjfs renders into a unit (quoted words, Environment="K=V", %% and $$) back to values. */
function parseUnit(text: string): { execStart: string[]; env: Record<string, string>; settings: Record<string, string> } {
  const words = (s: string) => [...s.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
  const settings: Record<string, string> = {};
  const env: Record<string, string> = {};
  let execStart: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'ExecStart') execStart = words(value).map((w) => w.replace(/%%/g, '%').replace(/\$\$/g, '$'));
    else if (key === 'Environment') {
      for (const w of words(value)) {
        const kv = w.replace(/%%/g, '%');
        env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
      }
    } else settings[key] = value.replace(/%%/g, '%');
  }
  return { execStart, env, settings };
}

describe('systemd unit', () => {
  it('passes systemd-analyze verify and carries exactly the intended values', async () => {
    expect(existsSync(ENTRY), 'build first: npx tsc -p tsconfig.build.json').toBe(true);
    await mkdir(path.join(root, 'rt'), { mode: 0o700 });
    const home = path.join(root, 'odd home %h %k $USER "q" \\ & <x>');
    const s = spec(home, 'linux');
    const text = renderService('systemd', s);
    const file = path.join(root, 'jjfs.service');
    await writeFile(file, text);
    const r = await verify(file);
    expect(r.output).toBe(''); // warnings (unknown keys, bad values, unknown specifiers) are printed, not failed
    expect(r.code).toBe(0);

    const unit = parseUnit(text);
    expect(unit.execStart).toEqual([process.execPath, ENTRY]);
    expect(unit.env).toEqual({
      JJFS_DAEMON_ENV: '1',
      LD_LIBRARY_PATH: path.join(home, 'lib'),
      UV_THREADPOOL_SIZE: '64',
      PATH: '/usr/local/bin:/usr/bin:/bin',
      JJFS_HOME: home,
      JJFS_JJ: '/opt/jj $HOME/bin/jj',
    });
    expect(unit.settings).toMatchObject({
      Type: 'simple',
      WorkingDirectory: `-${home}`,
      Restart: 'on-failure',
      KillMode: 'mixed',
      KillSignal: 'SIGTERM',
      TimeoutStopSec: String(STOP_TIMEOUT_S),
      StandardOutput: `append:${path.join(home, 'sync.log')}`,
      StandardError: `append:${path.join(home, 'sync.log')}`,
      WantedBy: 'default.target',
    });
    // The stop timeout covers the daemon's final round (30 s) with room to unmount.
    expect(STOP_TIMEOUT_S).toBeGreaterThanOrEqual(60);
  });

  it('verify is not vacuous: it flags a bad value, an unknown key and an unescaped specifier', async () => {
    await mkdir(path.join(root, 'rt'), { mode: 0o700 });
    const text = renderService('systemd', spec(path.join(root, 'h%k'), 'linux'));
    for (const broken of [
      text.replace('Restart=on-failure', 'Restart=sometimes'),
      text.replace('KillMode=mixed', 'KillMode=mixed\nKillSignals=SIGTERM'),
      text.replace(/%%k/g, '%k'),
    ]) {
      const file = path.join(root, 'jjfs.service');
      await writeFile(file, broken);
      expect((await verify(file)).output).not.toBe('');
    }
  });

  it('refuses paths a unit cannot hold, naming the fix', () => {
    expect(() => renderService('systemd', spec(path.join(root, 'new\nline'), 'linux'))).toThrow(/control character .*JJFS_HOME/);
  });
});

describe('launchd plist', () => {
  it('parses as a property list with the launchd keys and values, escaped exactly', () => {
    const home = path.join(root, 'odd home %h %k $USER "q" \\ & <x>');
    const s = spec(home, 'darwin');
    const text = renderService('launchd', s);
    const parsed = plist.parse(text);
    expect(parsed).toEqual({
      Label: 'com.jjfs.daemon',
      ProgramArguments: [process.execPath, ENTRY],
      EnvironmentVariables: {
        JJFS_DAEMON_ENV: '1',
        UV_THREADPOOL_SIZE: '64',
        PATH: '/usr/local/bin:/usr/bin:/bin',
        JJFS_HOME: home,
        JJFS_JJ: '/opt/jj $HOME/bin/jj',
      },
      WorkingDirectory: home,
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false, Crashed: true },
      ThrottleInterval: 2,
      ExitTimeOut: STOP_TIMEOUT_S,
      ProcessType: 'Interactive',
      StandardOutPath: path.join(home, 'sync.log'),
      StandardErrorPath: path.join(home, 'sync.log'),
    });
    // Round trip through the parser's own writer gives the same property list.
    expect(plist.parse(plist.build(parsed))).toEqual(parsed);
  });

  it('the parser is not vacuous: broken XML is refused', () => {
    const text = renderService('launchd', spec(path.join(root, 'h'), 'darwin'));
    expect(() => plist.parse(text.replace('</array>', ''))).toThrow();
    expect(() => plist.parse(text.replace('<true/>', '<yes/>'))).toThrow();
  });
});
