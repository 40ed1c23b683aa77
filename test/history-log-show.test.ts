import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { between, type Entry, jsonIn, runBytes, seenEverywhere, syncRepo } from './helpers/history.js';
import { JjfsEnv } from './helpers/jjfs-env.js';

let env: JjfsEnv;
let a: string;
let b: string;
beforeEach(async () => {
  env = await JjfsEnv.create();
  a = await env.open('notes', 'a');
  b = await env.open('notes', 'b');
});
afterEach(async () => {
  await env.cleanup();
});

// Three versions, including bytes that are not UTF-8 and no final newline.
const V1 = Buffer.from([0x76, 0x31, 0x0a, 0xff, 0xfe, 0x00, 0x01]);
const V2 = Buffer.from('v2: written in b\nsecond line\n');
const V3 = Buffer.from('v3 from a\r\nwith CRLF');

/** Writes the three versions alternately in a and b, each recorded and propagated before the next. */
async function threeVersions(): Promise<void> {
  await mkdir(path.join(a, 'docs'));
  await writeFile(path.join(a, 'docs', 'n.bin'), V1);
  expect(await seenEverywhere([b], 'docs/n.bin', V1)).toBe(true);
  await syncRepo(env, 'notes');
  await writeFile(path.join(b, 'docs', 'n.bin'), V2);
  expect(await seenEverywhere([a], 'docs/n.bin', V2)).toBe(true);
  await syncRepo(env, 'notes');
  await writeFile(path.join(a, 'docs', 'n.bin'), V3);
  expect(await seenEverywhere([b], 'docs/n.bin', V3)).toBe(true);
  await syncRepo(env, 'notes');
}

describe('log, show and diff over real mounts', () => {
  it('log lists each version with the mount that made it; show returns each one byte for byte', async () => {
    await threeVersions();
    // PATH relative to a subdirectory of a mount.
    const docs = path.join(a, 'docs');
    const log = await jsonIn<{ repo: string; path: string; entries: Entry[] }>(env, ['log', 'n.bin'], docs);
    expect(log.repo).toBe('notes');
    expect(log.path).toBe('docs/n.bin');
    expect(log.entries.map((e) => e.mount)).toEqual([a, b, a]);
    expect(log.entries.map((e) => e.files.map((f) => f.status))).toEqual([['modified'], ['modified'], ['added']]);
    expect(log.entries[2]?.summary).toMatch(/^docs\/n\.bin created/);
    const times = log.entries.map((e) => Date.parse(e.time));
    expect(times[0]).toBeGreaterThanOrEqual(times[1] as number);
    expect(times[1]).toBeGreaterThanOrEqual(times[2] as number);

    // The same from the other mount, and from outside any mount with --repo.
    const fromB = await jsonIn<{ entries: Entry[] }>(env, ['log', path.join(b, 'docs', 'n.bin')], env.root);
    expect(fromB.entries.map((e) => e.commit)).toEqual(log.entries.map((e) => e.commit));
    const human = await env.run(['log', 'docs/n.bin', '--repo', 'notes']);
    expect(human.code).toBe(0);
    const lines = human.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain(log.entries[0]!.commit.slice(0, 12));
    expect(lines[0]).toContain(a);
    expect(lines[1]).toContain(b);

    // show: every version exactly, by commit id and by change id; --json carries base64 + sha256.
    const expected = [V3, V2, V1];
    for (const [i, entry] of log.entries.entries()) {
      const shown = await runBytes(env, ['show', entry.commit.slice(0, 12), 'n.bin'], docs);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout.equals(expected[i] as Buffer)).toBe(true);
      const asJson = await jsonIn<{ kind: string; content: string; sha256: string; size: number }>(env, ['show', entry.commit, 'docs/n.bin', '--repo', 'notes'], env.root);
      expect(asJson.kind).toBe('file');
      expect(Buffer.from(asJson.content, 'base64').equals(expected[i] as Buffer)).toBe(true);
      expect(asJson.sha256).toBe(createHash('sha256').update(expected[i] as Buffer).digest('hex'));
      expect(asJson.size).toBe((expected[i] as Buffer).length);
    }

    // show at a TIME between two versions gives the older one.
    const mid = between(log.entries[2]!.time, log.entries[1]!.time);
    const atTime = await runBytes(env, ['show', mid, 'n.bin'], docs);
    expect(atTime.stdout.equals(V1)).toBe(true);

    // show REV without PATH: the change and its diff; a directory lists its files.
    const change = await env.run(['show', log.entries[1]!.commit], { cwd: a });
    expect(change.stdout).toContain(`by     ${b}`);
    expect(change.stdout).toContain('Binary files a/docs/n.bin and b/docs/n.bin differ'); // V1 is not text
    const textChange = await env.run(['show', log.entries[0]!.commit], { cwd: a });
    expect(textChange.stdout).toMatch(/^-second line$/m);
    expect(textChange.stdout).toMatch(/^\+v3 from a\r$/m);
    const dir = await env.run(['show', log.entries[0]!.commit, 'docs'], { cwd: a });
    expect(dir.stdout.trim()).toBe('docs/n.bin');

    // --since keeps only the newer versions.
    const since = await jsonIn<{ entries: Entry[] }>(env, ['log', 'n.bin', '--since', mid], docs);
    expect(since.entries.map((e) => e.commit)).toEqual(log.entries.slice(0, 2).map((e) => e.commit));
  });

  it('diff shows what changed since a version, and what the last change did', async () => {
    await writeFile(path.join(a, 'n.md'), 'one\ntwo\n');
    expect(await seenEverywhere([b], 'n.md', Buffer.from('one\ntwo\n'))).toBe(true);
    await syncRepo(env, 'notes');
    const [first] = (await jsonIn<{ entries: Entry[] }>(env, ['log', 'n.md'], a)).entries;
    await writeFile(path.join(b, 'n.md'), 'one\nTWO\nthree\n');
    await writeFile(path.join(b, 'other.md'), 'x\n');
    expect(await seenEverywhere([a], 'other.md', Buffer.from('x\n'))).toBe(true);
    await syncRepo(env, 'notes');

    const since = await jsonIn<{ files: Array<{ path: string; added: number; removed: number }>; diff: string }>(env, ['diff', first!.commit, 'n.md'], a);
    expect(since.files).toEqual([{ path: 'n.md', status: 'modified', added: 2, removed: 1 }]);
    expect(since.diff).toMatch(/^-two$/m);
    expect(since.diff).toMatch(/^\+three$/m);
    expect(since.diff).not.toContain('other.md');
    // One argument that is an existing file: the last change to it.
    const last = await env.run(['diff', 'n.md'], { cwd: b });
    expect(last.code).toBe(0);
    expect(last.stdout).toMatch(/^\+TWO$/m);
    // No argument: the last change of the repo (both files), --stat.
    const stat = await env.run(['diff', '--stat'], { cwd: b });
    expect(stat.stdout).toMatch(/n\.md\tmodified\t\+2 -1/);
    expect(stat.stdout).toMatch(/other\.md\tadded\t\+1 -0/);
  });
});
