import { posix } from 'node:path';
import { EXECUTABLE, isRegularFile, type TreeEntry } from './git-objects.js';
import { isBinary, mergeText, type InsertionPolicy } from './merge-text.js';

/**
 * What one conflicted path becomes: the rules of "many writers, one file", shared by the local
 * rebase repair and the remote merge. Pure: entries and blob contents in, the outcome out.
 */

/** What to put at a path: a tree entry as stored, or new file bytes. */
export type Put = { entry: TreeEntry } | { bytes: Buffer; mode: string };

/** A conflict a person should look at, recorded in the commit message and listed by `jjfs conflicts`. */
export type ConflictNote =
  /** A text file with conflict markers in it; listed until they are gone. */
  | { kind: 'markers'; path: string }
  /** Two versions that cannot be merged; one stays at `path`, the other was put at `copy`. Listed while `copy` exists. */
  | { kind: 'copy'; path: string; copy: string };

/** The outcome for one path. */
export interface PathOutcome {
  path: string;
  /** What `path` holds afterwards; undefined: nothing (both sides deleted it). */
  put: Put | undefined;
  /** The other version, kept beside `path`. */
  copy?: { path: string; put: Put };
  note?: ConflictNote;
}

/** The three versions of a path. */
export interface PathSides {
  base?: TreeEntry | undefined;
  ours?: TreeEntry | undefined;
  theirs?: TreeEntry | undefined;
}

/** Names for the two sides: in conflict markers, and in the name of a kept-beside copy. */
export interface SideNames {
  /** e.g. `main` */
  ours: string;
  /** e.g. the mount that wrote the incoming version */
  theirs: string;
}

/** Context of {@link resolvePath}. */
export interface ResolveContext {
  names: SideNames;
  policy: InsertionPolicy;
  /** When the clash was found; goes into copy names. */
  when: Date;
  /** Blob contents by id (every regular-file blob among the sides). */
  blob: (oid: string) => Buffer;
}

/** Turns a label (a mount path, a remote) into something safe inside a file name. */
export function originTag(label: string): string {
  const parts = label.split('/').filter((p) => p !== '');
  const tag = parts.slice(-2).join('-').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[.-]+/, '');
  return tag === '' ? 'unknown' : tag.slice(0, 60);
}

/**
 * `dir/name.conflict-<origin>-<UTC time>.ext` (the extension stays last so the right program
 * opens the copy).
 */
export function copyPath(path: string, origin: string, when: Date): string {
  const dir = posix.dirname(path);
  const base = posix.basename(path);
  const dot = base.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
  const stamp = when.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const name = `${stem}.conflict-${originTag(origin)}-${stamp}${ext}`;
  return dir === '.' ? name : `${dir}/${name}`;
}

/** Executable bit of the merge: a side that changed it against the base wins; ours when both did. */
function mergedMode(base: TreeEntry | undefined, ours: TreeEntry, theirs: TreeEntry): string {
  const exec = (e: TreeEntry | undefined): boolean => e?.mode === EXECUTABLE;
  const bit = base !== undefined && exec(ours) === exec(base) ? exec(theirs) : exec(ours);
  return bit ? EXECUTABLE : '100644';
}

/**
 * Resolves one path both sides changed.
 * - Both regular text files: {@link mergeText} (clean, insertions merged, or one marker conflict).
 * - Deleted on one side, changed on the other: the changed version stays (an edit is never lost).
 * - Anything else (binary, symlinks, file vs directory): one version in place, the other beside it
 *   under {@link copyPath}; a directory always stays in place (its files keep their paths),
 *   otherwise ours does.
 */
export function resolvePath(path: string, sides: PathSides, ctx: ResolveContext): PathOutcome {
  const { base, ours, theirs } = sides;
  if (ours === undefined || theirs === undefined) {
    const kept = ours ?? theirs;
    return { path, put: kept === undefined ? undefined : { entry: kept } };
  }
  if (isRegularFile(ours) && isRegularFile(theirs)) {
    const o = ctx.blob(ours.oid);
    const t = ctx.blob(theirs.oid);
    const b = isRegularFile(base) ? ctx.blob(base.oid) : undefined;
    if (!isBinary(o) && !isBinary(t) && (b === undefined || !isBinary(b))) {
      const merged = mergeText(b, o, t, ctx.names, ctx.policy);
      const put = { bytes: merged.bytes, mode: mergedMode(base, ours, theirs) };
      return merged.conflicts > 0 ? { path, put, note: { kind: 'markers', path } } : { path, put };
    }
  }
  if (ours.oid === theirs.oid && ours.mode === theirs.mode) return { path, put: { entry: ours } };
  const theirsInPlace = theirs.type === 'tree' && ours.type !== 'tree';
  const [inPlace, beside, origin] = theirsInPlace ? [theirs, ours, ctx.names.ours] : [ours, theirs, ctx.names.theirs];
  const copy = copyPath(path, origin, ctx.when);
  return { path, put: { entry: inPlace }, copy: { path: copy, put: { entry: beside } }, note: { kind: 'copy', path, copy } };
}

/** Commit-message trailer naming a text file left with conflict markers. */
export const MARKERS_TRAILER = 'Jjfs-Conflict:';
/** Commit-message trailer naming a file kept in place and the copy of the other version beside it. */
export const COPY_TRAILER = 'Jjfs-Conflict-Copy:';

/** Commit-message trailer naming the commits of the two sides that clashed (ours, then theirs). */
export const SIDES_TRAILER = 'Jjfs-Conflict-Sides:';

/**
 * The trailers recording `notes` in a commit message (empty string for none). `sides` names the
 * original commits that met, so each side's own version stays findable (`jjfs show COMMIT`).
 */
export function conflictTrailers(notes: readonly ConflictNote[], sides?: readonly string[]): string {
  if (notes.length === 0) return '';
  const lines = notes.map((n) => (n.kind === 'markers' ? `${MARKERS_TRAILER} ${JSON.stringify(n.path)}` : `${COPY_TRAILER} ${JSON.stringify([n.path, n.copy])}`));
  if (sides && sides.length > 0) lines.push(`${SIDES_TRAILER} ${sides.join(' ')}`);
  return `\n\n${lines.join('\n')}`;
}

/** The notes recorded by {@link conflictTrailers} in a commit message (unknown lines ignored). */
export function parseConflictTrailers(description: string): ConflictNote[] {
  const notes: ConflictNote[] = [];
  for (const line of description.split('\n')) {
    try {
      if (line.startsWith(`${MARKERS_TRAILER} `)) {
        const path: unknown = JSON.parse(line.slice(MARKERS_TRAILER.length + 1));
        if (typeof path === 'string') notes.push({ kind: 'markers', path });
      } else if (line.startsWith(`${COPY_TRAILER} `)) {
        const pair: unknown = JSON.parse(line.slice(COPY_TRAILER.length + 1));
        if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string') notes.push({ kind: 'copy', path: pair[0], copy: pair[1] });
      }
    } catch {
      // not one of ours
    }
  }
  return notes;
}
