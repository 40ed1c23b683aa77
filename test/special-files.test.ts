import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { lstat, readFile, readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MountInfo, StatusResult, UnsyncedReport } from '../src/rpc/protocol.js';
import { JjfsEnv, readOrUndefined, waitFor } from './helpers/jjfs-env.js';
import { bareRemote, git } from './helpers/remote.js';

// Every file tool works in a mount (issue 13): FIFOs, Unix sockets and device nodes are made in
// the mount and work there, stay in that one mount (jj records no special files), and the sync
// engine, the watcher and `jjfs status` take them in their stride. Times have nanoseconds.
let env: JjfsEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
});
afterEach(async () => {
  await env.cleanup();
});

function sh(cmd: string, cwd: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('sh', ['-c', cmd], { cwd, timeout: 30_000 }, (e, stdout, stderr) => (e ? reject(new Error(`${cmd}: ${stderr || e.message}`)) : resolve(stdout))),
  );
}

/** Everything a reader gets from `file` until the writer closes it. */
function readAll(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    createReadStream(file, { encoding: 'utf8' })
      .on('data', (chunk) => (data += String(chunk)))
      .on('end', () => resolve(data))
      .on('error', reject);
  });
}

/** A Unix socket server bound in the mount that answers each message upper-cased. */
async function echoServer(socketPath: string): Promise<net.Server> {
  const server = net.createServer((c) => c.on('data', (d) => c.end(d.toString().toUpperCase())));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
  return server;
}

function ask(socketPath: string, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const c = net.createConnection(socketPath, () => c.write(message));
    c.on('data', (d) => (answer += d.toString())).on('end', () => resolve(answer)).on('error', reject);
  });
}

