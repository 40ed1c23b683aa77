import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { type Entry, jsonIn, syncRepo } from './helpers/history.js';
import { JjfsEnv } from './helpers/jjfs-env.js';

// One repo for every case: each case must leave it exactly as it was.
let env: JjfsEnv;
let a: string;
let v1: Entry;
beforeAll(async () => {
  env = await JjfsEnv.create();
  a = await env.open('notes', 'a');
  await writeFile(path.join(a, 'n.md'), 'v1\n');
  await syncRepo(env, 'notes');
  await writeFile(path.join(a, 'n.md'), 'v2\n');
  await syncRepo(env, 'notes');
  [, v1] = (await jsonIn<{ entries: Entry[] }>(env, ['log', 'n.md'], a)).entries as [Entry, Entry];
}, 120_000);
afterAll(async () => {
  await env.cleanup();
});

let before: { commits: number; content: string };
afterEach(async () => {
  // Nothing created or changed by a refused command.
  expect(await env.commitCount('notes')).toBe(before.commits);
  expect(await readFile(path.join(a, 'n.md'), 'utf8')).toBe(before.content);
});

async function expectRefused(args: string[], code: number, message: RegExp): Promise<void> {
  before = { commits: await env.commitCount('notes'), content: await readFile(path.join(a, 'n.md'), 'utf8') };
  const r = await env.run(args, { cwd: a });
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
  expect(r.stderr).toMatch(message);
}

describe('bad REV, TIME and PATH: a clear error, a distinct exit code, nothing changed', () => {
  it.each([
    [['show', 'deadbeef', 'n.md'], /No version "deadbeef".*doesn't exist.*jjfs log/],
    [['restore', 'n.md', '--at', 'ffffffffffff'], /No version "ffffffffffff"/],
    [['diff', 'kkkkkkkk'], /No version "kkkkkkkk"/],
  ])('unknown REV %j → not-found (4)', async (args, message) => {
    await expectRefused(args, 4, message);
  });

  it.each([
    [['show', 'abc(', 'n.md'], /"abc\(" is neither a time nor a revision/],
    [['show', 'main | root()', 'n.md'], /names more than one commit/],
    [['restore', 'n.md', '--at', 'next blursday'], /neither a time nor a revision/],
  ])('malformed REV %j → invalid-input (6)', async (args, message) => {
    await expectRefused(args, 6, message);
  });

  it.each([
    [['restore', 'n.md', '--at', '2 hours later'], 6, /is in the future/],
    [['restore', 'n.md', '--at', '2001-01-01T00:00:00Z'], 4, /no version at or before 2001-01-01T00:00:00\.000Z; its history starts at/],
    [['log', '--since', 'whenever'], 6, /--since "whenever" is not a time/],
    [['restore', 'n.md', '--at', ''], 6, /--at needs a revision or a time/],
  ])('bad TIME %j', async (args, code, message) => {
    await expectRefused(args, code, message);
  });

  it.each([
    [['log', 'nope.md'], 4, /nope\.md has no history in repo "notes"/],
    [['show', 'main', 'nope.md'], 4, /nope\.md did not exist at/],
    [['restore', 'nope.md', '--at', 'main'], 4, /nope\.md did not exist at/],
    [['restore', 'gone.md'], 4, /gone\.md has no history/],
    [['log', '/etc/passwd'], 6, /is not inside a jjfs mount.*--repo NAME/],
    [['log', '../outside.md'], 6, /is not inside a jjfs mount/],
    [['show', 'main', '.jj/repo'], 6, /jj's own metadata/],
    [['restore', 'n.md'], 6, /n\.md exists; say which version.*--at/],
    [['restore', 'n.md', '--at', 'main', '--to', 'n.md'], 6, /--to n\.md must be a new path/],
    [['log', 'n.md', '--repo', 'other'], 6, /mount of repo "notes", not "other"/],
    [['undo', '--repo', 'nope'], 4, /No repo named "nope"/],
    [['restore', '--at', 'main'], 2, /whole tree needs --repo NAME/],
  ])('bad PATH or arguments %j', async (args, code, message) => {
    await expectRefused(args, code, message);
  });

  it('a version before a file existed says when it did', async () => {
    await writeFile(path.join(a, 'later.md'), 'x\n');
    await syncRepo(env, 'notes');
    await expectRefused(['show', v1.commit, 'later.md'], 4, /later\.md did not exist at .*see its versions with: jjfs log later\.md/);
  });
});
