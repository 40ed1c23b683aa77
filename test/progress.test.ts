import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, JjfsEnv } from './helpers/jjfs-env.js';

// Long operations show progress on a terminal and nothing extra when piped (issue 15). The
// terminal is a real pseudo-terminal made by script(1) (util-linux/bsdutils, on every Debian).
let env: JjfsEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
});
afterEach(async () => {
  await env.cleanup();
});

function inTerminal(args: string[]): Promise<{ code: number; output: string }> {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve) => {
    execFile('script', ['-qec', command, '/dev/null'], { env: env.env(), cwd: env.root, timeout: 60_000 }, (error, stdout) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout }),
    );
  });
}

describe('progress of long operations', () => {
  it('open and close show a counter on a terminal, and nothing extra when piped', async () => {
    const tty = await inTerminal(['open', 'notes', path.join(env.root, 'a')]);
    expect(tty.code).toBe(0);
    expect(tty.output).toMatch(/\rOpening notes at .*\/a … \d+\.\d s/);
    expect(tty.output).toContain('Mounted notes at');
    const closed = await inTerminal(['close', path.join(env.root, 'a')]);
    expect(closed.output).toMatch(/\rClosing .*\/a … \d+\.\d s/);

    const piped = await env.run(['open', 'notes', path.join(env.root, 'b')]);
    expect(piped.code).toBe(0);
    expect(piped.stdout).toBe(`Mounted notes at ${path.join(env.root, 'b')}\n`);
    expect(piped.stderr).toBe('');
    const json = await env.run(['close', path.join(env.root, 'b'), '--json']);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toMatchObject({ mount: { path: path.join(env.root, 'b') } });
  }, 90_000);
});
