import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JjfsEnv } from './jjfs-env.js';

/** Runs git with `args` (cwd `cwd`) and resolves with stdout; rejects with stderr on failure. */
export function git(args: string[], cwd = '/', env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env: { ...env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } }, (error, stdout, stderr) =>
      error ? reject(new Error(`git ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
    );
  });
}

/** Creates an empty bare repository whose HEAD names `branch` (what a hosting service does). */
export async function bareRemote(dir: string, branch = 'main'): Promise<string> {
  await git(['init', '-q', '--bare', '-b', branch, dir]);
  return dir;
}

/** Content of `file` on `branch` of the bare repo `remote`, or undefined when absent. */
export async function remoteFile(remote: string, file: string, branch = 'main'): Promise<string | undefined> {
  try {
    return await git(['--git-dir', remote, 'show', `${branch}:${file}`]);
  } catch {
    return undefined;
  }
}

/** Commit subjects of `branch` in `remote`, newest first. */
export async function remoteLog(remote: string, branch = 'main'): Promise<string[]> {
  return (await git(['--git-dir', remote, 'log', '--format=%s', branch])).split('\n').filter(Boolean);
}

/**
 * Writes config.json of a daemon that has not started yet, so a test can set `push_interval`
 * (there is no command for it). The repos named get no jj repo: `jjfs init NAME` creates it.
 */
export async function preconfigure(env: JjfsEnv, repos: Record<string, { push_interval: number; push_delay?: number }>): Promise<void> {
  await mkdir(env.home, { recursive: true, mode: 0o700 });
  const entries = Object.fromEntries(Object.entries(repos).map(([name, r]) => [name, { remote: null, ...r }]));
  await writeFile(path.join(env.home, 'config.json'), `${JSON.stringify({ version: 1, repos: entries, mounts: [] }, null, 2)}\n`);
}

/**
 * A `git` wrapper placed first on the daemon's PATH, standing in for a misbehaving network:
 * - while `<dir>/hang` exists, `git fetch` hangs (sleeps with a unique argument the test can look for);
 * - once, when `<dir>/race` holds a command, that command runs right before a `git push` (someone
 *   else pushing between our fetch and our push), and the file is removed.
 * Everything else goes to the real git.
 */
export async function gitWrapper(dir: string): Promise<{ dir: string; sleepTag: string; pathEnv: string }> {
  const realGit = await new Promise<string>((resolve, reject) =>
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- e is an ExecFileException (an Error; the rule does not see through @types/node's Omit<>)
    execFile('sh', ['-c', 'command -v git'], (e, out) => (e ? reject(e) : resolve(out.trim()))),
  );
  await mkdir(dir, { recursive: true });
  const sleepTag = `600.${Date.now() % 100000}`;
  const script = [
    '#!/bin/sh',
    `dir=${JSON.stringify(dir)}`,
    'for a in "$@"; do',
    '  if [ "$a" = fetch ] && [ -e "$dir/hang" ]; then exec sleep ' + sleepTag + '; fi',
    // Moved aside first: the race command itself runs git through this wrapper.
    '  if [ "$a" = push ] && mv "$dir/race" "$dir/race.run" 2>/dev/null; then sh "$dir/race.run" >/dev/null 2>&1; break; fi',
    'done',
    `exec ${JSON.stringify(realGit)} "$@"`,
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'git'), script);
  await chmod(path.join(dir, 'git'), 0o755);
  return { dir, sleepTag, pathEnv: `${dir}:${process.env['PATH'] ?? ''}` };
}

/** Pids of live processes whose command line contains `needle` (to prove nothing was left hanging). */
export async function pidsWithArg(needle: string): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(needle)) found.push(Number(entry));
  }
  return found;
}
