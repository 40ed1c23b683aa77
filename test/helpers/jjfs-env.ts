import { execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = path.join(ROOT, 'bin', 'jjfs.cjs');
export const DAEMON_MAIN = path.join(ROOT, 'dist', 'daemon', 'main.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A throw-away jjfs installation: its own JJFS_HOME in a temp dir. `cleanup` stops every daemon
 * this env started (by pid, from daemon.json and from pids the test registered) and removes the dir.
 */
export class JjfsEnv {
  readonly pids = new Set<number>();

  private constructor(readonly home: string, readonly root: string) {}

  static async create(prefix = 'jjfs-test-'): Promise<JjfsEnv> {
    // Short base dir: the socket path must stay under 107 bytes.
    const root = await mkdtemp(path.join(os.tmpdir(), prefix));
    const env = new JjfsEnv(path.join(root, 'home'), root);
    live.add(env);
    return env;
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { ...process.env, JJFS_HOME: this.home, NO_COLOR: '1', ...extra };
  }

  /** Runs `jjfs ARGS` to completion. */
  run(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        { cwd: opts.cwd ?? this.root, env: opts.env ?? this.env(), timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 << 20 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          // A run killed by its timeout (or a signal) says so, so a failure is not a bare "exited 1".
          const killed = error?.killed || error?.signal ? `\n[jjfs ${args.join(' ')} killed: ${error.signal ?? 'timeout'}]` : '';
          resolve({ code, stdout, stderr: stderr + killed });
        },
      );
    });
  }

  /** Runs `jjfs ARGS --json` and parses stdout. */
  async json<T>(args: string[]): Promise<T> {
    const r = await this.run([...args, '--json']);
    if (r.code !== 0) throw new Error(`jjfs ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout) as T;
  }

  /** The daemon's log (`sync.log`), or '' before it wrote one. */
  daemonLog(): Promise<string> {
    return readFile(path.join(this.home, 'sync.log'), 'utf8').catch(() => '');
  }

  /** The pid in daemon.json, if any (and remembers it for cleanup). */
  async daemonPid(): Promise<number | undefined> {
    try {
      const info = JSON.parse(await readFile(path.join(this.home, 'daemon.json'), 'utf8')) as { pid: number };
      this.pids.add(info.pid);
      return info.pid;
    } catch {
      return undefined;
    }
  }

  /** Starts jjfsd directly (not through the CLI), returning the child. */
  spawnDaemon(env: NodeJS.ProcessEnv = this.env({ JJFS_DAEMON_ENV: '1' })) {
    const child = spawn(process.execPath, [DAEMON_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) this.pids.add(child.pid);
    return child;
  }

  /**
   * Stops this env's daemons, clears its mounts and removes its dir, within ~30 s whatever state
   * the daemon is in (well inside vitest's 60 s hook timeout): `jjfs stop` gets 12 s, SIGTERM
   * 8 s more, then SIGKILL by pid. Only processes this env started are signalled.
   */
  async cleanup(): Promise<void> {
    try {
      await this.daemonPid();
      const pids = [...this.pids].filter(isAlive);
      if (pids.length > 0) {
        // Ask nicely first so mounts are unmounted; then insist.
        await this.run(['stop'], { timeoutMs: 12_000 }).catch(() => undefined);
        for (const pid of pids) signal(pid, 'SIGTERM');
        const deadline = Date.now() + 8_000;
        while (Date.now() < deadline && pids.some(isAlive)) await sleep(50);
        for (const pid of pids) signal(pid, 'SIGKILL');
      }
      // A daemon that died without unmounting leaves stale mounts under our root: clear only ours.
      for (const mp of await mountPoints()) {
        if (mp.startsWith(`${this.root}/`)) {
          await new Promise((r) => execFile('umount', ['-l', mp], () => r(undefined)));
        }
      }
      await rm(this.root, { recursive: true, force: true });
    } finally {
      live.delete(this);
    }
  }

  /** Last resort when the test process exits with this env not cleaned up (a hook that timed out). */
  cleanupSync(): void {
    try {
      const info = JSON.parse(readFileSync(path.join(this.home, 'daemon.json'), 'utf8')) as { pid: number };
      this.pids.add(info.pid);
    } catch {
      // no daemon.json
    }
    for (const pid of this.pids) signal(pid, 'SIGKILL');
    for (const mp of readMountPointsSync()) {
      if (!mp.startsWith(`${this.root}/`)) continue;
      try {
        execFileSync('umount', ['-l', mp], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Opens REPO at root/NAME and returns the absolute mount path. */
  async open(repo: string, name: string): Promise<string> {
    const where = path.join(this.root, name);
    const r = await this.run(['open', repo, where]);
    if (r.code !== 0) throw new Error(`jjfs open ${repo} ${where} exited ${r.code}: ${r.stderr}`);
    return where;
  }

  /** `jj` on the private repo of `repo`, read-only (never snapshots a workspace). */
  jj(repo: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        path.join(ROOT, 'node_modules', '.bin', 'jj'),
        ['--ignore-working-copy', '--no-pager', '--color', 'never', ...args],
        { cwd: path.join(this.home, 'repos', repo, 'repo'), env: { ...process.env, JJ_CONFIG: path.join(this.home, 'jj-config.toml') } },
        (error, stdout, stderr) => (error ? reject(new Error(`jj ${args.join(' ')}: ${stderr}`)) : resolve(stdout)),
      );
    });
  }

  /** Number of commits in ::main of `repo`. */
  async commitCount(repo: string): Promise<number> {
    const out = await this.jj(repo, ['log', '-r', '::main', '--no-graph', '-T', '"x\\n"']);
    return out.split('\n').filter((l) => l === 'x').length;
  }
}

/** Envs not cleaned up yet: the exit hook below still owes them a cleanup. */
const live = new Set<JjfsEnv>();
// vitest abandons a hook that timed out, and the worker then exits: whatever that cleanup had not
// done yet is done here, synchronously (the only kind of work an 'exit' handler may do).
process.on('exit', () => {
  for (const env of live) env.cleanupSync();
});

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    if (isAlive(pid)) process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

function readMountPointsSync(): string[] {
  return parseMounts(readFileSync('/proc/mounts', 'utf8'));
}

function parseMounts(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** Reads a file, or undefined if it does not exist. */
export async function readOrUndefined(file: string): Promise<string | undefined> {
  const { readFile: rf } = await import('node:fs/promises');
  try {
    return await rf(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The error code of a filesystem call that must fail (undefined when it succeeded). */
export async function errorCode(op: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await op();
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
}

/** Mount points currently in /proc/mounts. */
export async function mountPoints(): Promise<string[]> {
  return parseMounts(await readFile('/proc/mounts', 'utf8'));
}
