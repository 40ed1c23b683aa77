import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { checkPaths, type Paths } from '../config/paths.js';
import { JjfsError } from '../errors.js';
import { DAEMON_ENTRY, daemonEnv } from '../launch/daemon-env.js';
import { kindOfExitCode } from '../exit-codes.js';
import { readFrom, sizeOf } from '../util/files.js';

/**
 * Starts jjfsd detached, its output appended to the log, and waits until `isReady` says it
 * answers. If it exits first, its own fatal message (lines starting with "jjfsd:") becomes the
 * error; if it exits because another daemon won the start race, we keep waiting for that one.
 */
export async function startDaemon(paths: Paths, isReady: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  checkPaths(paths);
  try {
    mkdirSync(paths.home, { recursive: true, mode: 0o700 });
    mkdirSync(path.dirname(paths.logFile), { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new JjfsError(
      'environment',
      `Cannot create ${paths.home} (${(error as Error).message}). Make it writable, or set JJFS_HOME to a directory you own.`,
    );
  }
  const logOffset = sizeOf(paths.logFile);
  const fd = openSync(paths.logFile, 'a', 0o600);
  let exited: { code: number | null } | undefined;
  try {
    const child = spawn(process.execPath, [DAEMON_ENTRY], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: await daemonEnv(paths),
      cwd: paths.home,
    });
    child.on('exit', (code) => {
      exited = { code };
    });
    child.unref();
  } finally {
    closeSync(fd);
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isReady()) return;
    if (exited && kindOfExitCode(exited.code ?? 1) !== 'already-exists') {
      const fatal = fatalLines(paths.logFile, logOffset);
      const reason = fatal.length > 0 ? fatal.join('; ') : `it exited with code ${exited.code}`;
      throw new JjfsError(kindOfExitCode(exited.code ?? 1) ?? 'daemon-unavailable', `jjfsd could not start: ${reason}`);
    }
    await new Promise((r) => setTimeout(r, 40));
  }
  throw new JjfsError(
    'daemon-unavailable',
    `jjfsd did not answer within ${timeoutMs / 1000} s. See ${paths.logFile}.`,
  );
}

/**
 * The daemon's `jjfsd: …` fatal lines written to the log from byte `offset` on (the log's size
 * before this start), without the prefix.
 */
export function fatalLines(logFile: string, offset: number): string[] {
  return readFrom(logFile, offset)
    .split('\n')
    .filter((l) => l.startsWith('jjfsd: '))
    .map((l) => l.slice(7));
}
