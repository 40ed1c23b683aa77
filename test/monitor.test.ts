import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../src/rpc/protocol.js';
import { CLI, JjfsEnv, waitFor } from './helpers/jjfs-env.js';
import { bareRemote } from './helpers/remote.js';

// jjfs monitor (issue 15): a live stream of what the daemon does, over a JSON-RPC subscription.
let env: JjfsEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
});
afterEach(async () => {
  await env.cleanup();
});

function monitor(args: string[]): { child: ChildProcess; events: MonitorEvent[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'monitor', ...args], { env: env.env(), stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid) env.pids.add(child.pid); // cleanup ends it if the test does not
  const events: MonitorEvent[] = [];
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') events.push(JSON.parse(line) as MonitorEvent);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, events, exited };
}

describe('jjfs monitor', () => {
  it('streams a write, its round, a conflict and a push, in order, and ends cleanly on Ctrl-C', async () => {
    const a = await env.open('notes', 'a');
    const b = await env.open('notes', 'b');
    await writeFile(path.join(a, 'c.md'), 'base\n');
    await env.json(['sync', 'notes']);
    const m = monitor(['--json']);
    // Subscribed once a first event can arrive: wait for the stderr note.
    const ready = new Promise<void>((resolve) => m.child.stderr!.on('data', (d: Buffer) => d.toString().includes('Watching') && resolve()));
    await ready;

    await writeFile(path.join(a, 'note.md'), 'hello\n');
    const index = (test: (e: MonitorEvent) => boolean) => m.events.findIndex(test);
    expect(await waitFor(() => index((e) => e.type === 'round' && e.committed.includes(a)) >= 0, 20_000)).toBe(true);
    const change = index((e) => e.type === 'change' && e.mount === a);
    const round = index((e) => e.type === 'round' && e.committed.includes(a));
    expect(change).toBeGreaterThanOrEqual(0);
    expect(change).toBeLessThan(round);

    await Promise.all([writeFile(path.join(a, 'c.md'), 'from a\n'), writeFile(path.join(b, 'c.md'), 'from b\n')]);
    await env.json(['sync', 'notes']);
    expect(await waitFor(() => index((e) => e.type === 'conflict' && e.path === 'c.md') >= 0, 20_000)).toBe(true);

    const remote = await bareRemote(path.join(env.root, 'remote.git'));
    expect((await env.run(['remote', 'add', remote, '--repo', 'notes'])).code).toBe(0);
    await env.run(['sync', '--remote', 'notes']);
    expect(await waitFor(() => index((e) => e.type === 'remote' && e.pushed) >= 0, 30_000)).toBe(true);
    const conflict = index((e) => e.type === 'conflict');
    const pushed = index((e) => e.type === 'remote' && e.pushed);
    expect(round).toBeLessThan(conflict);
    expect(conflict).toBeLessThan(pushed);
    expect(m.events.every((e) => e.repo === 'notes' && !Number.isNaN(Date.parse(e.time)))).toBe(true);

    m.child.kill('SIGINT');
    const code = await Promise.race([m.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
    expect(code).toBe(0);
  }, 120_000);

  it('a monitor of a repo that does not exist is refused', async () => {
    await env.open('notes', 'a');
    const r = await env.run(['monitor', 'nope']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/No repo named "nope"/);
  });
});
