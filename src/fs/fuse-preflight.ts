/**
 * The preflight: can this process serve FUSE mounts at all? Run by the daemon before it mounts
 * anything; `jjfs doctor` shares its /dev/fuse probe.
 */
import { open, readFile } from 'node:fs/promises';
import { loadFuse } from './fuse-loader.js';
import { findUnmountTool, type UnmountTool } from './unmount.js';

/**
 * Whether /dev/fuse opens read-write. `problem` is the finding in words, the same for every caller
 * ({@link checkFuse}, `jjfs doctor`); each caller words its own fix.
 */
export type FuseDeviceProbe = { ok: true } | { ok: false; missing: boolean; problem: string };

/** Opens /dev/fuse read-write and closes it again: what mounting needs from the device. */
export async function probeFuseDevice(): Promise<FuseDeviceProbe> {
  try {
    const fh = await open('/dev/fuse', 'r+');
    await fh.close();
    return { ok: true };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? { ok: false, missing: true, problem: '/dev/fuse does not exist' }
      : { ok: false, missing: false, problem: `/dev/fuse cannot be opened read-write (${code ?? String(err)})` };
  }
}

/** What {@link checkFuse} found: ready (and how well), or every problem with its fix. */
export type FuseCheck =
  | { ok: true; mtimeFixed: boolean; unmountTool: UnmountTool }
  | { ok: false; problems: Array<{ problem: string; fix: string }> };

/**
 * Checks that this process can serve FUSE mounts: Linux, /dev/fuse openable read-write, fuse-native
 * loadable here (so call it in a process started with `fuseProcessEnv`, fuse-env.ts), an unmount tool.
 */
export async function checkFuse(): Promise<FuseCheck> {
  const problems: Array<{ problem: string; fix: string }> = [];
  if (process.platform === 'darwin') {
    return {
      ok: false,
      problems: [{ problem: 'macOS: jjfs needs macFUSE and is untested there', fix: 'install macFUSE (https://osxfuse.github.io); expect rough edges' }],
    };
  }
  if (process.platform !== 'linux') {
    return { ok: false, problems: [{ problem: `unsupported platform ${process.platform}`, fix: 'run jjfs on Linux' }] };
  }

  const device = await probeFuseDevice();
  if (!device.ok) {
    problems.push({
      problem: device.problem,
      fix: device.missing
        ? 'run `modprobe fuse`; in a container start it with `--device /dev/fuse --cap-add SYS_ADMIN`'
        : 'run as root or make /dev/fuse mode 0666 (the fuse3 package does); in a container add `--device /dev/fuse --cap-add SYS_ADMIN`',
    });
  }

  let mtimeFixed = false;
  try {
    // The stock prebuild is not a problem, only worse: reported through mtimeFixed.
    mtimeFixed = loadFuse().mtimeFixed;
  } catch (err) {
    problems.push({
      problem: `fuse-native cannot be loaded in this process: ${err instanceof Error ? err.message : String(err)}`,
      fix: 'start the process with fuseProcessEnv() (LD_LIBRARY_PATH with the libfuse.so.2 shim), or run `node native-shims/build-fuse.mjs`, or `apt-get install libfuse2`',
    });
  }

  const unmountTool = await findUnmountTool();
  if (!unmountTool) {
    problems.push({
      problem: 'no unmount tool (`umount` as root, else `fusermount`/`fusermount3`)',
      fix: process.getuid?.() === 0 ? 'install util-linux (`umount`) or `apt-get install fuse3`' : '`apt-get install fuse3` (provides the setuid fusermount3 and fusermount)',
    });
  }

  if (problems.length > 0 || !unmountTool) return { ok: false, problems };
  return { ok: true, mtimeFixed, unmountTool };
}

/**
 * Why this process may not mount with `allow_other`, or undefined when it may: root always may;
 * another user only when /etc/fuse.conf has a `user_allow_other` line (fusermount refuses the
 * option otherwise). `fuseConf` is the file to read (tests).
 */
export async function allowOtherProblem(fuseConf = '/etc/fuse.conf', uid = process.getuid?.()): Promise<string | undefined> {
  if (uid === 0) return undefined;
  const text = await readFile(fuseConf, 'utf8').catch(() => '');
  if (text.split('\n').some((line) => line.trim() === 'user_allow_other')) return undefined;
  return (
    `--allow-other needs the line user_allow_other in ${fuseConf} because jjfsd does not run as root ` +
    `(FUSE refuses the option otherwise). Add it as root (echo user_allow_other >> ${fuseConf}), or open the mount without --allow-other.`
  );
}
