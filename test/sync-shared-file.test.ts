import { appendFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditLines, EXACT } from '../src/sync/fixtures.test-support.js';
import { JjfsEnv, sleep, waitFor } from './helpers/jjfs-env.js';

// Many writers, one file (issue 11): through real mounts of one repo, every written line must be
// present exactly once, with no conflict markers, and every mount must end byte-identical.
let env: JjfsEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
});
afterEach(async () => {
  await env.cleanup();
});

interface Round {
  converged: boolean;
  conflicts: string[];
  problems: string[];
}

/**
 * `jjfs sync` until a forced round converges (writers have stopped; a few rounds at most). A round
 * that did not converge exits 1 with its report on stdout; its problems are printed, so a run that
 * never converges says why.
 */
async function settle(): Promise<Round> {
  let round: Round | undefined;
  for (let i = 0; i < 5; i++) {
    const r = await env.run(['sync', 'notes', '--json']);
    if (r.code !== 0 && r.code !== 1) throw new Error(`jjfs sync notes exited ${r.code}: ${r.stderr}${r.stdout}`);
    round = (JSON.parse(r.stdout) as { rounds: Round[] }).rounds[0]!;
    if (round.converged) break;
    console.log(`jjfs sync round ${i + 1} did not converge: ${round.problems.join('; ')}`);
  }
  return round!;
}

async function readTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = await readFile(path.join(dir, name), 'utf8');
  return out;
}

/** The mounts' trees once they are all the same (a mount shows a sync's result within moments). */
async function identicalTrees(mounts: string[]): Promise<Record<string, string>[]> {
  let trees: Record<string, string>[] = [];
  await waitFor(async () => {
    trees = await Promise.all(mounts.map(readTree));
    return trees.every((t) => JSON.stringify(t) === JSON.stringify(trees[0]));
  }, 20_000, 200);
  return trees;
}

/** Each mount appends numbered lines to `shared.log` (and to its own file) until `seconds` pass. */
async function appendFor(mounts: string[], seconds: number, pause: () => number, own = true): Promise<Map<string, string[]>> {
  const written = new Map<string, string[]>([['shared.log', []]]);
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(
    mounts.map(async (m, i) => {
      if (own) written.set(`own-${i}.log`, []);
      for (let n = 0; Date.now() < deadline; n += 1) {
        const shared = `m${i} shared ${n}\n`;
        await appendFile(path.join(m, 'shared.log'), shared);
        written.get('shared.log')!.push(shared);
        if (own) {
          const line = `m${i} own ${n}\n`;
          await appendFile(path.join(m, `own-${i}.log`), line);
          written.get(`own-${i}.log`)!.push(line);
        }
        await sleep(pause());
      }
    }),
  );
  return written;
}

describe('many writers, one file, through real mounts', () => {
  it('5 mounts appending every 20–50 ms for 20 s: every line exactly once, no markers, identical mounts', async () => {
    const mounts: string[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) mounts.push(await env.open('notes', name));
    const seconds = Number(process.env['JJFS_STRESS_SECONDS'] ?? 20);
    const written = await appendFor(mounts, seconds, () => 20 + Math.random() * 30);
    const round = await settle();
    expect(round.converged, round.problems.join('; ')).toBe(true);
    expect(round.conflicts).toEqual([]);
    const trees = await identicalTrees(mounts);
    for (const t of trees.slice(1)) expect(t).toEqual(trees[0]);
    expect(Object.keys(trees[0]!).sort()).toEqual([...written.keys()].sort());
    for (const [file, lines] of written) expect(auditLines(trees[0]![file] ?? '', lines), file).toEqual(EXACT);
    expect(written.get('shared.log')!.length).toBeGreaterThan(500);
  }, 240_000);

  it('2 mounts appending a line every 2 s: the file is exactly the lines written', async () => {
    const mounts = [await env.open('notes', 'a'), await env.open('notes', 'b')];
    const written = await appendFor(mounts, 20, () => 2_000, false);
    expect((await settle()).converged).toBe(true);
    const [ta] = await identicalTrees(mounts);
    expect(Object.keys(ta!)).toEqual(['shared.log']);
    expect(auditLines(ta!['shared.log']!, written.get('shared.log')!)).toEqual(EXACT);
    for (const m of mounts) expect(await readFile(path.join(m, 'shared.log'), 'utf8')).toBe(ta!['shared.log']);
  }, 120_000);

  it('the same line changed in 2 mounts, then both append for 10 s: one conflict that does not grow', async () => {
    const mounts = [await env.open('notes', 'a'), await env.open('notes', 'b')];
    const [a, b] = mounts as [string, string];
    await writeFile(path.join(a, 'shared.log'), 'title\n');
    await settle();
    await Promise.all([writeFile(path.join(a, 'shared.log'), 'title from a\n'), writeFile(path.join(b, 'shared.log'), 'title from b\n')]);
    const first = await settle();
    expect(first.conflicts).toEqual(['shared.log']);
    const [conflicted] = await identicalTrees(mounts);
    const before = conflicted!['shared.log']!;
    const markers = (t: string) => t.split('\n').filter((l) => /^(<{7}|={7}|>{7})( |$)/.test(l)).length;
    expect(markers(before)).toBe(3);

    const written = await appendFor(mounts, 10, () => 100, false);
    const round = await settle();
    expect(round.converged).toBe(true);
    expect(round.conflicts).toEqual(['shared.log']);
    const [after] = await identicalTrees(mounts);
    const text = after!['shared.log']!;
    expect(markers(text)).toBe(3);
    expect(text.startsWith(before)).toBe(true);
    // After the conflict block, exactly the appended lines, each once.
    expect(auditLines(text.slice(before.length), written.get('shared.log')!)).toEqual(EXACT);

    // A resolution saved in one mount clears it everywhere.
    await writeFile(path.join(b, 'shared.log'), 'resolved\n');
    expect((await settle()).conflicts).toEqual([]);
    expect((await env.run(['conflicts'])).stdout).toMatch(/No conflicts/);
  }, 120_000);

  it('a binary file changed in two mounts: both versions kept and listed', async () => {
    const mounts = [await env.open('notes', 'a'), await env.open('notes', 'b')];
    const [a, b] = mounts as [string, string];
    await writeFile(path.join(a, 'pic.bin'), Buffer.from([1, 0, 0]));
    await settle();
    await Promise.all([writeFile(path.join(a, 'pic.bin'), Buffer.from([1, 0, 0xa])), writeFile(path.join(b, 'pic.bin'), Buffer.from([1, 0, 0xb]))]);
    const round = await settle();
    expect(round.conflicts).toHaveLength(2);
    const copy = round.conflicts.find((p) => p !== 'pic.bin')!;
    expect(copy).toMatch(/^pic\.conflict-.+-\d{8}T\d{6}Z\.bin$/);
    await identicalTrees(mounts);
    const versions = await Promise.all(['pic.bin', copy].map(async (f) => [...(await readFile(path.join(b, f)))]));
    expect(versions.map((v) => v[2]).sort()).toEqual([0xa, 0xb]);
    expect((await env.run(['conflicts'])).stdout).toContain(`notes\t${copy}`);
    await rm(path.join(a, copy));
    expect((await settle()).conflicts).toEqual([]);
  }, 120_000);
});
