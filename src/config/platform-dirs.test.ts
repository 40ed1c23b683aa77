import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { platformDirs } from './platform-dirs.js';

/** env-paths' answer for `jjfs` in a fresh process with `env` (it reads the environment at load). */
function envPathsIn(env: NodeJS.ProcessEnv): Promise<{ data: string; config: string; log: string }> {
  const script = "import envPaths from 'env-paths'; const p = envPaths('jjfs', { suffix: '' }); console.log(JSON.stringify({ data: p.data, config: p.config, log: p.log }));";
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], { env, cwd: path.resolve(import.meta.dirname, '../..') }, (err, stdout) =>
      err ? reject(new Error(err.message)) : resolve(JSON.parse(stdout) as { data: string; config: string; log: string }),
    ),
  );
}

describe('platformDirs', () => {
  it.runIf(process.platform === 'linux')('gives the directories env-paths gives, with and without the XDG variables', async () => {
    const base = { PATH: process.env['PATH'] ?? '', HOME: '/home/someone' };
    for (const env of [base, { ...base, XDG_DATA_HOME: '/d', XDG_CONFIG_HOME: '/c', XDG_STATE_HOME: '/s' }, { ...base, XDG_DATA_HOME: '' }]) {
      expect(platformDirs('jjfs', env, 'linux', '/home/someone')).toEqual(await envPathsIn(env));
    }
  });

  it('follows the macOS and Windows conventions', () => {
    expect(platformDirs('jjfs', {}, 'darwin', '/Users/me')).toEqual({
      data: '/Users/me/Library/Application Support/jjfs',
      config: '/Users/me/Library/Preferences/jjfs',
      log: '/Users/me/Library/Logs/jjfs',
    });
    const win = platformDirs('jjfs', { APPDATA: '/r', LOCALAPPDATA: '/l' }, 'win32', '/h');
    expect(win).toEqual({ data: path.join('/l', 'jjfs', 'Data'), config: path.join('/r', 'jjfs', 'Config'), log: path.join('/l', 'jjfs', 'Log') });
  });
});
