import { diff } from 'fast-myers-diff';

/**
 * The three-way line merge jjfs applies wherever two versions of one file meet: a workspace
 * rebased onto `main`, or `main` merged with the remote branch. jj's own merge would turn two
 * writers appending to one file into a conflict, and conflicts re-merged round after round
 * multiply their sides; this merge keeps concurrent insertions and leaves real conflicts as ONE
 * plain-text, git-style conflict that later merges treat as ordinary text.
 */

/** How a clash where both sides only inserted lines at the same place (the base has nothing there) ends. */
export type InsertionPolicy = 'merge' | 'markers';

/** Names written after the conflict markers: `<<<<<<< ours`, `>>>>>>> theirs`. */
export interface MergeLabels {
  ours: string;
  theirs: string;
}

/** The outcome of {@link mergeText}. */
export interface TextMerge {
  /** The merged bytes. */
  bytes: Buffer;
  /** Number of conflict regions written with markers (0: a clean merge). */
  conflicts: number;
}

/** A line index → line intern table, so the diff compares integers instead of strings. */
class LineTable {
  readonly #ids = new Map<string, number>();

  /** Splits `text` into lines that keep their `\n` (the last one may lack it) and interns them. */
  split(text: string): { lines: string[]; ids: Int32Array } {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      lines.push(text.slice(start, nl + 1));
      start = nl + 1;
    }
    if (start < text.length) lines.push(text.slice(start));
    const ids = new Int32Array(lines.length);
    lines.forEach((line, i) => {
      let id = this.#ids.get(line);
      if (id === undefined) {
        id = this.#ids.size;
        this.#ids.set(line, id);
      }
      ids[i] = id;
    });
    return { lines, ids };
  }
}

/** One change of a side against the base: base lines [baseStart, baseEnd) became side lines [sideStart, sideEnd). */
interface Hunk {
  side: 0 | 1;
  baseStart: number;
  baseEnd: number;
  sideStart: number;
  sideEnd: number;
}

function hunks(side: 0 | 1, base: Int32Array, other: Int32Array): Hunk[] {
  const out: Hunk[] = [];
  for (const [baseStart, baseEnd, sideStart, sideEnd] of diff(base, other)) out.push({ side, baseStart, baseEnd, sideStart, sideEnd });
  return out;
}

/**
 * Two hunks clash when their base ranges overlap, or when both insert at the same base position.
 * Hunks that merely touch (an insertion right after a changed line, edits of adjacent lines) apply
 * one after the other: they changed different base lines.
 */
function clash(a: { baseStart: number; baseEnd: number }, b: Hunk): boolean {
  if (a.baseStart < b.baseEnd && b.baseStart < a.baseEnd) return true;
  const aInsert = a.baseStart === a.baseEnd;
  const bInsert = b.baseStart === b.baseEnd;
  if (aInsert && bInsert) return a.baseStart === b.baseStart;
  // An insertion strictly inside the other side's changed range.
  if (aInsert) return b.baseStart < a.baseStart && a.baseStart < b.baseEnd;
  if (bInsert) return a.baseStart < b.baseStart && b.baseStart < a.baseEnd;
  return false;
}

/** Lines a side has in place of base [from, to), given that side's hunks inside that range. */
function sideRegion(from: number, to: number, side: Hunk[], lines: string[], baseLines: string[]): string[] {
  const out: string[] = [];
  let at = from;
  for (const h of side) {
    out.push(...baseLines.slice(at, h.baseStart), ...lines.slice(h.sideStart, h.sideEnd));
    at = h.baseEnd;
  }
  out.push(...baseLines.slice(at, to));
  return out;
}

function sameLines(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((line, i) => line === b[i]);
}

/**
 * Three-way merge of `ours` and `theirs` against `base` (absent base = both sides added the file).
 * Bytes are handled as latin1 so every encoding survives unchanged.
 *
 * - A region only one side changed takes that side's lines; the same change on both sides is taken once.
 * - Both sides inserted at the same place (nothing of the base there): `ours` first, then `theirs`,
 *   no markers (`policy: 'markers'` writes markers here too).
 * - Both sides changed the same base lines differently: one git-style, two-sided conflict
 *   (`<<<<<<< ours` / `=======` / `>>>>>>> theirs`, no base section, so jj reads it as plain text).
 * A region that ends without a newline gets one when more lines follow it, so no line is glued
 * onto another.
 */
export function mergeText(
  base: Buffer | undefined,
  ours: Buffer,
  theirs: Buffer,
  labels: MergeLabels,
  policy: InsertionPolicy = 'merge',
): TextMerge {
  const table = new LineTable();
  const b = table.split((base ?? Buffer.alloc(0)).toString('latin1'));
  const o = table.split(ours.toString('latin1'));
  const t = table.split(theirs.toString('latin1'));
  const all = [...hunks(0, b.ids, o.ids), ...hunks(1, b.ids, t.ids)].sort(
    (x, y) => x.baseStart - y.baseStart || x.baseEnd - y.baseEnd || x.side - y.side,
  );

  const pieces: string[][] = [];
  let conflicts = 0;
  let at = 0;
  for (let i = 0; i < all.length; ) {
    // Grow a group of mutually clashing hunks (transitively), over their whole base range.
    const group: Hunk[] = [all[i]!];
    const range = { baseStart: all[i]!.baseStart, baseEnd: all[i]!.baseEnd };
    let j = i + 1;
    while (j < all.length && clash(range, all[j]!)) {
      const h = all[j]!;
      group.push(h);
      range.baseStart = Math.min(range.baseStart, h.baseStart);
      range.baseEnd = Math.max(range.baseEnd, h.baseEnd);
      j += 1;
    }
    pieces.push(b.lines.slice(at, range.baseStart));
    const mine = group.filter((h) => h.side === 0);
    const yours = group.filter((h) => h.side === 1);
    const oursLines = sideRegion(range.baseStart, range.baseEnd, mine, o.lines, b.lines);
    const theirsLines = sideRegion(range.baseStart, range.baseEnd, yours, t.lines, b.lines);
    if (mine.length === 0) pieces.push(theirsLines);
    else if (yours.length === 0 || sameLines(oursLines, theirsLines)) pieces.push(oursLines);
    else if (range.baseStart === range.baseEnd && policy === 'merge') pieces.push(oursLines, theirsLines);
    else {
      conflicts += 1;
      pieces.push([`<<<<<<< ${labels.ours}\n`], oursLines, ['=======\n'], theirsLines, [`>>>>>>> ${labels.theirs}\n`]);
    }
    at = range.baseEnd;
    i = j;
  }
  pieces.push(b.lines.slice(at));

  const out: string[] = [];
  for (const piece of pieces) {
    for (const line of piece) {
      if (out.length > 0 && !out[out.length - 1]!.endsWith('\n')) out.push('\n');
      out.push(line);
    }
  }
  return { bytes: Buffer.from(out.join(''), 'latin1'), conflicts };
}

/** True when `bytes` looks binary the way git decides it: a NUL byte in the first 8000 bytes. */
export function isBinary(bytes: Buffer): boolean {
  return bytes.subarray(0, 8000).includes(0);
}

/** True when `text` holds a complete git-style conflict written by {@link mergeText} (or by git). */
export function hasConflictMarkers(text: string): boolean {
  return /^<{7} /m.test(text) && /^={7}\r?$/m.test(text) && /^>{7} /m.test(text);
}
