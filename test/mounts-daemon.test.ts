import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive, JjfsEnv, mountPoints, waitFor } from './helpers/jjfs-env.js';

let env: JjfsEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
});
afterEach(async () => {
  await env.cleanup();
});

async function snapshotState() {
  const config = await readFile(path.join(env.home, 'config.json'), 'utf8').catch(() => '');
  const repos = await readdir(path.join(env.home, 'repos')).catch(() => [] as string[]);
  const workspaces = await Promise.all(repos.map((r) => readdir(path.join(env.home, 'repos', r, 'workspaces')).catch(() => [])));
  return { config, workspaces: workspaces.flat().sort(), mounts: (await mountPoints()).filter((m) => m.startsWith(env.root)) };
}

describe('jjfs open / close through the daemon', () => {
  it('opens into ./REPO by default, creating the repo, and shows the workspace without .jj', async () => {
    const r = await env.run(['open', 'notes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Created repo "notes"');
    const where = path.join(env.root, 'notes');
    expect(await mountPoints()).toContain(where);
    await writeFile(path.join(where, 'hello.md'), 'hi\n');
    expect(await readdir(where)).toEqual(['hello.md']);
    await expect(stat(path.join(where, '.jj'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(mkdir(path.join(where, '.jj'))).rejects.toMatchObject({ code: 'EPERM' });
    const { mounts } = await env.json<{ mounts: Array<{ path: string; state: string; workspace: string }> }>(['list']);
    expect(mounts).toHaveLength(1);
    expect(mounts[0]).toMatchObject({ path: where, state: 'mounted' });
    expect(await readFile(path.join(mounts[0]!.workspace, 'hello.md'), 'utf8')).toBe('hi\n');
  });

  it('close records the last change, unmounts, and removes the workspace', async () => {
    const a = await env.open('notes', 'a');
    const { mounts } = await env.json<{ mounts: Array<{ workspace: string }> }>(['list']);
    await writeFile(path.join(a, 'last.md'), 'written just before close\n');
    const r = await env.run(['close', a]);
    expect(r.code, r.stderr).toBe(0);
    expect(await mountPoints()).not.toContain(a);
    expect(existsSync(mounts[0]!.workspace)).toBe(false);
    const content = await env.jj('notes', ['file', 'show', '-r', 'main', 'root:"last.md"']);
    expect(content).toBe('written just before close\n');
    expect((await env.json<{ mounts: unknown[] }>(['list'])).mounts).toHaveLength(0);
  });

  it('close works while a shell sits inside the mount; its later writes fail loudly', async () => {
    const a = await env.open('notes', 'a');
    // The shell waits for a signal file outside the mount, then tries to write inside it.
    const go = path.join(env.root, 'go');
    const shell = spawn('sh', ['-c', `while [ ! -e ${go} ]; do sleep 0.05; done; echo late > late.txt`], {
      cwd: a,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    shell.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => shell.on('exit', r));
    try {
      await waitFor(() => shell.pid !== undefined);
      const r = await env.run(['close', a]);
      expect(r.code, r.stderr).toBe(0);
      expect(await mountPoints()).not.toContain(a);
      await writeFile(go, '');
      expect(await exited).not.toBe(0);
      expect(stderr).toMatch(/Read-only file system/);
    } finally {
      shell.kill('SIGKILL');
    }
  });

  it('remounts every mount after kill -9, clearing the stale mount point', async () => {
    const a = await env.open('notes', 'a');
    const b = await env.open('notes', 'b');
    await writeFile(path.join(a, 'keep.md'), 'survives a crash\n');
    const pid = (await env.daemonPid())!;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid));
    await expect(readdir(a)).rejects.toMatchObject({ code: 'ENOTCONN' });
    const r = await env.run(['start']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(path.join(a, 'keep.md'), 'utf8')).toBe('survives a crash\n');
    expect(await waitFor(async () => (await readFile(path.join(b, 'keep.md'), 'utf8').catch(() => '')) === 'survives a crash\n')).toBe(true);
    const { mounts } = await env.json<{ mounts: Array<{ state: string }> }>(['list']);
    expect(mounts.map((m) => m.state)).toEqual(['mounted', 'mounted']);
  });

  it('stop unmounts everything and start brings the mounts back', async () => {
    const a = await env.open('notes', 'a');
    await writeFile(path.join(a, 'f.md'), 'x\n');
    expect((await env.run(['stop'])).code).toBe(0);
    expect(await mountPoints()).not.toContain(a);
    expect((await env.run(['start'])).code).toBe(0);
    expect(await mountPoints()).toContain(a);
    expect(await readFile(path.join(a, 'f.md'), 'utf8')).toBe('x\n');
  });
});

describe('jjfs open / close: bad input changes nothing', () => {
  beforeEach(async () => {
    expect((await env.run(['init', 'notes'])).code).toBe(0);
  });

  const expectRefused = async (args: string[], code: number, message: RegExp) => {
    const before = await snapshotState();
    const r = await env.run(args);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(await snapshotState()).toEqual(before);
  };

  it('a non-empty directory', async () => {
    await mkdir(path.join(env.root, 'full'));
    await writeFile(path.join(env.root, 'full', 'mine.txt'), 'mine');
    await expectRefused(['open', 'notes', path.join(env.root, 'full')], 5, /is not empty/);
    expect(await readFile(path.join(env.root, 'full', 'mine.txt'), 'utf8')).toBe('mine');
  });

  it('a file', async () => {
    await writeFile(path.join(env.root, 'afile'), 'x');
    await expectRefused(['open', 'notes', path.join(env.root, 'afile')], 6, /not a directory/);
  });

  it('a path inside another jjfs mount, and the mount itself', async () => {
    const a = await env.open('notes', 'a');
    await expectRefused(['open', 'notes', path.join(a, 'inner')], 6, /inside the jjfs mount/);
    await expectRefused(['open', 'notes', a], 5, /already a jjfs mount/);
  });

  it('a path inside JJFS_HOME', async () => {
    await expectRefused(['open', 'notes', path.join(env.home, 'x')], 6, /jjfs's own state directory/);
  });

  it('an already-mounted path', async () => {
    const target = path.join(env.root, 'tmpfs');
    await mkdir(target);
    await new Promise((r, j) => spawn('mount', ['-t', 'tmpfs', 'none', target]).on('exit', (c) => (c === 0 ? r(0) : j(new Error(`mount ${c}`)))));
    try {
      await expectRefused(['open', 'notes', target], 5, /already a mount point/);
    } finally {
      await new Promise((r) => spawn('umount', [target]).on('exit', r));
    }
  });

  it('a missing parent', async () => {
    await expectRefused(['open', 'notes', path.join(env.root, 'no', 'such', 'dir')], 4, /parent directory .* does not exist/);
  });

  it('a parent without write permission', async () => {
    const parent = path.join(env.root, 'locked');
    await mkdir(parent);
    const { execFileSync } = await import('node:child_process');
    execFileSync('chattr', ['+i', parent]); // root ignores mode bits; immutable stops even root
    try {
      await expectRefused(['open', 'notes', path.join(parent, 'm')], 7, /Cannot create .*permissions/);
    } finally {
      execFileSync('chattr', ['-i', parent]);
    }
  });

  it('close of a path that is not a jjfs mount', async () => {
    await mkdir(path.join(env.root, 'plain'));
    await expectRefused(['close', path.join(env.root, 'plain')], 4, /is not a jjfs mount/);
  });
});
