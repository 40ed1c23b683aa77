import { open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * jj keeps what git cannot hold of a commit (change id, predecessors) in a stacked table under
 * `.jj/repo/store/extra`: one file per segment, named by its content hash, each naming its parent
 * segment in its first bytes; `heads/` names the newest segment(s). Every commit writes a new
 * segment, merged with its ancestors as they fill (jj's stacked_table.rs), and jj never deletes the
 * segments that a merge superseded: an agent-pace repo gains a 4 KiB file per commit or so — 423
 * files for 510 commits measured, nearly all unreachable — and the bytes grow as n·log n with
 * the commits, faster than the history they describe.
 */
export function extrasDir(repoDir: string): string {
  return join(repoDir, '.jj', 'repo', 'store', 'extra');
}

/** Each unreachable segment the sweeps have seen, with when one first saw it so. */
export type ExtrasMark = ReadonlyMap<string, number>;

/** What one sweep did. */
export interface ExtrasSweepReport {
  /** Segment files deleted and their disk use. */
  removed: number;
  removedBytes: number;
  /** Unreachable segments left for a later sweep (first seen too recently), for the next call. */
  mark: ExtrasMark;
}

/** jj names a segment by its BLAKE2b-512 hash in hex; anything else (temp files, `lock`) is not touched. */
const SEGMENT_NAME = /^[0-9a-f]{128}$/;

/**
 * Deletes the segments of jj's commit-extras table that no head reaches, in two phases: a segment
 * is deleted only when an earlier sweep, at least `minAgeMs` ago, already found it unreachable.
 * Why two phases: a jj process reads `heads/` and then loads the named segment and its ancestors,
 * file by file; a segment that stopped being a head just before (the file itself may be old, so its
 * mtime says nothing) could be deleted between the two reads. A segment unreachable for a whole
 * `minAgeMs` was superseded before any jj process still loading could have listed the heads.
 *
 * Must run where no jj process writes the table (on the repo's queue: only jj steps run by the
 * engine write commits): a writer merging segments names existing ones as parents.
 * Nothing is deleted when a segment the heads name cannot be read (the table would be unreadable
 * anyway; jj's own error is clearer than a partial sweep). Crash-safe: each deletion is of a file
 * no head reaches; a kill leaves only more unreachable files for the next sweep.
 */
export async function sweepCommitExtras(repoDir: string, previous: ExtrasMark | undefined, minAgeMs: number, now = Date.now()): Promise<ExtrasSweepReport> {
  const dir = extrasDir(repoDir);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => SEGMENT_NAME.test(n));
  const heads = (await readdir(join(dir, 'heads')).catch(() => [] as string[])).filter((n) => SEGMENT_NAME.test(n));
  const reachable = new Set<string>();
  for (const head of heads) {
    for (let name: string | undefined = head; name !== undefined && !reachable.has(name); name = await parentOf(dir, name)) reachable.add(name);
  }
  // A segment keeps the time it was first seen unreachable (a later sweep must not restart it);
  // one that is gone, or reachable again, drops out of the mark.
  const mark = new Map<string, number>();
  for (const name of names) if (!reachable.has(name)) mark.set(name, previous?.get(name) ?? now);
  let removed = 0;
  let removedBytes = 0;
  if (heads.length === 0) return { removed, removedBytes, mark };
  for (const [name, seen] of mark) {
    if (now - seen < minAgeMs || !previous?.has(name)) continue;
    const st = await stat(join(dir, name)).catch(() => undefined);
    await rm(join(dir, name), { force: true });
    mark.delete(name);
    removed++;
    removedBytes += (st?.blocks ?? 0) * 512;
  }
  return { removed, removedBytes, mark };
}

/** The parent segment named in the first bytes of segment `name` (u32 LE length, then the name). */
async function parentOf(dir: string, name: string): Promise<string | undefined> {
  const file = await open(join(dir, name), 'r');
  try {
    const head = Buffer.alloc(4 + 128);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    if (bytesRead < 4) throw new Error(`jj's commit extras segment ${name} is truncated`);
    const length = head.readUInt32LE(0);
    if (length === 0) return undefined;
    const parent = head.subarray(4, 4 + length).toString('utf8');
    if (length !== 128 || bytesRead < 4 + length || !SEGMENT_NAME.test(parent)) throw new Error(`jj's commit extras segment ${name} names no valid parent`);
    return parent;
  } finally {
    await file.close();
  }
}
