import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allowOtherProblem } from '../src/fs/fuse-preflight.js';
import type { MountInfo } from '../src/rpc/protocol.js';
import { JjfsEnv, readOrUndefined, waitFor } from './helpers/jjfs-env.js';

// `jjfs open --allow-other` (issue 13): a second uid reaches the mount, the kernel checks its
// access against modes and owners as on a plain directory, and what it creates is its own.
const OTHER = 65534; // nobody

let env: JjfsEnv;
beforeEach(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test runs commands as a second uid and needs root (CI runs as root)');
  env = await JjfsEnv.create();
  // The second user must be able to reach the mount points at all.
  await chmod(env.root, 0o755);
});
afterEach(async () => {
  await env?.cleanup();
});

/** Runs `cmd` with sh as uid/gid OTHER; resolves with its exit code, stdout and stderr. */
function asOther(cmd: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile('setpriv', [`--reuid=${OTHER}`, `--regid=${OTHER}`, '--clear-groups', 'sh', '-c', cmd], { cwd, timeout: 30_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }),
    ),
  );
}

/** What the same commands give in a plain directory set up the same way (the reference). */
async function reference(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  return probe(dir);
}

/** Sets up owner-only, world-readable and shared files in `dir`, then asks what OTHER may do there. */
async function probe(dir: string): Promise<string[]> {
  await writeFile(path.join(dir, 'private.md'), 'mine\n', { mode: 0o600 });
  await chmod(path.join(dir, 'private.md'), 0o600);
  await writeFile(path.join(dir, 'public.md'), 'all may read\n');
  await chmod(path.join(dir, 'public.md'), 0o644);
  await mkdir(path.join(dir, 'shared'));
  await chmod(path.join(dir, 'shared'), 0o777);
  // A sticky directory: anyone may create, only the owner may delete or rename.
  await mkdir(path.join(dir, 'sticky'));
  await chmod(path.join(dir, 'sticky'), 0o1777);
  await writeFile(path.join(dir, 'sticky', 'roots.md'), 'root wrote this\n');
  await chmod(path.join(dir, 'sticky', 'roots.md'), 0o666);
  const answers: string[] = [];
  for (const cmd of [
    'cat private.md',
    'cat public.md',
    'echo more >> public.md',
    'echo x > created-at-root.md',
    'rm public.md',
    'chmod 777 public.md',
    'echo theirs > shared/theirs.md && stat -c "%u:%g %a" shared/theirs.md',
    'mkdir shared/sub && stat -c "%u:%g" shared/sub',
    'ln -s theirs.md shared/link && stat -c "%u:%g" -L shared/link && stat -c "%u" shared/link',
    'mkfifo shared/fifo && stat -c "%u:%g %F" shared/fifo',
    'chmod 600 shared/theirs.md && stat -c %a shared/theirs.md',
    'echo edit >> sticky/roots.md && cat sticky/roots.md',
    'rm -f sticky/roots.md',
    'mv sticky/roots.md sticky/moved.md',
    'echo mine > sticky/mine.md && rm sticky/mine.md && echo removed',
  ]) {
    const r = await asOther(cmd, dir);
    answers.push(`${cmd} -> ${r.code} ${r.stdout.trim()}${r.code !== 0 ? ` ${/Permission denied|Operation not permitted/.exec(r.stderr)?.[0] ?? r.stderr.trim()}` : ''}`);
  }
  return answers;
}

describe('open --allow-other', () => {
  it('lets a second uid in, with a plain directory\'s permission answers and its own files', async () => {
    const plain = await reference(path.join(env.root, 'plain'));
    // The answers must say something: denials where modes deny, and OTHER's own files.
    expect(plain.filter((a) => a.includes('Permission denied')).length).toBeGreaterThanOrEqual(4);
    expect(plain.find((a) => a.startsWith('echo theirs'))).toContain(`-> 0 ${OTHER}:${OTHER} 644`);

    const open = await env.run(['open', 'notes', path.join(env.root, 'shared-notes'), '--allow-other']);
    expect(open.code, open.stderr).toBe(0);
    const mnt = path.join(env.root, 'shared-notes');
    expect(await probe(mnt)).toEqual(plain);

    // What OTHER wrote reaches the other mounts (content; owners are not history's business).
    const b = await env.open('notes', 'b');
    await env.json(['sync', 'notes']);
    expect(await waitFor(async () => (await readOrUndefined(path.join(b, 'shared', 'theirs.md'))) === 'theirs\n', 20_000)).toBe(true);
    expect((await stat(path.join(mnt, 'shared', 'theirs.md'))).uid).toBe(OTHER);

    const listed = (await env.json<{ mounts: MountInfo[] }>(['list'])).mounts.find((m) => m.path === mnt)!;
    expect(listed).toMatchObject({ allowOther: true, state: 'mounted' });
    // Without the option the second uid cannot even enter (FUSE's default: the mounting user only).
    const denied = await asOther('ls', b);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Permission denied/);

    // The option survives a restart (persisted, remounted).
    expect((await env.run(['stop'])).code).toBe(0);
    expect((await env.run(['start'])).code).toBe(0);
    expect(await waitFor(async () => (await asOther('cat public.md', mnt)).stdout === 'all may read\n', 20_000)).toBe(true);
    expect(await readFile(path.join(mnt, 'shared', 'theirs.md'), 'utf8')).toBe('theirs\n');
  }, 120_000);

  it('is refused for a daemon that is not root unless /etc/fuse.conf allows it, naming the fix', async () => {
    const conf = path.join(env.root, 'fuse.conf');
    await writeFile(conf, '# mount_max = 1000\n#user_allow_other\n');
    expect(await allowOtherProblem(conf, 1000)).toMatch(/user_allow_other in .*fuse\.conf.*echo user_allow_other >>/);
    expect(await allowOtherProblem(path.join(env.root, 'missing.conf'), 1000)).toMatch(/user_allow_other/);
    await writeFile(conf, 'mount_max = 1000\n  user_allow_other  \n');
    expect(await allowOtherProblem(conf, 1000)).toBeUndefined();
    expect(await allowOtherProblem(path.join(env.root, 'missing.conf'), 0)).toBeUndefined();
  });
});
