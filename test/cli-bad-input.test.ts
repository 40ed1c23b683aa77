import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JjfsEnv } from './helpers/jjfs-env.js';

let env: JjfsEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
});
afterEach(async () => {
  await env.cleanup();
});

const BAD_NAMES = ['a/b', '..', 'x..y', 'has space', '-flag', '.hidden', '', 'x'.repeat(65)];
const BAD_URLS = ['-uhttps://x', '--upload-pack=touch /tmp/pwned', 'ext::sh -c touch% /tmp/pwned', 'fd::17', 'https://x/\nfoo', 'gopher://x/y'];

describe('bad input: clear message, non-zero exit, nothing changed', () => {
  it.each(BAD_NAMES)('init refuses repo name %j without starting the daemon', async (name) => {
    const r = await env.run(['init', '--', name]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/Invalid repo name/);
    expect(r.stderr).toMatch(/Use letters, digits/);
    expect(existsSync(env.home)).toBe(false);
  });

  // `open a/b` is repo a's folder b (a subtree mount, issue 16), so a slash is no bad name there.
  it.each(BAD_NAMES.filter((n) => n !== '' && n !== 'a/b'))('open refuses repo name %j', async (name) => {
    const r = await env.run(['open', '--', name, path.join(env.root, 'm')]);
    expect(r.code).toBe(6);
    expect(existsSync(env.home)).toBe(false);
    expect(existsSync(path.join(env.root, 'm'))).toBe(false);
  });

  it.each(BAD_URLS)('remote add refuses %j and stores nothing', async (url) => {
    expect((await env.run(['init'])).code).toBe(0);
    const before = await readFile(path.join(env.home, 'config.json'), 'utf8');
    const r = await env.run(['remote', 'add', '--', url]);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/Invalid remote URL/);
    expect(await readFile(path.join(env.home, 'config.json'), 'utf8')).toBe(before);
  });

  it('refuses a second remote add and remote add on a missing repo', async () => {
    expect((await env.run(['init'])).code).toBe(0);
    // remote add checks the remote, so these are real (empty, bare) repositories on disk.
    for (const r of ['a.git', 'b.git']) execFileSync('git', ['init', '-q', '--bare', '-b', 'main', path.join(env.root, r)]);
    expect((await env.run(['remote', 'add', path.join(env.root, 'a.git')])).code).toBe(0);
    const twice = await env.run(['remote', 'add', path.join(env.root, 'b.git')]);
    expect(twice.code).toBe(5);
    expect(twice.stderr).toMatch(/already has a remote.*jjfs remote remove/);
    const missing = await env.run(['remote', 'add', path.join(env.root, 'a.git'), '--repo', 'nope']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/jjfs init nope/);
  });

  it('never shows credentials', async () => {
    expect((await env.run(['init'])).code).toBe(0);
    // git accepts (and ignores) user:password in a file:// URL: a real remote with credentials.
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', path.join(env.root, 'c.git')]);
    const add = await env.run(['remote', 'add', `file://alice:s3cret@localhost${path.join(env.root, 'c.git')}`]);
    expect(add.code, add.stderr).toBe(0);
    expect((await env.run(['sync', '--remote'])).code).toBe(0);
    const status = await env.run(['status', '--json']);
    const list = await env.run(['remote', 'list']);
    for (const out of [add.stdout, status.stdout, list.stdout]) expect(out).not.toContain('s3cret');
    const log = await env.daemonLog();
    expect(log).toMatch(/remote/); // the log exists and speaks of the remote
    expect(log).not.toContain('s3cret');
  });

  it('unknown commands and flags are usage errors', async () => {
    const cmd = await env.run(['frobnicate']);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toMatch(/Unknown command "frobnicate".*jjfs --help/);
    const flag = await env.run(['list', '--frob']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--frob/);
    const extra = await env.run(['init', 'a', 'b']);
    expect(extra.code).toBe(2);
    expect(existsSync(env.home)).toBe(false);
  });

  it('JJFS_HOME pointing at a file is an environment error', async () => {
    const file = path.join(env.root, 'afile');
    await writeFile(file, 'x');
    const r = await env.run(['init'], { env: env.env({ JJFS_HOME: file }) });
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/is not a directory.*JJFS_HOME/);
    expect(await readFile(file, 'utf8')).toBe('x');
  });

  it('an unwritable home is an environment error', async () => {
    const parent = path.join(env.root, 'ro');
    await mkdir(parent);
    await chmod(parent, 0o500);
    // root ignores mode bits: make the directory immutable instead (even root gets EPERM).
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('chattr', ['+i', parent]);
    try {
      const r = await env.run(['init'], { env: env.env({ JJFS_HOME: path.join(parent, 'home') }) });
      expect(r.code).toBe(7);
      expect(r.stderr).toMatch(/Cannot create .*(writable|JJFS_HOME)/);
    } finally {
      if (asRoot) execFileSync('chattr', ['-i', parent]);
      await chmod(parent, 0o700);
    }
  });

  it('a path through a file as JJFS_HOME is an environment error', async () => {
    const file = path.join(env.root, 'afile');
    await writeFile(file, 'x');
    const r = await env.run(['init'], { env: env.env({ JJFS_HOME: path.join(file, 'home') }) });
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/Cannot create/);
  });

  it('a socket path that is too long is explained', async () => {
    const home = path.join(env.root, 'd'.repeat(120));
    const r = await env.run(['init'], { env: env.env({ JJFS_HOME: home }) });
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/Unix sockets allow at most 107.*shorter directory/);
  });

  it('help and version', async () => {
    const help = await env.run(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['init', 'open', 'close', 'list', 'status', 'sync', 'remote', 'start', 'stop']) expect(help.stdout).toContain(`  ${c}`);
    const helpOpen = await env.run(['help', 'open']);
    expect(helpOpen.stdout).toMatch(/Usage: jjfs open REPO\[\/SUB\/DIR\] \[PATH\]/);
    const version = await env.run(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('says "restart jjfsd" when the daemon speaks another protocol', async () => {
    await mkdir(env.home, { recursive: true });
    const sock = path.join(env.home, 'daemon.sock');
    // A stand-in for an older daemon: answers hello with another protocol version.
    const server = net.createServer((s) => {
      s.on('data', (d: Buffer) => {
        const r = JSON.parse(d.toString().split('\n')[0]!) as { id: number };
        s.write(`${JSON.stringify({ jsonrpc: '2.0', id: r.id, result: { version: '0.0.1', protocol: 0, pid: 1 } })}\n`);
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const res = await env.run(['list']);
      expect(res.code).toBe(8);
      expect(res.stderr).toMatch(/version 0\.0\.1.*Restart jjfsd: jjfs stop && jjfs start/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
