/**
 * Test harness: serves a jjfs mount in a child process (test/helpers/serve-mount.mjs) and cleans up
 * everything it made — mount, child, temp dirs — even when a test fails.
 *
 * The vitest process only ever USES the mount; it never serves one (a process accessing a mount it
 * serves itself deadlocks).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuseProcessEnv } from '../../src/fs/fuse-env.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
const serveScript = path.join(here, 'serve-mount.mjs');

export interface ServedMount {
  /** Temp root holding backing/, mnt/ and the libfuse shim. */
  dir: string;
  backing: string;
  mnt: string;
  pid: number;
  /** Lines the server printed as `mut <path>` (with `mutations: true`). */
  mutations: string[];
  /** Closes the write gate (like the sync engine around a jj command); resolves once held. */
  hold(): Promise<void>;
  release(): Promise<void>;
  rss(): Promise<number>;
  /** Threads fuse-native set up for the mount so far (FuseMount.threadSetups). */
  threads(): Promise<number>;
  /** Workers the mount's request loop woke or started (FuseMount.loopHandovers; -1: unknown). */
  handovers(): Promise<number>;
  /** Requests the mount's request loop took on another worker than the one before (FuseMount.loopReaderChanges; -1: unknown). */
  readerChanges(): Promise<number>;
  /** Requests the mount's request loop found while looking for the next one after an answer (FuseMount.loopSpinCatches; -1: unknown). */
  spinCatches(): Promise<number>;
  /** readdir calls the mount answered (FuseMount.listingReads; -1: unknown). */
  listingReads(): Promise<number>;
  /**
   * Blocks the server's JS thread for `ms` (resolves once it is blocked); `done` resolves when it
   * runs again.
   */
  busy(ms: number): Promise<{ done: Promise<string> }>;
  /** Lazily unmounts while the server keeps running (processes inside keep being served). */
  unmountOnly(): Promise<void>;
  /** Kills the server with SIGKILL, leaving a stale mount behind (stop() still cleans up). */
  crash(): Promise<void>;
  /** Unmounts, stops the child, removes the temp dirs. Idempotent; never throws. */
  stop(): Promise<void>;
  stderr(): string;
}

export interface ServeOptions {
  /** Serve at this existing mount point instead of a fresh one (not removed at stop). */
  mnt?: string;
  readOnly?: boolean;
  /** Refuse writes in the pass-through (EROFS) without the kernel's `ro`, as the daemon's read-only views do. */
  refuseWrites?: boolean;
  options?: Record<string, unknown>;
  mutations?: boolean;
  /** Fill the backing dir before mounting. */
  setup?: (backing: string) => void;
  /** An existing backing dir (not removed at stop). */
  backing?: string;
  /** Long kernel name caches (serve-mount.mjs --kernel-cache: nothing invalidates them). */
  kernelCache?: boolean;
  /** Added to the server's environment (e.g. JJFS_FUSE_LOOP). */
  env?: Record<string, string>;
}

function assertBuilt(): void {
  const built = path.join(repoRoot, 'dist', 'fs', 'mount.js');
  if (!fs.existsSync(built)) {
    throw new Error(`${built} is missing: run \`npx tsc -p tsconfig.build.json\` (npm test does) before these tests`);
  }
}

function isMounted(mnt: string): boolean {
  const mounts = fs.readFileSync('/proc/mounts', 'utf8');
  return mounts.split('\n').some((l) => l.split(' ')[1] === mnt);
}

/** Starts a mount server; rejects (never skips) when FUSE cannot mount. */
export async function serveMount(opts: ServeOptions = {}): Promise<ServedMount> {
  assertBuilt();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jjfs-fuse-test-'));
  const backing = opts.backing ?? path.join(dir, 'backing');
  const mnt = opts.mnt ?? path.join(dir, 'mnt');
  fs.mkdirSync(backing, { recursive: true });
  if (!opts.mnt) fs.mkdirSync(mnt);
  opts.setup?.(backing);
  const args = [serveScript, backing, mnt];
  if (opts.readOnly) args.push('--ro');
  if (opts.refuseWrites) args.push('--refuse-writes');
  if (opts.mutations) args.push('--mutations');
  if (opts.options) args.push('--options', JSON.stringify(opts.options));
  if (opts.kernelCache) args.push('--kernel-cache');
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, args, {
    env: { ...fuseProcessEnv(process.env, path.join(dir, 'shim')), ...opts.env },
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  const mutations: string[] = [];
  const waiters: { prefix: string; resolve: (line: string) => void }[] = [];
  let buf = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('mut ')) mutations.push(line.slice(4));
      const i = waiters.findIndex((w) => line.startsWith(w.prefix));
      if (i >= 0) waiters.splice(i, 1)[0]!.resolve(line);
    }
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const waitLine = (prefix: string, timeoutMs = 15_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`mount server: no "${prefix}" within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      waiters.push({ prefix, resolve: (l) => (clearTimeout(t), resolve(l)) });
      void exited.then((code) => {
        clearTimeout(t);
        reject(new Error(`mount server exited (${code}) before "${prefix}"; stderr: ${stderr}`));
      });
    });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    // Only if this server's mount is still there (with opts.mnt another server may own it now).
    if (!opts.mnt && isMounted(mnt)) spawnSync('umount', ['-l', mnt]);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitLine('ready');
  } catch (err) {
    await stop();
    throw err;
  }
  if (child.pid === undefined) throw new Error('mount server has no pid');
  const send = async (cmd: string, reply: string): Promise<string> => {
    const p = waitLine(reply);
    child.stdin.write(cmd + '\n');
    return p;
  };
  return {
    dir,
    backing,
    mnt,
    pid: child.pid,
    mutations,
    hold: async () => void (await send('hold', 'held')),
    release: async () => void (await send('release', 'released')),
    rss: async () => Number((await send('rss', 'rss ')).slice(4)),
    threads: async () => Number((await send('threads', 'threads ')).slice(8)),
    handovers: async () => Number((await send('handovers', 'handovers ')).slice(10)),
    readerChanges: async () => Number((await send('reader-changes', 'reader-changes ')).slice(15)),
    spinCatches: async () => Number((await send('spin-catches', 'spin-catches ')).slice('spin-catches '.length)),
    listingReads: async () => Number((await send('listing-reads', 'listing-reads ')).slice(14)),
    busy: async (ms: number) => {
      const done = waitLine('busy-done', ms + 15_000);
      await send(`busy ${ms}`, 'busy');
      return { done };
    },
    unmountOnly: async () => void (await send('unmount', 'unmounted')),
    crash: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop,
    stderr: () => stderr,
  };
}

/** Runs a shell command with cwd `cwd` (default /); returns stdout, throws with stderr on failure. */
export function sh(cmd: string, cwd = '/'): string {
  const r = spawnSync('bash', ['-c', cmd], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`\`${cmd}\` failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** The errno code of a synchronous call, or 'OK'. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

/** Polls `cond` until true or `timeoutMs`; throws on timeout. */
export async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves with how `p` settled, or 'pending' if it has not by the time `other` settles. */
export async function settledBefore<T>(p: Promise<T>, other: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  const state = p.then(
    () => 'resolved' as const,
    () => 'rejected' as const,
  );
  return Promise.race([state, other.then(() => 'pending' as const)]);
}
