import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RepoInfo, StatusResult } from '../src/rpc/protocol.js';
import { auditLines, EXACT } from '../src/sync/fixtures.test-support.js';
import { isAlive, JjfsEnv, sleep, waitFor } from './helpers/jjfs-env.js';

// History that stays small (issue 18): the daemon packs the loose objects jj writes, between
// rounds, and a kill -9 in the middle of it leaves a store that git and jj both read.
let env: JjfsEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
});
afterEach(async () => {
  await env.cleanup();
});

const gitDir = () => path.join(env.home, 'repos', 'notes', 'repo', '.jj', 'repo', 'store', 'git');

async function repoInfo(): Promise<RepoInfo> {
  return (await env.json<StatusResult>(['status'])).repos.find((r) => r.name === 'notes')!;
}

/** `git fsck` of jj's store: every object reachable from every ref is there and intact. */
function fsck(): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile('git', ['--git-dir', gitDir(), 'fsck', '--no-dangling', '--no-progress'], { maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` }),
    ),
  );
}

/** Pids of the git processes working on this test's store (children of our daemon). */
/** A process's command line, '' once it has exited (it can between listing /proc and reading it). */
function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function gitProcessesOnStore(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmd.includes(gitDir()) || cmd.includes('pack-objects')) {
        // pack-objects is started by our repack with cwd in the store: check its cwd too.
        if (cmd.includes(gitDir()) || readFileSync(`/proc/${name}/environ`, 'utf8').includes(gitDir())) pids.push(Number(name));
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

describe('history compaction', () => {
  it('packs the loose objects agents make, between rounds, and every line stays exactly once', async () => {
    const a = await env.open('notes', 'a');
    const b = await env.open('notes', 'b');
    await env.json(['config', 'set', 'compact_loose_objects', '150', '--repo', 'notes']);
    const written: Record<string, string[]> = { a: [], b: [] };
    // Agent pace: a line and a small rewrite per mount, until the daemon has compacted (it checks
    // at most every 10 s after changes).
    let i = 0;
    const compacted = await waitFor(
      async () => {
        for (const [name, dir] of [['a', a], ['b', b]] as const) {
          const line = `${name} ${i} ${'y'.repeat(30)}\n`;
          await appendFile(path.join(dir, `log-${name}.md`), line);
          written[name]!.push(line);
          await writeFile(path.join(dir, `state-${name}.md`), `step ${i}\n`);
        }
        i++;
        await sleep(60);
        return i % 20 === 0 && (await repoInfo()).history?.lastCompaction !== undefined;
      },
      120_000,
      0,
    );
    expect(compacted, 'no compaction within 120 s').toBe(true);
    const round = (await env.json<{ rounds: Array<{ converged: boolean }> }>(['sync', 'notes'])).rounds[0]!;
    expect(round.converged).toBe(true);
    const info = await repoInfo();
    const last = info.history!.lastCompaction!;
    expect(last.error).toBeUndefined();
    expect(last.looseBefore).toBeGreaterThanOrEqual(150);
    expect(last.looseAfter).toBeLessThan(last.looseBefore);
    expect(info.history!.packs).toBeGreaterThanOrEqual(1);
    // jj's `::main` counts its virtual root commit too, which git does not store.
    expect(info.history!.commits).toBe((await env.commitCount('notes')) - 1);
    for (const dir of [a, b]) {
      for (const name of ['a', 'b']) expect(auditLines(await readFile(path.join(dir, `log-${name}.md`), 'utf8'), written[name]!)).toEqual(EXACT);
    }
    expect(await fsck()).toMatchObject({ code: 0 });
    // jj reads the packed store: the history of one file lists every version.
    const log = await env.json<{ entries: unknown[] }>(['log', 'log-a.md', '--repo', 'notes', '--limit', '100000']);
    expect(log.entries.length).toBeGreaterThan(1);
  }, 180_000);

  it("trims jj's operation log while two mounts write: every line exactly once, history stays small", async () => {
    const a = await env.open('notes', 'a');
    const b = await env.open('notes', 'b');
    for (const [key, value] of [['op_log_max', '150'], ['op_log_keep', '30'], ['compact_loose_objects', '100000']]) {
      await env.json(['config', 'set', key!, value!, '--repo', 'notes']);
    }
    const written: Record<string, string[]> = { a: [], b: [] };
    let i = 0;
    const trims = new Set<string>();
    // Agent pace until the daemon has trimmed three times (it checks at most every 10 s after changes).
    const trimmed = await waitFor(
      async () => {
        for (const [name, dir] of [['a', a], ['b', b]] as const) {
          const line = `${name} ${i} ${'z'.repeat(30)}\n`;
          await appendFile(path.join(dir, `log-${name}.md`), line);
          written[name]!.push(line);
          await writeFile(path.join(dir, `state-${name}.md`), `step ${i}\n`);
        }
        i++;
        await sleep(50);
        if (i % 20 !== 0) return false;
        const last = (await repoInfo()).history?.lastCompaction;
        if (last?.opsAfter !== undefined) {
          expect(last.error).toBeUndefined();
          expect(last.opsAfter).toBeLessThan(last.opsBefore!);
          trims.add(last.at);
        }
        return trims.size >= 3;
      },
      150_000,
      0,
    );
    expect(trimmed, `${trims.size} trims within 150 s`).toBe(true);
    const round = (await env.json<{ rounds: Array<{ converged: boolean }> }>(['sync', 'notes'])).rounds[0]!;
    expect(round.converged).toBe(true);
    for (const dir of [a, b]) {
      for (const name of ['a', 'b']) expect(auditLines(await readFile(path.join(dir, `log-${name}.md`), 'utf8'), written[name]!)).toEqual(EXACT);
    }
    const info = await repoInfo();
    // Each trim keeps 30; what was written since the last one comes on top (fewer than op_log_max).
    expect(info.history!.operations).toBeLessThan(150);
    expect(await fsck()).toMatchObject({ code: 0 });
    // jj and the history commands read the trimmed repo: main's history has every round.
    expect(info.history!.commits).toBe((await env.commitCount('notes')) - 1);
    const log = await env.json<{ entries: unknown[] }>(['log', 'log-a.md', '--repo', 'notes', '--limit', '100000']);
    expect(log.entries.length).toBeGreaterThan(10);
    // `jjfs compact` trims to op_log_keep and prunes at once.
    const compacted = await env.json<{ repos: Array<{ compaction?: { error?: string; pruned?: boolean; opsAfter?: number } }> }>(['compact', 'notes']);
    expect(compacted.repos[0]!.compaction).toMatchObject({ pruned: true });
    expect(compacted.repos[0]!.compaction?.error).toBeUndefined();
    expect(compacted.repos[0]!.compaction?.opsAfter).toBeLessThanOrEqual(32);
    expect(await fsck()).toMatchObject({ code: 0 });
  }, 240_000);

  it('a kill -9 while the operation log is trimmed: the restarted daemon recovers every mount, every acknowledged line exactly once', async () => {
    const a = await env.open('notes', 'a');
    const b = await env.open('notes', 'b');
    for (const [key, value] of [['op_log_max', '40'], ['op_log_keep', '10']]) await env.json(['config', 'set', key!, value!, '--repo', 'notes']);
    const daemon = (await env.daemonPid())!;
    const acked: Record<string, string[]> = { a: [], b: [] };
    let stop = false;
    // Writers record a line only once the mount acknowledged it; the kill makes their next write fail.
    const writers = ([['a', a], ['b', b]] as const).map(async ([name, dir]) => {
      for (let n = 0; !stop; n++) {
        const line = `${name} ${n}\n`;
        try {
          await appendFile(path.join(dir, `log-${name}.md`), line);
        } catch {
          return;
        }
        acked[name]!.push(line);
        await sleep(40);
      }
    });
    // The jj step that moves a working copy onto the trimmed log: some workspaces moved, others not.
    const trimStep = (): number | undefined => {
      const pid = readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .find((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('update-stale') && readFileSync(`/proc/${p}/environ`, 'utf8').includes(env.home);
          } catch {
            return false;
          }
        });
      return pid === undefined ? undefined : Number(pid);
    };
    const caught = await waitFor(() => trimStep() !== undefined, 120_000, 2);
    const step = trimStep();
    for (const pid of [daemon, ...(step === undefined ? [] : [step])]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    stop = true;
    await Promise.all(writers);
    expect(caught, 'no trim of the operation log within 120 s').toBe(true);
    expect(await waitFor(() => !isAlive(daemon), 10_000)).toBe(true);

    expect((await env.run(['start'])).code).toBe(0);
    expect(await waitFor(async () => (await env.json<StatusResult>(['status'])).mounts.every((m) => m.state === 'mounted'), 30_000)).toBe(true);
    const round = (await env.json<{ rounds: Array<{ converged: boolean }> }>(['sync', 'notes'])).rounds[0]!;
    expect(round.converged).toBe(true);
    for (const dir of [a, b]) {
      for (const name of ['a', 'b']) expect(auditLines(await readFile(path.join(dir, `log-${name}.md`), 'utf8'), acked[name]!)).toEqual(EXACT);
    }
    expect(acked['a']!.length).toBeGreaterThan(10);
    expect(await fsck()).toMatchObject({ code: 0 });
    const st = await env.json<StatusResult>(['status']);
    expect(st.mounts.map((m) => m.state)).toEqual(['mounted', 'mounted']);
    const compacted = await env.json<{ repos: Array<{ compaction?: { error?: string } }> }>(['compact', 'notes']);
    expect(compacted.repos[0]!.compaction?.error).toBeUndefined();
    const log = await env.json<{ entries: unknown[] }>(['log', 'log-b.md', '--repo', 'notes', '--limit', '100000']);
    expect(log.entries.length).toBeGreaterThan(1);
  }, 240_000);

  it('a kill -9 in the middle of a repack leaves a store git and jj read; the next start compacts it', async () => {
    const a = await env.open('notes', 'a');
    await env.json(['config', 'set', 'compact_loose_objects', '0', '--repo', 'notes']);
    // Incompressible content so the repack takes long enough to be caught in the middle.
    const sums = new Map<string, string>();
    for (let k = 0; k < 24; k++) {
      const data = randomBytes(4 << 20);
      await writeFile(path.join(a, `blob-${k}.bin`), data);
      sums.set(`blob-${k}.bin`, createHash('sha256').update(data).digest('hex'));
    }
    await env.json(['sync', 'notes']);
    await env.json(['config', 'set', 'compact_loose_objects', '1', '--repo', 'notes']);
    const daemon = (await env.daemonPid())!;
    await writeFile(path.join(a, 'trigger.md'), 'pack now\n'); // a commit: the compactor checks at once
    const caught = await waitFor(() => gitProcessesOnStore().some((p) => cmdlineOf(p).includes('repack')), 30_000, 5);
    expect(caught, 'the repack never started').toBe(true);
    await sleep(150);
    // A crash of the whole machine, as far as the store can tell: the daemon and its git processes.
    const victims = [daemon, ...gitProcessesOnStore()];
    for (const pid of victims) process.kill(pid, 'SIGKILL');
    expect(await waitFor(() => victims.every((p) => !isAlive(p)), 10_000)).toBe(true);

    expect(await fsck()).toMatchObject({ code: 0 });
    expect((await env.run(['start'])).code).toBe(0);
    expect(await waitFor(async () => (await env.json<StatusResult>(['status'])).mounts.every((m) => m.state === 'mounted'), 30_000)).toBe(true);
    for (const [name, sum] of sums) expect(createHash('sha256').update(await readFile(path.join(a, name))).digest('hex')).toBe(sum);
    expect(await readFile(path.join(a, 'trigger.md'), 'utf8')).toBe('pack now\n');
    const compacted = await env.json<{ repos: Array<{ compaction?: { error?: string; looseAfter: number }; history: { looseObjects: number } }> }>(['compact', 'notes']);
    expect(compacted.repos[0]!.compaction?.error).toBeUndefined();
    expect(compacted.repos[0]!.history.looseObjects).toBeLessThan(10);
    expect(await fsck()).toMatchObject({ code: 0 });
    const log = await env.json<{ entries: unknown[] }>(['log', 'blob-3.bin', '--repo', 'notes']);
    expect(log.entries.length).toBe(1);
  }, 180_000);
});
