import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JjfsEnv } from './helpers/jjfs-env.js';
import { bareRemote, git, remoteFile } from './helpers/remote.js';

// One daemon for all cases: each case checks that nothing was created or changed.
let env: JjfsEnv;
let good: string;
beforeAll(async () => {
  env = await JjfsEnv.create('jjfs-rb-');
  const init = await env.run(['init', 'notes']);
  if (init.code !== 0) throw new Error(init.stderr);
  const m = await env.open('notes', 'm');
  await writeFile(path.join(m, 'mine.md'), 'local content\n');
  await env.run(['sync', 'notes']);
  good = await bareRemote(path.join(env.root, 'good.git'));
});
afterAll(async () => {
  await env.cleanup();
});

async function remoteOfNotes(): Promise<unknown> {
  const config = JSON.parse(await readFile(path.join(env.home, 'config.json'), 'utf8')) as { repos: Record<string, { remote: unknown }> };
  return config.repos['notes']?.remote;
}

async function repoNames(): Promise<string[]> {
  return (await env.json<{ repos: Array<{ name: string }> }>(['repos'])).repos.map((r) => r.name);
}

const exists = (p: string) => stat(p).then(() => true, () => false);

describe('remote bad input: refused with a clear message, nothing created or changed', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['option-like', '--upload-pack=touch /tmp/jjfs-pwned', /starts with '-'/],
    ['option-like (short)', '-oProxyCommand=x', /starts with '-'/],
    ['ext:: transport', 'ext::sh -c touch% /tmp/jjfs-pwned', /remote-helper transports/],
    ['fd:: transport', 'fd::3', /remote-helper transports/],
    ['newline', 'https://example.com/a\n--upload-pack=x', /newline or control character/],
    ['unsupported scheme', 'gopher://example.com/x', /"gopher:\/\/" transport is not supported/],
  ];
  for (const [name, url, message] of cases) {
    it(`remote add refuses ${name}`, async () => {
      const r = await env.run(['remote', 'add', '--repo', 'notes', '--', url]);
      expect(r.code).toBe(6);
      expect(r.stderr).toMatch(/Invalid remote URL/);
      expect(r.stderr).toMatch(message);
      expect(await remoteOfNotes()).toBeNull();
    });
    it(`init --from refuses ${name}`, async () => {
      const r = await env.run(['init', 'other', `--from=${url}`]);
      expect(r.code).toBe(6);
      expect(r.stderr).toMatch(message);
      expect(await repoNames()).toEqual(['notes']);
      expect(await exists(path.join(env.home, 'repos', 'other'))).toBe(false);
    });
  }

  it('nothing ran: no file was created by a URL that tried to run a command', async () => {
    expect(await exists('/tmp/jjfs-pwned')).toBe(false);
  });

  it('refuses a directory that is not a git repository, and a path that does not exist', async () => {
    const plain = path.join(env.root, 'plain');
    await mkdir(plain);
    for (const url of [plain, path.join(env.root, 'missing.git')]) {
      const r = await env.run(['remote', 'add', url, '--repo', 'notes']);
      expect(r.code).toBe(6);
      expect(r.stderr).toMatch(/is not a git repository jjfs can reach/);
      expect(r.stderr).toMatch(/git init --bare -b main/);
      expect(await remoteOfNotes()).toBeNull();
      const i = await env.run(['init', 'other', '--from', url]);
      expect(i.code).toBe(6);
      expect(i.stderr).toMatch(/is not a git repository/);
      expect(await exists(path.join(env.home, 'repos', 'other'))).toBe(false);
    }
  });

  it('refuses a remote whose branch has history unrelated to the repo', async () => {
    const foreign = await bareRemote(path.join(env.root, 'foreign.git'));
    const work = path.join(env.root, 'foreign-work');
    await git(['init', '-q', '-b', 'main', work]);
    await writeFile(path.join(work, 'theirs.md'), 'theirs\n');
    await git(['add', '.'], work);
    await git(['commit', '-qm', 'unrelated'], work);
    await git(['push', '-q', foreign, 'main'], work);
    const r = await env.run(['remote', 'add', foreign, '--repo', 'notes']);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/unrelated to repo "notes"/);
    expect(r.stderr).toMatch(/jjfs init NAME --from/);
    expect(await remoteOfNotes()).toBeNull();
    expect(await remoteFile(foreign, 'mine.md')).toBeUndefined();
  });

  it('refuses remote add twice, keeping the first', async () => {
    expect((await env.run(['remote', 'add', good, '--repo', 'notes'])).code).toBe(0);
    const second = path.join(env.root, 'second.git');
    await bareRemote(second);
    const r = await env.run(['remote', 'add', second, '--repo', 'notes']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/already has a remote/);
    expect(r.stderr).toMatch(/jjfs remote remove --repo notes/);
    expect(await remoteOfNotes()).toBe(good);
    const i = await env.run(['init', 'notes', '--from', second]);
    expect(i.code).toBe(5);
    expect(i.stderr).toMatch(/already exists/);
    const removed = await env.run(['remote', 'remove', '--repo', 'notes']);
    expect(removed.code).toBe(0);
    expect(await remoteOfNotes()).toBeNull();
    expect((await env.run(['remote', 'remove', '--repo', 'notes'])).code).toBe(4);
  });

  it('never shows or logs credentials', async () => {
    const url = 'https://alice:s3cr3t-token@127.0.0.1:9/x.git';
    const r = await env.run(['remote', 'add', url, '--repo', 'notes']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('https://127.0.0.1:9/x.git');
    expect(r.stderr).not.toContain('s3cr3t');
    expect(r.stderr).not.toContain('alice');
    const bad = await env.run(['remote', 'add', '--repo', 'notes', '--', 'ext::https://alice:s3cr3t-token@x']);
    expect(bad.stderr).not.toContain('s3cr3t');
    expect(await env.daemonLog()).not.toContain('s3cr3t');
  });

  it('sync --remote on a repo without a remote says how to add one', async () => {
    const r = await env.run(['sync', '--remote', 'notes']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/has no remote\. Add one with: jjfs remote add URL --repo notes/);
  });
});
