import { statSync } from 'node:fs';
import path from 'node:path';
import { JjfsError } from '../errors.js';
import { platformDirs } from './platform-dirs.js';

/** Where jjfs keeps everything on disk. */
export interface Paths {
  /** Root of the daemon's state (repos, lock, socket); `JJFS_HOME` when set. */
  readonly home: string;
  readonly configFile: string;
  readonly socket: string;
  readonly lockFile: string;
  /** Registration file `{ pid, socket, version }`, written by the running daemon, removed by it. */
  readonly daemonInfo: string;
  readonly logFile: string;
  readonly reposDir: string;
  /** Directory holding the `libfuse.so.2` shim used when the system has no libfuse 2. */
  readonly shimDir: string;
}

/** Linux's sun_path holds 108 bytes including the NUL; macOS's holds 104. */
export const MAX_SOCKET_PATH = process.platform === 'darwin' ? 103 : 107;

/**
 * Resolves the on-disk layout. `JJFS_HOME` puts everything under one directory (tests always use
 * it); otherwise the platform's places (XDG on Linux, ~/Library on macOS; see platform-dirs.ts).
 */
export function resolvePaths(env: NodeJS.ProcessEnv = process.env): Paths {
  const override = env['JJFS_HOME'];
  if (override !== undefined && override !== '') {
    const home = path.resolve(override);
    return layout(home, home, home);
  }
  const p = platformDirs('jjfs', env);
  return layout(p.data, p.config, p.log);
}

function layout(home: string, configDir: string, logDir: string): Paths {
  return {
    home,
    configFile: path.join(configDir, 'config.json'),
    socket: path.join(home, 'daemon.sock'),
    lockFile: path.join(home, 'daemon.lock'),
    daemonInfo: path.join(home, 'daemon.json'),
    logFile: path.join(logDir, 'sync.log'),
    reposDir: path.join(home, 'repos'),
    shimDir: path.join(home, 'lib'),
  };
}

/** The home of repo `name`: the private jj repo is `<it>/repo`, workspaces `<it>/workspaces/<id>`. */
export function repoHome(paths: Paths, name: string): string {
  return path.join(paths.reposDir, name);
}

/**
 * Checks what the daemon cannot work without, before anything is created: the home must be a
 * directory (or not exist yet) and the socket path must fit in a sockaddr_un.
 */
export function checkPaths(paths: Paths): void {
  for (const dir of new Set([paths.home, path.dirname(paths.configFile), path.dirname(paths.logFile)])) {
    let st;
    try {
      st = statSync(dir);
    } catch {
      continue; // created later
    }
    if (!st.isDirectory()) {
      throw new JjfsError(
        'environment',
        `${dir} is not a directory, so jjfs cannot keep its state there. ` +
          `Point JJFS_HOME at a directory (or unset it), or move the file away.`,
      );
    }
  }
  const bytes = Buffer.byteLength(paths.socket);
  if (bytes > MAX_SOCKET_PATH) {
    throw new JjfsError(
      'environment',
      `The daemon socket path ${paths.socket} is ${bytes} bytes long; Unix sockets allow at most ` +
        `${MAX_SOCKET_PATH}. Set JJFS_HOME to a shorter directory (e.g. ~/.jjfs).`,
    );
  }
}
