import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CLI, type JjfsEnv, waitFor } from './jjfs-env.js';

/** One `log --json` entry, as the tests read it. */
export interface Entry {
  commit: string;
  time: string;
  by: string;
  mount: string | null;
  action?: string;
  summary: string;
  files: Array<{ path: string; status: string; added: number; removed: number }>;
}

/** Runs `jjfs ARGS` and returns stdout as raw bytes (for `show`). */
export function runBytes(env: JjfsEnv, args: string[], cwd: string): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env: env.env(), encoding: 'buffer', maxBuffer: 64 << 20, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr: stderr.toString('utf8') });
    });
  });
}

/** `jjfs ARGS --json` run in `cwd`, parsed; throws with stderr on a non-zero exit. */
export async function jsonIn<T>(env: JjfsEnv, args: string[], cwd: string): Promise<T> {
  const r = await env.run([...args, '--json'], { cwd });
  if (r.code !== 0) throw new Error(`jjfs ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Waits until `file` holds exactly `bytes` in every one of `dirs` (absent: undefined). */
export async function seenEverywhere(dirs: string[], file: string, bytes: Buffer | undefined, timeoutMs = 15_000): Promise<boolean> {
  return waitFor(async () => {
    for (const dir of dirs) {
      const got = await readFile(path.join(dir, file)).catch(() => undefined);
      if (bytes === undefined ? got !== undefined : !got?.equals(bytes)) return false;
    }
    return true;
  }, timeoutMs);
}

/** Forces a round and checks it converged. */
export async function syncRepo(env: JjfsEnv, repo: string): Promise<void> {
  const { rounds } = await env.json<{ rounds: Array<{ converged: boolean; problems: string[] }> }>(['sync', repo]);
  if (!rounds[0]?.converged) throw new Error(`sync did not converge: ${JSON.stringify(rounds)}`);
}

/** An instant half-way between two ISO times. */
export function between(older: string, newer: string): string {
  return new Date((Date.parse(older) + Date.parse(newer)) / 2).toISOString();
}
