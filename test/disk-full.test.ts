import { execFile, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StatusResult } from '../src/rpc/protocol.js';
import { auditLines, EXACT } from '../src/sync/fixtures.test-support.js';
import { locateJj } from '../src/sync/jj-locate.js';
import { JjfsEnv, sleep, waitFor } from './helpers/jjfs-env.js';

// A full disk loses nothing (issue 18): JJFS_HOME — every workspace and the history — on a 48 MiB
// tmpfs made for the test. Two mounts write until the filesystem is full: the writers get ENOSPC,
// status names the cause, and once space is freed the mounts converge by themselves with every
// line a write acknowledged, exactly once.
const run = (cmd: string, args: string[]) =>
  new Promise<void>((resolve, reject) => execFile(cmd, args, (err, _o, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve())));

let env: JjfsEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
  if (process.getuid?.() !== 0) throw new Error('this test mounts a size-limited tmpfs for JJFS_HOME and needs root (CI runs as root)');
  await mkdir(env.home, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', 'size=48m,mode=0700', 'tmpfs', env.home]);
});
afterEach(async () => {
  // cleanup() stops the daemon, unmounts everything under the env's root (the tmpfs too) and removes it.
  await env.cleanup();
});

/** Fills the filesystem of `file` until ENOSPC; returns how many bytes it took. */
async function fill(file: string): Promise<number> {
  const fh = await open(file, 'w');
  let total = 0;
  try {
    const chunk = Buffer.alloc(1 << 20, 7);
    for (;;) {
      try {
        const { bytesWritten } = await fh.write(chunk);
        total += bytesWritten;
        if (bytesWritten < chunk.length) break;
      } catch {
        break; // ENOSPC
      }
    }
  } finally {
    await fh.close().catch(() => undefined);
  }
  return total;
}

describe('a full disk under JJFS_HOME', () => {
  it('writers get ENOSPC, status says why, and after freeing space every acknowledged line arrives once', async () => {
    const a = await env.open('notes', 'a');
    const b = await env.open('notes', 'b');
    const acked: Record<string, string[]> = { a: [], b: [] };
    const errors: string[] = [];
    let stop = false;
    const writer = async (name: 'a' | 'b', dir: string) => {
      let n = 0;
      while (!stop) {
        const line = `${name} line ${n++} ${'z'.repeat(60)}\n`;
        try {
          const fh = await open(path.join(dir, `log-${name}.md`), 'a');
          let written: number;
          try {
            // One write(2): acknowledged whole, or short (the disk filled in the middle), or an error.
            written = (await fh.write(line)).bytesWritten;
          } finally {
            await fh.close();
          }
          if (written === Buffer.byteLength(line)) acked[name]!.push(line);
          else errors.push(`short write (${written} of ${Buffer.byteLength(line)} bytes)`);
        } catch (error) {
          errors.push((error as NodeJS.ErrnoException).code ?? String(error));
        }
        await sleep(20);
      }
    };
    const writers = [writer('a', a), writer('b', b)];
    await sleep(1_500);
    const ballast = path.join(env.home, 'ballast');
    await fill(ballast);
    // Writing on while the disk is full: the writers must be told, and jj fails in its rounds.
    const told = await waitFor(() => errors.includes('ENOSPC'), 30_000);
    const unhealthy = await waitFor(async () => {
      const st = await env.json<StatusResult>(['status']).catch(() => undefined);
      return st?.mounts.some((m) => m.state === 'unhealthy' && /No space left on device|ENOSPC/i.test(m.error ?? '')) ?? false;
    }, 30_000);
    stop = true;
    await Promise.all(writers);
    expect(told, `writers saw: ${[...new Set(errors)].join(', ')}`).toBe(true);
    expect(unhealthy, 'status never named the full disk').toBe(true);

    await rm(ballast);
    // No `jjfs sync`, no restart: the daemon retries on its own.
    let last = ''; // what the last check saw, for the failure message
    const converged = await waitFor(
      async () => {
        const seen: string[] = [];
        for (const dir of [a, b]) {
          for (const name of ['a', 'b'] as const) {
            const text = await readFile(path.join(dir, `log-${name}.md`), 'utf8').catch(() => '');
            const audit = auditLines(text, acked[name]!);
            if (audit.missing > 0 || audit.duplicated > 0) seen.push(`${path.basename(dir)}/log-${name}.md of ${acked[name]!.length} acknowledged: ${JSON.stringify(audit)}`);
          }
        }
        const st = await env.json<StatusResult>(['status']);
        for (const m of st.mounts) if (m.state !== 'mounted') seen.push(`${m.path}: ${m.state} ${m.error ?? ''}`);
        last = seen.join('; ');
        return seen.length === 0;
      },
      90_000,
      500,
    );
    if (!converged && process.env['DEBUG_DISKFULL']) {
      const wsRoot = path.join(env.home, 'repos', 'notes', 'workspaces');
      const jj = (await locateJj()).path; // the daemon's jj (npm package), which need not be on PATH
      for (const id of readdirSync(wsRoot)) {
        const run = (args: string[]): string => {
          try {
            return execFileSync(jj, args, { cwd: path.join(wsRoot, id), encoding: 'utf8' });
          } catch (e) {
            return String(e);
          }
        };
        console.log(id, 'ignore-wc log:', run(['--ignore-working-copy', 'log', '-r', '::@ & ~root()', '--no-graph', '-T', 'commit_id.short() ++ " " ++ description.first_line() ++ "\n"', '--limit', '6']));
        console.log(id, 'status:', run(['status']));
      }
      console.log((await env.daemonLog()).split('\n').slice(-80).join('\n'));
    }
    expect(converged, `the mounts did not converge after space was freed: ${last}`).toBe(true);
    const round = (await env.json<{ rounds: Array<{ converged: boolean }> }>(['sync', 'notes'])).rounds[0]!;
    expect(round.converged).toBe(true);
    for (const dir of [a, b]) {
      for (const name of ['a', 'b'] as const) {
        const audit = auditLines(await readFile(path.join(dir, `log-${name}.md`), 'utf8'), acked[name]!);
        // A write that failed may have left part of its line: never a whole line twice, none lost.
        expect({ ...audit, unexpected: 0, extraBytes: 0 }).toEqual(EXACT);
        expect(audit.unexpected).toBeLessThanOrEqual(errors.length);
      }
    }
    // And in history: main holds exactly what the mounts hold.
    for (const name of ['a', 'b'] as const) {
      const shown = await env.json<{ sha256: string }>(['show', 'main', `log-${name}.md`, '--repo', 'notes']);
      expect(shown.sha256).toBe(createHash('sha256').update(await readFile(path.join(a, `log-${name}.md`))).digest('hex'));
    }
  }, 240_000);
});
