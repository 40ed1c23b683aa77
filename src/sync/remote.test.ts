import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { ExecaGitRunner } from './git.js';
import { makeHarness, type Harness } from './harness.test-support.js';
import { defaultIdentity } from './jj-runner.js';
import { MARKERS_TRAILER } from './merge-paths.js';
import { RemoteSync } from './remote.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function gitOut(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('git', args, (e, out, err) => (e ? reject(new Error(err)) : resolve(out))),
  );
}

async function setup(): Promise<{ h: Harness; remote: string; sync: RemoteSync }> {
  h = await makeHarness(2);
  const remote = join(h.env.root, 'remote.git');
  await gitOut(['init', '-q', '--bare', '-b', 'main', remote]);
  const sync = new RemoteSync({
    repo: 'notes',
    target: { url: remote, branch: 'main' },
    rj: h.rj,
    git: new ExecaGitRunner({ timeoutMs: 30_000 }),
    engine: h.engine,
    identity: defaultIdentity('test-host'),
    log: silentLogger,
  });
  return { h, remote, sync };
}

describe('RemoteSync (real jj, real git, bare remote on disk)', () => {
  it('pushes main; an idle round then spawns no jj process at all', async () => {
    const { h, remote, sync } = await setup();
    await writeFile(join(h.ws[0]!.dir, 'a.md'), 'a\n');
    await h.engine.syncNow();
    const first = await sync.round();
    expect(first.pushed).toBe(true);
    expect(await gitOut(['--git-dir', remote, 'show', 'main:a.md'])).toBe('a\n');
    const before = h.env.jj.calls;
    const idle = await sync.round();
    expect(idle.idle).toBe(true);
    expect(h.env.jj.calls).toBe(before);
  });

  it('a local conflict is pushed as the plain text every workspace shows; a resolution clears it', async () => {
    const { h, remote, sync } = await setup();
    const [w0, w1] = h.ws as [(typeof h.ws)[0], (typeof h.ws)[0]];
    await writeFile(join(w0.dir, 'c.md'), 'base\n');
    await h.engine.syncNow();
    await sync.round();
    await writeFile(join(w0.dir, 'c.md'), 'zero\n');
    await writeFile(join(w1.dir, 'c.md'), 'one\n');
    await h.engine.syncNow();
    expect(await h.engine.conflicts()).toEqual(['c.md']);
    const shown = await readFile(join(w0.dir, 'c.md'), 'utf8');
    expect(await readFile(join(w1.dir, 'c.md'), 'utf8')).toBe(shown);

    const round = await sync.round();
    expect(round.pushed).toBe(true);
    expect(round.published).toEqual([]); // nothing to rewrite: main holds no jj conflict
    expect(await gitOut(['--git-dir', remote, 'show', 'main:c.md'])).toBe(shown);
    expect(await gitOut(['--git-dir', remote, 'log', '--format=%B', 'main'])).toContain(`${MARKERS_TRAILER} "c.md"`);

    await writeFile(join(w1.dir, 'c.md'), 'resolved\n');
    await h.engine.syncNow();
    expect(await h.engine.conflicts()).toEqual([]);
    expect((await sync.round()).pushed).toBe(true);
    expect(await gitOut(['--git-dir', remote, 'show', 'main:c.md'])).toBe('resolved\n');
  });

  it('appends from another machine and from here meet as the union, with no markers', async () => {
    const { h, remote, sync } = await setup();
    const [w0, w1] = h.ws as [(typeof h.ws)[0], (typeof h.ws)[0]];
    await writeFile(join(w0.dir, 'log.md'), 'start\n');
    await h.engine.syncNow();
    await sync.round();
    // The other machine: a plain clone that appends and pushes.
    const other = join(h.env.root, 'other');
    await gitOut(['clone', '-q', remote, other]);
    await writeFile(join(other, 'log.md'), 'start\nother 1\nother 2\n');
    await gitOut(['-C', other, '-c', 'user.name=o', '-c', 'user.email=o@o', 'commit', '-qam', 'other']);
    await gitOut(['-C', other, 'push', '-q', 'origin', 'main']);
    await writeFile(join(w0.dir, 'log.md'), 'start\nhere 1\n');
    await h.engine.syncNow();

    const round = await sync.round();
    expect(round.integrated).toBe('merge');
    expect(round.pushed).toBe(true);
    const want = 'start\nhere 1\nother 1\nother 2\n';
    expect(await gitOut(['--git-dir', remote, 'show', 'main:log.md'])).toBe(want);
    for (const w of [w0, w1]) expect(await readFile(join(w.dir, 'log.md'), 'utf8')).toBe(want);
    expect(await h.engine.conflicts()).toEqual([]);
    // The merge keeps both machines' commits as its parents.
    expect((await gitOut(['--git-dir', remote, 'log', '-1', '--format=%P', 'main'])).trim().split(' ')).toHaveLength(2);
  });

  it('a jj-conflicted main from an older jjfs is published as one ordinary commit with its markers', async () => {
    const { h, remote, sync } = await setup();
    const [w0, w1] = h.ws as [(typeof h.ws)[0], (typeof h.ws)[0]];
    await writeFile(join(w0.dir, 'c.md'), 'base\n');
    await h.engine.syncNow();
    await sync.round();
    // What the old engine did: commit a rebase conflict straight into main (jj run by hand here).
    await writeFile(join(w0.dir, 'c.md'), 'zero\n');
    await h.rj.workspace(w0.dir, ['commit', '-m', 'zero']);
    await writeFile(join(w1.dir, 'c.md'), 'one\n');
    await h.rj.workspace(w1.dir, ['rebase', '-s', '@', '-d', 'main']);
    await h.rj.workspace(w1.dir, ['commit', '-m', 'one']);
    await h.engine.syncNow();
    expect(await h.engine.conflicts()).toEqual(['c.md']);
    const shown = await readFile(join(w0.dir, 'c.md'), 'utf8');

    const round = await sync.round();
    expect(round.pushed).toBe(true);
    expect(round.published).toEqual(['c.md']);
    expect(await gitOut(['--git-dir', remote, 'show', 'main:c.md'])).toBe(shown);
    expect(await gitOut(['--git-dir', remote, 'log', '-1', '--format=%B', 'main'])).toContain(`${MARKERS_TRAILER} "c.md"`);
    expect(await h.engine.conflicts()).toEqual(['c.md']);
    await writeFile(join(w1.dir, 'c.md'), 'resolved\n');
    await h.engine.syncNow();
    expect(await h.engine.conflicts()).toEqual([]);
  });
});
