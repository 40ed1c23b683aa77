import os from 'node:os';
import path from 'node:path';

/** Where a program's data, config and log files go by the platform's conventions. */
export interface PlatformDirs {
  data: string;
  config: string;
  log: string;
}

/**
 * The platform's directories for `name`: the XDG base directories on Linux and other Unixes
 * (`XDG_DATA_HOME`, `XDG_CONFIG_HOME`, `XDG_STATE_HOME`, else `~/.local/share`, `~/.config`,
 * `~/.local/state`), `~/Library/{Application Support,Preferences,Logs}` on macOS, and
 * `%LOCALAPPDATA%`/`%APPDATA%` on Windows — the same places the env-paths package gives (a unit
 * test compares the two). Written out here because importing env-paths cost ~15 ms of every CLI
 * start (measured: 15–17 ms on Node 20), a sixth of `jjfs list`.
 */
export function platformDirs(name: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform, home: string = os.homedir()): PlatformDirs {
  if (platform === 'darwin') {
    const library = path.join(home, 'Library');
    return { data: path.join(library, 'Application Support', name), config: path.join(library, 'Preferences', name), log: path.join(library, 'Logs', name) };
  }
  if (platform === 'win32') {
    const appData = env['APPDATA'] || path.join(home, 'AppData', 'Roaming');
    const localAppData = env['LOCALAPPDATA'] || path.join(home, 'AppData', 'Local');
    return { data: path.join(localAppData, name, 'Data'), config: path.join(appData, name, 'Config'), log: path.join(localAppData, name, 'Log') };
  }
  return {
    data: path.join(env['XDG_DATA_HOME'] || path.join(home, '.local', 'share'), name),
    config: path.join(env['XDG_CONFIG_HOME'] || path.join(home, '.config'), name),
    log: path.join(env['XDG_STATE_HOME'] || path.join(home, '.local', 'state'), name),
  };
}
