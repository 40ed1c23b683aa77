import type { FileChange } from '../rpc/protocol.js';

/**
 * Commit messages jjfs writes, and reading them back for `jjfs log`.
 *
 * First line, always: `<origin> <ISO time>`. For a change recorded from a mount the origin is the
 * mount path (see RepoSync's commit step); for changes jjfs makes on request it is `jjfs restore`
 * or `jjfs undo`, followed by a blank line, a sentence saying what was done, and a trailer naming
 * the commit it came from (`jjfs-restore-from:` / `jjfs-undo-of:`), which `undo` reads back.
 */

/** Who made a change and when, as read from its description. */
export interface Origin {
  /** The mount path, or `jjfs restore` / `jjfs undo`, or the first line of a foreign message. */
  by: string;
  /** The mount path when the change came from a mount. */
  mount: string | null;
  /** The ISO time in the first line, when there is one. */
  time?: string;
  action?: 'restore' | 'undo';
  /** The sentence after the first line (restore/undo), if any. */
  note?: string;
  /** The commit a restore came from or an undo reversed. */
  source?: string;
}

const FIRST_LINE = /^(.*\S) (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)$/;
const TRAILER = /^jjfs-(restore-from|undo-of): ([0-9a-f]{40,64})$/m;

/** Reads the origin of a change from its description. */
export function parseOrigin(description: string): Origin {
  const [first = '', ...rest] = description.split('\n');
  const m = FIRST_LINE.exec(first);
  const by = m?.[1] ?? first;
  const origin: Origin = { by, mount: m && by.startsWith('/') ? by : null };
  if (m?.[2]) origin.time = m[2];
  if (by === 'jjfs restore' || by === 'jjfs undo') origin.action = by === 'jjfs restore' ? 'restore' : 'undo';
  const note = rest.find((l) => l.trim() !== '' && !TRAILER.test(l));
  if (note !== undefined && origin.action) origin.note = note.trim();
  const trailer = TRAILER.exec(description);
  if (trailer?.[2]) origin.source = trailer[2];
  return origin;
}

/** The description of a restore commit. */
export function restoreMessage(when: Date, what: string, from: { commit: string; time: string }): string {
  return [
    `jjfs restore ${when.toISOString()}`,
    '',
    `Restored ${what} to the version of ${from.time} (${from.commit.slice(0, 12)}).`,
    '',
    `jjfs-restore-from: ${from.commit}`,
    '',
  ].join('\n');
}

/** The description of an undo commit. */
export function undoMessage(when: Date, undone: { commit: string; by: string; time: string; summary: string }): string {
  return [
    `jjfs undo ${when.toISOString()}`,
    '',
    `Undid ${undone.commit.slice(0, 12)} (${undone.by}, ${undone.time}): ${undone.summary}.`,
    '',
    `jjfs-undo-of: ${undone.commit}`,
    '',
  ].join('\n');
}


/**
 * A short human summary: `notes.md +2 -1`, `todo.md created`, `old.md deleted`; more than three
 * files are counted (`5 files: +12 -3`).
 */
export function summarize(files: readonly FileChange[]): string {
  if (files.length === 0) return 'no file changes';
  const one = (f: FileChange): string => {
    if (f.status === 'added') return `${f.path} created (+${f.added})`;
    if (f.status === 'removed') return `${f.path} deleted (-${f.removed})`;
    return `${f.path} ${f.status === 'modified' ? '' : `${f.status} `}+${f.added} -${f.removed}`;
  };
  if (files.length <= 3) return files.map(one).join(', ');
  const added = files.reduce((n, f) => n + f.added, 0);
  const removed = files.reduce((n, f) => n + f.removed, 0);
  const created = files.filter((f) => f.status === 'added').length;
  const deleted = files.filter((f) => f.status === 'removed').length;
  const parts = [`${files.length} files: +${added} -${removed}`];
  if (created > 0) parts.push(`${created} created`);
  if (deleted > 0) parts.push(`${deleted} deleted`);
  return parts.join(', ');
}
