import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JjfsEnv, readOrUndefined, waitFor } from './helpers/jjfs-env.js';

// A desktop notification when a conflict appears (issue 15): notify-send is replaced by a script
// on the daemon's PATH that records its arguments.
let env: JjfsEnv;
let log: string;
let daemonEnv: NodeJS.ProcessEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
  const bin = path.join(env.root, 'bin');
  log = path.join(env.root, 'notified.txt');
  await mkdir(bin);
  await writeFile(path.join(bin, 'notify-send'), `#!/bin/sh\nprintf '%s|' "$@" >> '${log}'\necho >> '${log}'\n`);
  await chmod(path.join(bin, 'notify-send'), 0o755);
  daemonEnv = env.env({ PATH: `${bin}:${process.env['PATH'] ?? ''}` });
});
afterEach(async () => {
  await env.cleanup();
});

async function conflict(a: string, b: string, file: string): Promise<void> {
  await writeFile(path.join(a, file), 'base\n');
  await env.json(['sync', 'notes']);
  await Promise.all([writeFile(path.join(a, file), 'from a\n'), writeFile(path.join(b, file), 'from b\n')]);
  await env.json(['sync', 'notes']);
}

describe('conflict notifications', () => {
  it('a new conflict is announced on the desktop; notify_conflicts off silences it', async () => {
    // The first command starts the daemon: it inherits this PATH.
    const open = (name: string) => env.run(['open', 'notes', path.join(env.root, name)], { env: daemonEnv });
    expect((await open('a')).code).toBe(0);
    expect((await open('b')).code).toBe(0);
    const [a, b] = [path.join(env.root, 'a'), path.join(env.root, 'b')];
    await conflict(a, b, 'c.md');
    expect(await waitFor(async () => (await readOrUndefined(log))?.includes('c.md') === true, 10_000)).toBe(true);
    expect(await readFile(log, 'utf8')).toMatch(/^--app-name=jjfs\|jjfs: conflict in notes\|c\.md — see: jjfs conflicts notes\|\n$/);

    await env.json(['config', 'set', 'notify_conflicts', 'off']);
    await conflict(a, b, 'd.md');
    expect((await env.json<{ repos: Array<{ paths: string[] }> }>(['conflicts'])).repos[0]!.paths).toContain('d.md');
    expect(await readFile(log, 'utf8')).not.toContain('d.md');
  }, 90_000);
});