describe('special files in a mount', () => {
  it('a FIFO, a socket and a device node work in their mount and reach no other mount, history or remote', async () => {
    const a = await env.open('notes', 'a');
    const b = await env.open('notes', 'b');
    const remote = await bareRemote(path.join(env.root, 'remote.git'));
    expect((await env.run(['remote', 'add', remote, '--repo', 'notes'])).code).toBe(0);
    const commitsBefore = await env.commitCount('notes');

    // FIFO: bytes from a writer process to a reader, in order and exactly once.
    await sh('mkfifo pipe', a);
    expect((await lstat(path.join(a, 'pipe'))).isFIFO()).toBe(true);
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const reading = readAll(path.join(a, 'pipe'));
    await sh(`printf '%s' "${lines}" > pipe`, a);
    expect(await reading).toBe(lines);

    // Unix socket: bind(2) in the mount, connect, bytes both ways.
    const socketPath = path.join(a, 'srv.sock');
    const server = await echoServer(socketPath);
    try {
      expect((await lstat(socketPath)).isSocket()).toBe(true);
      expect(await ask(socketPath, 'hello over the mount')).toBe('HELLO OVER THE MOUNT');
    } finally {
      await new Promise((r) => server.close(r));
    }
    await sh('python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.bind(\'kept.sock\')"', a);

    // Character device (we run as root in CI: CAP_MKNOD): /dev/zero's numbers give zeros.
    await sh('mknod zero c 1 5', a);
    const zero = await lstat(path.join(a, 'zero'));
    expect(zero.isCharacterDevice()).toBe(true);
    expect(await sh('head -c 16 zero | od -An -tx1 | tr -d " \\n"', a)).toBe('00'.repeat(16));

    // A regular file written next to them syncs as usual; the special files go nowhere.
    await writeFile(path.join(a, 'note.md'), 'beside the specials\n');
    const rounds = await env.run(['sync', '--remote', 'notes']);
    expect(rounds.code, rounds.stderr).toBe(0);
    expect(await waitFor(async () => (await readOrUndefined(path.join(b, 'note.md'))) === 'beside the specials\n', 20_000)).toBe(true);
    expect((await readdir(b)).sort()).toEqual(['note.md']);
    expect(await env.commitCount('notes')).toBe(commitsBefore + 1);
    const inHistory = (await env.jj('notes', ['file', 'list', '-r', 'main'])).split('\n').filter(Boolean);
    expect(inHistory).toEqual(['note.md']);
    const onRemote = (await git(['--git-dir', remote, 'ls-tree', '-r', '--name-only', 'main'])).split('\n').filter(Boolean);
    expect(onRemote).toEqual(['note.md']);

    // Healthy, nothing reported as left out (they hold no data), and the mount closes without --force.
    const status = await env.json<StatusResult>(['status']);
    expect(status.repos.find((r) => r.name === 'notes')).toMatchObject({ conflicts: [], refusedFiles: [] });
    for (const m of status.mounts) expect(m, JSON.stringify(m)).toMatchObject({ state: 'mounted' });
    expect(status.mounts.map((m: MountInfo) => m.error)).toEqual([undefined, undefined]);
    const mountA = status.mounts.find((m: MountInfo) => m.path === a)!;
    expect(mountA.unsynced?.paths ?? []).toEqual([]);
    const unsynced = await env.json<{ mounts: Array<{ path: string; report: UnsyncedReport }> }>(['unsynced', a]);
    expect(unsynced.mounts.flatMap((m) => m.report.paths)).toEqual([]);
    // No error or warning about them anywhere in the daemon's log (watcher, engine, notifier).
    const complaints = (await env.daemonLog()).split('\n').filter((l) => / (WARN|ERROR) /.test(l) && /pipe|\.sock|zero/.test(l));
    expect(complaints).toEqual([]);
    const close = await env.run(['close', a]);
    expect(close.code, close.stderr).toBe(0);
    expect(await readFile(path.join(b, 'note.md'), 'utf8')).toBe('beside the specials\n');
  }, 120_000);

  it("keeps nanosecond times: touch -d and stat round-trip them, and git's index records them", async () => {
    const a = await env.open('notes', 'a');
    await writeFile(path.join(a, 'f.md'), 'x\n');
    await sh("touch -d '2021-03-04 05:06:07.123456789' f.md", a);
    expect((await sh('stat -c %y f.md', a)).trim()).toBe('2021-03-04 05:06:07.123456789 +0000');
    await sh("touch -m -d '2021-03-04 05:06:08.000000001' f.md && touch -a -d '2021-03-04 05:06:09.999999999' f.md", a);
    expect((await sh('stat -c "%y|%x" f.md', a)).trim()).toBe('2021-03-04 05:06:08.000000001 +0000|2021-03-04 05:06:09.999999999 +0000');
    // The change time is the kernel's, with nanoseconds of its own (not whole milliseconds).
    const ctimes = (await sh('for i in 1 2 3 4 5 6; do touch -c g$i; : > g$i; stat -c %z g$i; done', a)).trim().split('\n');
    expect(ctimes.some((c) => !/\.\d{3}000000 /.test(c)), ctimes.join('\n')).toBe(true);

    // git's index records the nanoseconds the mount reports, the file's real ones (with whole
    // milliseconds they would never match what git sees elsewhere, and git re-hashed everything).
    await sh('git init -q repo && cd repo && for i in $(seq 20); do echo $i > f$i; done && git add .', a);
    const debug = await sh('cd repo && git ls-files --debug', a);
    const recorded = [...debug.matchAll(/^f(\d+)\n(?:.*\n)*?\s+mtime: (\d+):(\d+)/gm)].map((m) => [m[1]!, `${m[2]}.${m[3]!.padStart(9, '0')}`]);
    expect(recorded).toHaveLength(20);
    for (const [i, mtime] of recorded) expect((await sh(`stat -c %.9Y repo/f${i}`, a)).trim()).toBe(mtime);
    expect(recorded.some(([, t]) => !t!.endsWith('000000')), recorded.join(' ')).toBe(true);
    expect((await sh('cd repo && git diff-files --quiet && echo clean', a)).trim()).toBe('clean');
  }, 60_000);
});
