/**
 * Unmounting and inspecting FUSE mounts from the outside: choosing an unmount tool, listing FUSE
 * mounts from /proc/mounts, and detecting stale mounts ("Transport endpoint is not connected").
 *
 * Nothing here touches a mount point from this process's own threads: probes run in a child
 * process, because a process that serves a FUSE mount deadlocks when it accesses that mount
 * synchronously (and can starve its libuv pool doing it asynchronously; docs/fuse.md).
 */
import { execFile, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';

/** The programs that can unmount a FUSE file system. */
export type UnmountTool = 'umount' | 'fusermount' | 'fusermount3';

/** A FUSE mount as listed in /proc/mounts (octal escapes such as `\040` decoded). */
export interface FuseMountEntry {
  /** Mount point. */
  path: string;
  /** Source field, e.g. the `fsname=` mount option (`jjfs` or `jjfs:<name>`). */
  fsname: string;
  /** `fuse`, `fuse.<subtype>` or `fuseblk`. */
  type: string;
  /** Kernel-visible mount options (`rw`, `user_id=0`, `allow_other`, ...). */
  options: string[];
}

/** An unmount attempt failed; carries the tool, its arguments and its stderr. */
export class UnmountError extends Error {
  override readonly name = 'UnmountError';
  constructor(
    readonly mountPath: string,
    readonly tool: UnmountTool,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${tool} ${args.join(' ')} failed (exit ${exitCode ?? 'signal'}): ${stderr.trim() || 'no output'}`);
  }
}

/** No unmount tool is available. */
export class NoUnmountToolError extends Error {
  override readonly name = 'NoUnmountToolError';
  constructor(readonly mountPath: string) {
    super(
      `cannot unmount ${mountPath}: no unmount tool found (need \`umount\` as root, else \`fusermount\` or \`fusermount3\`; ` +
        'install with `apt-get install fuse3`)',
    );
  }
}

/** Result of probing a mount point from a child process. */
export type MountProbe =
  | { state: 'ok' }
  /** The serving process is gone: "Transport endpoint is not connected" (ENOTCONN). */
  | { state: 'stale' }
  | { state: 'absent' }
  /** The probe did not answer within the timeout: the server is alive but stuck (or very slow). */
  | { state: 'hung' }
  | { state: 'error'; message: string };

const isRoot = (): boolean => process.getuid?.() === 0;

async function onPath(program: string, envPath = process.env.PATH ?? ''): Promise<string | undefined> {
  const dirs = [...envPath.split(path.delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, program);
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // try the next directory
    }
  }
  return undefined;
}

/**
 * The unmount tool this process can use: as root `umount` (plain umount(2) needs no setuid
 * helper), otherwise the setuid `fusermount` / `fusermount3`. Undefined when none is usable.
 */
export async function findUnmountTool(): Promise<UnmountTool | undefined> {
  const order: UnmountTool[] = isRoot() ? ['umount', 'fusermount', 'fusermount3'] : ['fusermount', 'fusermount3'];
  for (const tool of order) {
    if (await onPath(tool)) return tool;
  }
  return undefined;
}

function unmountArgs(tool: UnmountTool, mountPath: string, lazy: boolean): string[] {
  if (tool === 'umount') return lazy ? ['-l', mountPath] : [mountPath];
  return [lazy ? '-uz' : '-u', mountPath];
}

/**
 * Unmounts a FUSE mount with the right tool (root: `umount [-l]`; else `fusermount -u[z]` or
 * `fusermount3 -u[z]`). `lazy` detaches it even while busy or stale. Rejects with
 * {@link UnmountError} (tool + stderr) or {@link NoUnmountToolError}.
 *
 * Safe to call from the process serving the mount: the tool runs in a child and the event loop
 * stays free to answer whatever the tool asks the mount.
 */
