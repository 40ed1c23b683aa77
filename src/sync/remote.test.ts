import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { ExecaGitRunner } from './git.js';
import { makeHarness, type Harness } from './harness.js';
import { defaultIdentity } from './jj-runner.js';
import { CONFLICT_TRAILER } from './remote-integrate.js';
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

  it('publishes a conflicted main as one ordinary commit with the markers every workspace shows', async () => {
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

    const round = await sync.round();
    expect(round.pushed).toBe(true);
    expect(round.published).toEqual(['c.md']);
    // The remote got plain text: the same bytes the workspaces show.
    expect(await gitOut(['--git-dir', remote, 'show', 'main:c.md'])).toBe(shown);
    expect(await gitOut(['--git-dir', remote, 'log', '-1', '--format=%B', 'main'])).toContain(`${CONFLICT_TRAILER} "c.md"`);
    for (const w of [w0, w1]) expect(await readFile(join(w.dir, 'c.md'), 'utf8')).toBe(shown);
    // main is the published commit; jj no longer sees a conflict, the marker check does.
    const main = (await h.rj.repo(['log', '--no-graph', '-r', 'main', '-T', 'commit_id'])).stdout;
    expect(main).toBe((await gitOut(['--git-dir', remote, 'rev-parse', 'main'])).trim());
    expect(await h.engine.conflicts()).toEqual([]);
    expect(await sync.markerConflicts()).toEqual(['c.md']);

    await writeFile(join(w1.dir, 'c.md'), 'resolved\n');
    await h.engine.syncNow();
    expect(await sync.markerConflicts()).toEqual([]);
    expect((await sync.round()).pushed).toBe(true);
    expect(await gitOut(['--git-dir', remote, 'show', 'main:c.md'])).toBe('resolved\n');
  });
});
