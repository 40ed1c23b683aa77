import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JjfsEnv, readOrUndefined, ROOT, waitFor } from './helpers/jjfs-env.js';

// Installing as users do (issue 15): the packed package, installed globally into a temporary
// prefix with npm's install scripts blocked (npm 11's default), must open, sync and stop.
let env: JjfsEnv;
beforeEach(async () => {
  env = await JjfsEnv.create('jjfs-test-pkg-');
});
afterEach(async () => {
  await env.cleanup();
});

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { cwd: opts.cwd ?? env.root, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    ),
  );
}

describe('the npm package', () => {
  it('npm pack, a global install with install scripts blocked, then open, a write, convergence, stop', async () => {
    // dist/ is built by `npm test` before vitest; --ignore-scripts keeps pack from rebuilding the
    // shared tree under the other test files.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', env.root], { cwd: ROOT });
    expect(packed.code, packed.stderr).toBe(0);
    const tarball = (await readdir(env.root)).find((f) => f.endsWith('.tgz'))!;
    const prefix = path.join(env.root, 'prefix');
    const installed = await run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', path.join(env.root, tarball)],
      { timeoutMs: 300_000 },
    );
    expect(installed.code, installed.stderr).toBe(0);

    // No jj on PATH (vitest puts node_modules/.bin there): the installed package must bring its own.
    const PATH = (process.env['PATH'] ?? '').split(':').filter((d) => !d.includes('node_modules')).join(':');
    const userEnv = env.env({ PATH });
    const jjfs = (args: string[]) => run(path.join(prefix, 'bin', 'jjfs'), args, { env: userEnv });
    const a = path.join(env.root, 'a');
    const b = path.join(env.root, 'b');
    const opened = await jjfs(['open', 'notes', a]);
    expect(opened.code, opened.stderr).toBe(0);
    await env.daemonPid(); // remembered for cleanup
    expect((await jjfs(['open', 'notes', b])).code).toBe(0);
    await writeFile(path.join(a, 'hello.md'), 'from the packed package\n');
    expect(await waitFor(async () => (await readOrUndefined(path.join(b, 'hello.md'))) === 'from the packed package\n', 20_000)).toBe(true);
    const status = JSON.parse((await jjfs(['status', '--json'])).stdout) as { jj: { path: string }; warnings: string[] };
    expect(status.jj.path.startsWith(prefix)).toBe(true);
    expect(status.warnings).toEqual([]);
    expect((await jjfs(['stop'])).code).toBe(0);
  }, 400_000);
});
