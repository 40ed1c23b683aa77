/**
 * The process environment a FUSE-serving process needs, which must be in place before that process
 * starts: `LD_LIBRARY_PATH` with a libfuse.so.2 shim for the stock fuse-native prebuild, and a large
 * libuv thread pool (docs/fuse.md). Loads no native code, so the CLI and the service renderer can
 * import it cheaply.
 */
import { mkdirSync, readlinkSync, renameSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

function stockFuseDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('fuse-native/package.json'));
}

/**
 * Ensures `shimDir/libfuse.so.2` is a symlink to the libfuse that fuse-native's prebuild ships
 * (`<fuse-native>/prebuilds/linux-x64/libfuse.so`). Returns the shim dir. Idempotent; replaces a
 * link pointing elsewhere (e.g. after fuse-native moved) atomically.
 */
export function ensureLibfuseShim(shimDir: string): string {
  const target = path.join(stockFuseDir(), 'prebuilds', `${process.platform}-${process.arch}`, 'libfuse.so');
  const link = path.join(shimDir, 'libfuse.so.2');
  mkdirSync(shimDir, { recursive: true });
  let current: string | undefined;
  try {
    current = readlinkSync(link);
  } catch {
    current = undefined;
  }
  if (current !== target) {
    const tmp = `${link}.${process.pid}.tmp`;
    symlinkSync(target, tmp);
    renameSync(tmp, link); // atomic: a concurrently starting process sees the old or the new link
  }
  return shimDir;
}

/** Minimum libuv pool for processes serving FUSE mounts. */
const MIN_THREADPOOL = 64;

/**
 * Environment for a process that will load fuse-native (the daemon; test children):
 * - `LD_LIBRARY_PATH` prefixed with {@link ensureLibfuseShim}(shimDir). Always, not only when the
 *   system lacks libfuse.so.2: one tested library everywhere (the one fuse-native ships), and it
 *   only affects libfuse.so.2 lookups. It must be in place before the process starts (the dynamic
 *   loader reads it once; `process.dlopen` of the lib first does not help).
 * - `UV_THREADPOOL_SIZE` at least 64: every FUSE op handler runs its fs call on the libuv pool; if
 *   anything in the process makes async calls that end up on one of our mounts (directly, or jj /
 *   watcher work touching them), those calls can occupy the whole pool while waiting for handlers
 *   that need the pool themselves: a deadlock (seen with 8 reads and the default 4). Many mounts
 *   multiply the concurrency. Threads are cheap and idle; libuv caps the value at 1024.
 */
export function fuseProcessEnv(baseEnv: NodeJS.ProcessEnv, shimDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...baseEnv };
  if (process.platform === 'linux') {
    const dir = ensureLibfuseShim(shimDir);
    const rest = (baseEnv.LD_LIBRARY_PATH ?? '').split(':').filter((p) => p !== '' && p !== dir);
    env.LD_LIBRARY_PATH = [dir, ...rest].join(':');
  }
  env.UV_THREADPOOL_SIZE = fuseThreadPoolSize(baseEnv);
  return env;
}

/** The `UV_THREADPOOL_SIZE` a FUSE-serving process gets: `baseEnv`'s if larger, else the minimum. */
export function fuseThreadPoolSize(baseEnv: NodeJS.ProcessEnv): string {
  const pool = Number.parseInt(baseEnv.UV_THREADPOOL_SIZE ?? '', 10);
  return String(Number.isFinite(pool) && pool > MIN_THREADPOOL ? pool : MIN_THREADPOOL);
}