export async function unmount(mountPath: string, opts: { lazy?: boolean } = {}): Promise<void> {
  const abs = path.resolve(mountPath);
  const tool = await findUnmountTool();
  if (!tool) throw new NoUnmountToolError(abs);
  const args = unmountArgs(tool, abs, opts.lazy ?? false);
  await new Promise<void>((resolve, reject) => {
    execFile(tool, args, { timeout: 30_000, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const code = typeof err.code === 'number' ? err.code : null;
      reject(new UnmountError(abs, tool, args, code, stderr || err.message));
    });
  });
}

/** Decodes the octal escapes /proc/mounts uses for space, tab, newline and backslash. */
export function decodeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses /proc/mounts text, keeping FUSE mounts only (`fuse`, `fuse.*`, `fuseblk`). */
export function parseFuseMounts(procMounts: string): FuseMountEntry[] {
  const out: FuseMountEntry[] = [];
  for (const line of procMounts.split('\n')) {
    const [source, target, type, options] = line.split(' ');
    if (!source || !target || !type) continue;
    if (type !== 'fuse' && type !== 'fuseblk' && !type.startsWith('fuse.')) continue;
    out.push({
      path: decodeMountField(target),
      fsname: decodeMountField(source),
      type,
      options: options ? options.split(',') : [],
    });
  }
  return out;
}

/** Lists current FUSE mounts (reads /proc/mounts; never touches the mounts themselves). */
export async function listFuseMounts(): Promise<FuseMountEntry[]> {
  return parseFuseMounts(await readFile('/proc/mounts', 'utf8'));
}

/**
 * Probes a mount point by running `stat` in a child process, killed after `timeoutMs`.
 * Use only for mounts this process does NOT serve (e.g. at daemon start, before mounting, or
 * from the CLI): a mount served by the calling process would be answered by it anyway, but the
 * point is never to make a serving process wait on itself.
 */
export function probeMount(mountPath: string, timeoutMs = 5_000): Promise<MountProbe> {
  const abs = path.resolve(mountPath);
  // Stat the mount point AND a name that cannot exist: the mount point's attributes may be served
  // from the kernel's attribute cache even after the server died, a lookup of a fresh random name
  // always reaches the server (or fails with ENOTCONN when there is none).
  const missing = path.join(abs, `.jjfs-probe-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  return new Promise((resolve) => {
    const child = spawn('stat', ['-c', '%i', '--', abs, missing], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // cwd must not be inside a FUSE mount (spawn with cwd on one's own mount hangs).
      cwd: '/',
    });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (p: MountProbe): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(p);
    };
    const timer = setTimeout(() => {
      if (child.pid !== undefined) child.kill('SIGKILL');
      finish({ state: 'hung' });
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.stderr.on('data', (d: string) => (stderr += d));
    child.on('error', (err) => finish({ state: 'error', message: `cannot run stat: ${err.message}` }));
    child.on('close', () => {
      if (/Transport endpoint is not connected/i.test(stderr)) return finish({ state: 'stale' });
      // The mount point itself printed an inode: alive (the random name is expected to be ENOENT).
      if (stdout.trim().length > 0) return finish({ state: 'ok' });
      if (/No such file or directory/i.test(stderr)) return finish({ state: 'absent' });
      finish({ state: 'error', message: stderr.trim() || 'stat printed nothing' });
    });
  });
}

/**
 * True when `mountPath` answers ENOTCONN ("Transport endpoint is not connected"): a FUSE mount
 * whose serving process died. Runs the check in a child process (see {@link probeMount}); callers
 * use it only for mounts they do not serve themselves.
 */
export async function isStale(mountPath: string, timeoutMs?: number): Promise<boolean> {
  return (await probeMount(mountPath, timeoutMs)).state === 'stale';
}

/**
 * Lazily unmounts `mountPath` if it is stale. Resolves true when it was stale and is now clear,
 * false when it was not stale (nothing done). Rejects if the unmount fails or it is still stale.
 */
export async function clearStaleMount(mountPath: string): Promise<boolean> {
  if (!(await isStale(mountPath))) return false;
  await unmount(mountPath, { lazy: true });
  if (await isStale(mountPath)) throw new Error(`${mountPath} is still stale after a lazy unmount`);
  return true;
}
