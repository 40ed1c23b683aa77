/**
 * `jjfs doctor`, part 1: what this machine must provide. Each check says what it found and, when
 * something is wrong, how to fix it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Paths } from '../config/paths.js';
import { fuseProcessEnv } from '../fs/fuse-env.js';
import { probeFuseDevice } from '../fs/fuse-preflight.js';
import { findUnmountTool } from '../fs/unmount.js';
import { distPath } from '../package-root.js';
import { JJ_NPM_PACKAGE, JjUnavailableError, locateJj, MIN_JJ_VERSION } from '../sync/jj-locate.js';
import type { FuseChildReport } from './fuse-child.js';

/** One finding. `fix` is present exactly when `ok` is false. */
export interface Check {
  name: string;
  /** `problem`: something is broken (doctor exits 1); `warning`: worth knowing, a choice or an
   * optional piece (exit 0 unless `--strict`). Warnings and problems carry a fix. */
  level: 'ok' | 'warning' | 'problem';
  /** false exactly for a problem. */
  ok: boolean;
  detail: string;
  fix?: string;
}

export const ok = (name: string, detail: string): Check => ({ name, level: 'ok', ok: true, detail });
export const warning = (name: string, detail: string, fix: string): Check => ({ name, level: 'warning', ok: true, detail, fix });
export const problem = (name: string, detail: string, fix: string): Check => ({ name, level: 'problem', ok: false, detail, fix });

/** jj: found, runnable and new enough (the same search the daemon does). */
export async function checkJj(env: NodeJS.ProcessEnv): Promise<Check> {
  try {
    const jj = await locateJj(env);
    return ok('jj', `${jj.path} (jj ${jj.version}, from ${jj.source})`);
  } catch (error) {
    if (!(error instanceof JjUnavailableError)) throw error;
    const install =
      `install jj >= ${MIN_JJ_VERSION}: \`npm i ${JJ_NPM_PACKAGE}@0.32.0\`, a release from ` +
      'https://github.com/jj-vcs/jj/releases, or `cargo install --locked jj-cli`';
    return problem(
      'jj',
      `no usable jj found (tried: ${error.tried.join('; ') || 'nothing'})`,
      env.JJFS_JJ ? `JJFS_JJ=${env.JJFS_JJ} is set: point it at a jj >= ${MIN_JJ_VERSION} or unset it; or ${install}` : `${install}; or point JJFS_JJ at one`,
    );
  }
}

/** /dev/fuse exists and opens read-write. */
export async function checkFuseDevice(): Promise<Check> {
  if (process.platform === 'darwin') {
    return problem('/dev/fuse', 'macOS: jjfs needs macFUSE and is untested there', 'install macFUSE (https://osxfuse.github.io) and expect rough edges');
  }
  const device = await probeFuseDevice();
  if (device.ok) return ok('/dev/fuse', 'opens read-write');
  return device.missing
    ? problem('/dev/fuse', device.problem, 'run `modprobe fuse`; in a container, start it with `--device /dev/fuse --cap-add SYS_ADMIN`')
    : problem('/dev/fuse', device.problem, 'install fuse3 (it makes /dev/fuse mode 0666) or run as root; in a container add `--device /dev/fuse --cap-add SYS_ADMIN`');
}

/** An unmount tool the daemon can use. */
export async function checkUnmountTool(): Promise<Check> {
  const tool = await findUnmountTool();
  if (tool) return ok('unmount tool', tool);
  return problem(
    'unmount tool',
    process.getuid?.() === 0 ? 'neither umount nor fusermount/fusermount3 found' : 'no fusermount or fusermount3 found (needed without root)',
    '`apt-get install fuse3` (provides fusermount3 and fusermount)',
  );
}

/**
 * libfuse loads the way jjfsd loads it: in a child started with the daemon's environment (the
 * libfuse.so.2 shim on LD_LIBRARY_PATH only works when set before the process starts).
 */
export async function checkLibfuse(paths: Paths): Promise<Check> {
  // Use the daemon's shim dir when its home exists; otherwise a throw-away one (doctor creates no home).
  const tmp = existsSync(paths.home) ? undefined : await mkdtemp(path.join(os.tmpdir(), 'jjfs-doctor-'));
  try {
    const env = fuseProcessEnv(process.env, tmp ? path.join(tmp, 'lib') : paths.shimDir);
    const child = distPath('doctor', 'fuse-child.js');
    const out = await new Promise<{ stdout: string; stderr: string; failed?: string }>((resolve) => {
      execFile(process.execPath, [child], { env, timeout: 30_000, cwd: '/' }, (error, stdout, stderr) =>
        resolve({ stdout, stderr, ...(error ? { failed: error.message } : {}) }),
      );
    });
    let report: FuseChildReport | undefined;
    try {
      report = JSON.parse(out.stdout.trim().split('\n').pop() ?? '') as FuseChildReport;
    } catch {
      report = undefined;
    }
    if (!report) return problem('libfuse', `the check could not run: ${(out.stderr || out.failed || 'no output').trim()}`, 'reinstall jjfs (`npm ci`), then run jjfs doctor again');
    if (!report.ok) {
      return problem('libfuse', `fuse-native does not load with the daemon's environment: ${report.error}`, 'run `node native-shims/build-fuse.mjs` in the jjfs package (or `npm ci` there), or `apt-get install libfuse2`');
    }
    if (!report.mtimeFixed) {
      return problem('libfuse', 'loads, but the stock fuse-native addon is in use: mtimes set through a mount (touch -m, cp -p, tar, make) are wrong', 'rebuild the patched addon: `node native-shims/build-fuse.mjs` in the jjfs package (needs make and g++)');
    }
    return ok('libfuse', `loads (${report.source === 'patched' ? 'patched fuse-native with the mtime fix' : report.source})`);
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}
