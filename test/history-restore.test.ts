import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { between, type Entry, jsonIn, runBytes, seenEverywhere, syncRepo } from './helpers/history.js';
import { JjfsEnv, sleep } from './helpers/jjfs-env.js';

let env: JjfsEnv;
let a: string;
let b: string;
let c: string;
let all: string[];
beforeEach(async () => {
  env = await JjfsEnv.create();
  a = await env.open('notes', 'a');
  b = await env.open('notes', 'b');
  c = await env.open('notes', 'c');
  all = [a, b, c];
});
afterEach(async () => {
  await env.cleanup();
});

const buf = (s: string) => Buffer.from(s);

/** Writes `content` to `file` in `dir`, waits until every mount has it, and records it. */
async function edit(dir: string, file: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
  await writeFile(path.join(dir, file), content);
  await syncRepo(env, 'notes');
  expect(await seenEverywhere(all, file, buf(content))).toBe(true);
}

/** Restarts the daemon with a debounce so long that only forced rounds record anything. */
async function recordOnlyWhenForced(): Promise<void> {
  expect((await env.run(['stop'])).code).toBe(0);
  const file = path.join(env.home, 'config.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as { repos: Record<string, Record<string, unknown>> };
  Object.assign(config.repos['notes'] ?? {}, { debounce_ms: 600_000, max_wait_ms: 600_000 });
  await writeFile(file, JSON.stringify(config, null, 2));
  expect((await env.run(['start'])).code).toBe(0);
}

interface RestoreJson {
  commit?: string;
  from: { commit: string };
  verified: boolean;
  recordedFirst: number;
  round: { converged: boolean };
}

describe('restore and undo through real mounts', () => {
  it('restore --at a time between edits brings the right bytes back everywhere, recording unsaved edits first', async () => {
    await recordOnlyWhenForced();
    await edit(a, 'n.md', 'v1 from a\n');
    await edit(b, 'n.md', 'v2 from b\n');
    await edit(c, 'n.md', 'v3 from c\n');
    const versions = (await jsonIn<{ entries: Entry[] }>(env, ['log', 'n.md'], a)).entries;
    expect(versions.map((e) => e.mount)).toEqual([c, b, a]);
    const [, v2, v1] = versions;

    // Edits that no round has recorded yet (the debounce is ten minutes), in the restored file and beside it.
    const commits = await env.commitCount('notes');
    await writeFile(path.join(b, 'n.md'), 'unsaved in b\n');
    await writeFile(path.join(c, 'side.md'), 'side note\n');
    await sleep(500);
    expect(await env.commitCount('notes')).toBe(commits);
    const r = await jsonIn<RestoreJson>(env, ['restore', 'n.md', '--at', between(v1!.time, v2!.time)], a);
    expect(r.from.commit).toBe(v1!.commit);
    expect(r.verified).toBe(true);
    expect(r.round.converged).toBe(true);
    expect(r.recordedFirst).toBe(2); // b's and c's edits, before the restore
    expect(await seenEverywhere(all, 'n.md', buf('v1 from a\n'))).toBe(true);
    expect(await seenEverywhere(all, 'side.md', buf('side note\n'))).toBe(true);

    // The unsaved content was recorded before being replaced, and the restore is a version of its own.
    const after = (await jsonIn<{ entries: Entry[] }>(env, ['log', 'n.md'], a)).entries;
    expect(after[0]).toMatchObject({ by: 'jjfs restore', action: 'restore', mount: null, commit: r.commit });
    expect(after[1]?.mount).toBe(b);
    const unsaved = await runBytes(env, ['show', after[1]!.commit, 'n.md'], a);
    expect(unsaved.stdout.toString()).toBe('unsaved in b\n');
  });

  it('restores a deleted file, and --to writes an old version beside the current one', async () => {
    await edit(a, 'notes/f.md', 'keep me\n');
    await rm(path.join(b, 'notes', 'f.md'));
    expect(await seenEverywhere(all, 'notes/f.md', undefined)).toBe(true);
    await syncRepo(env, 'notes');

    // No --at: a deleted file comes back as it last was.
    const back = await env.run(['restore', 'notes/f.md'], { cwd: c });
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toMatch(/Restored notes\/f\.md .*\(verified\), in every mount/);
    expect(await seenEverywhere(all, 'notes/f.md', buf('keep me\n'))).toBe(true);

    await edit(b, 'notes/f.md', 'changed\n');
    const [current, original] = (await jsonIn<{ entries: Entry[] }>(env, ['log', 'f.md'], path.join(a, 'notes'))).entries.filter((e) => e.files[0]?.status !== 'removed');
    expect(current?.mount).toBe(b);
    const beside = await jsonIn<RestoreJson & { to: string }>(env, ['restore', 'f.md', '--at', original!.commit, '--to', '../old/f.md'], path.join(a, 'notes'));
    expect(beside.to).toBe('old/f.md');
    expect(beside.verified).toBe(true);
    expect(await seenEverywhere(all, 'old/f.md', buf('keep me\n'))).toBe(true);
    expect(await seenEverywhere(all, 'notes/f.md', buf('changed\n'))).toBe(true);

    // --to never overwrites: an existing NEWPATH is refused and nothing changes.
    const commits = await env.commitCount('notes');
    const taken = await env.run(['restore', 'notes/f.md', '--at', original!.commit, '--to', 'old/f.md'], { cwd: a });
    expect(taken.code).toBe(5);
    expect(taken.stderr).toMatch(/old\/f\.md already exists/);
    expect(await env.commitCount('notes')).toBe(commits);
  });

  it('restores the whole tree, executable bits included', async () => {
    await mkdir(path.join(a, 'y'));
    await writeFile(path.join(a, 'y', 'z.md'), 'zed\n');
    await writeFile(path.join(a, 'run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(path.join(a, 'run.sh'), 0o755);
    await edit(a, 'x.md', 'x v1\n');
    const [state] = (await jsonIn<{ entries: Entry[] }>(env, ['log'], a)).entries;

    await edit(b, 'x.md', 'x v2\n');
    await rm(path.join(c, 'y', 'z.md'));
    await chmod(path.join(c, 'run.sh'), 0o644);
    await edit(c, 'w.md', 'new file\n');
    // A time between `state` and the change that came right after it.
    const entries = (await jsonIn<{ entries: Entry[] }>(env, ['log'], a)).entries;
    const next = entries[entries.findIndex((e) => e.commit === state!.commit) - 1];

    const r = await jsonIn<RestoreJson>(env, ['restore', '--repo', 'notes', '--at', between(state!.time, next!.time)], env.root);
    expect(r.from.commit).toBe(state!.commit);
    expect(r.verified).toBe(true);
    expect(await seenEverywhere(all, 'x.md', buf('x v1\n'))).toBe(true);
    expect(await seenEverywhere(all, 'y/z.md', buf('zed\n'))).toBe(true);
    expect(await seenEverywhere(all, 'w.md', undefined)).toBe(true);
    for (const dir of all) expect((await stat(path.join(dir, 'run.sh'))).mode & 0o111, dir).not.toBe(0);
  });

  it('undo reverses the last change everywhere; a second undo goes one further back', async () => {
    await edit(a, 'u.md', 'one\n');
    await edit(b, 'u.md', 'two\n');
    const [two, one] = (await jsonIn<{ entries: Entry[] }>(env, ['log', 'u.md'], a)).entries;

    const first = await jsonIn<RestoreJson & { undone: Entry }>(env, ['undo'], c);
    expect(first.undone.commit).toBe(two!.commit);
    expect(first.verified).toBe(true);
    expect(await seenEverywhere(all, 'u.md', buf('one\n'))).toBe(true);

    const second = await env.run(['undo', '--repo', 'notes']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`Undid ${one!.commit.slice(0, 12)}`);
    expect(await seenEverywhere(all, 'u.md', undefined)).toBe(true);

    const log = (await jsonIn<{ entries: Entry[] }>(env, ['log', 'u.md'], a)).entries;
    expect(log.slice(0, 2).map((e) => e.action)).toEqual(['undo', 'undo']);
    expect(log).toHaveLength(4); // history keeps everything: two versions and two undos
  });
});
