import { JjfsError } from '../errors.js';

/**
 * TIME arguments (`--at`, `--since`): what a person types, turned into one instant by the CLI, so
 * the daemon only ever sees absolute ISO 8601 instants (relative forms are relative to the clock
 * of the person who typed them).
 *
 * Accepted: ISO 8601 (`2026-11-20T10:00:00Z`, `2026-11-20 10:00`, `2026-11-20`), compact
 * durations meaning "that long ago" (`90s`, `10m`, `2h`, `3d`, `1w`), and natural language through
 * chrono-node (`yesterday`, `yesterday 5pm`, `2 hours ago`, `last friday`, `noon`, `now`). A date
 * without a time means noon of that day (chrono-node's convention); the CLI prints the instant it
 * resolved to, so nobody has to guess.
 *
 * chrono-node is loaded on first use only, so every other command starts as fast as
 * before (loading it costs 100-200 ms).
 */

/** Compact duration: a number and a unit, meaning that long ago. */
const COMPACT = /^(\d+)\s*(s|m|h|d|w)$/;

/**
 * A revision id typed by hand: commit ids are hex, change ids use the letters k–z. Six or more such
 * characters are always read as a revision, never as a time (chrono-node reads `mon`, `sun`, `now`
 * as times; a short id like that is ambiguous and is read as a time).
 */
const ID_LIKE = /^(?:[0-9a-f]{6,64}|[k-z]{6,64})$/;

/** Strict ISO 8601 instant with a zone: the daemon's wire form of a TIME. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** True when `value` is an ISO 8601 instant with a zone (what the CLI sends for a TIME). */
export function isIsoInstant(value: string): boolean {
  return ISO_INSTANT.test(value) && !Number.isNaN(Date.parse(value));
}

/**
 * Parses a TIME. Returns undefined when `text` does not read as a time at all (the caller may then
 * treat it as a revision); throws invalid-input for a time in the future.
 */
export async function parseTime(text: string, now: Date = new Date()): Promise<Date | undefined> {
  const input = text.trim();
  if (input === '' || ID_LIKE.test(input)) return undefined;
  if (isIsoInstant(input)) return checkPast(new Date(input), text, now);
  const compact = COMPACT.exec(input);
  // chrono-node reads "-10m" as ten minutes ago; "10m" alone it does not read at all.
  const phrase = compact ? `-${compact[1] ?? ''}${compact[2] ?? ''}` : input;
  const chrono = await import('chrono-node');
  const results = chrono.casual.parse(phrase, now, { forwardDate: false });
  const first = results[0];
  // The whole text must be the time: "yesterday-ish" or "2h foo" is not a time.
  if (!first || results.length !== 1 || first.index !== 0 || first.text.length !== phrase.length) return undefined;
  return checkPast(first.start.date(), text, now);
}

/** Parses a TIME that must be one (`--since`): invalid-input with the accepted forms otherwise. */
export async function requireTime(text: string, flag: string, now: Date = new Date()): Promise<Date> {
  const when = await parseTime(text, now);
  if (!when) {
    throw new JjfsError(
      'invalid-input',
      `${flag} ${JSON.stringify(text)} is not a time. Use ISO 8601 (2026-11-20T10:00:00Z, "2026-11-20 10:00"), ` +
        'a duration ago (10m, 2h, 3d, 1w) or words (yesterday, "2 hours ago", "yesterday 5pm").',
    );
  }
  return when;
}

/**
 * What `--at X` / a REV argument names: a time (sent to the daemon as an ISO instant) or a jj
 * revision (sent as typed). Throws invalid-input for an empty value or a time in the future.
 */
export async function parseAt(text: string, flag: string, now: Date = new Date()): Promise<{ at: string; time?: Date }> {
  if (text.trim() === '') throw new JjfsError('invalid-input', `${flag} needs a revision or a time, e.g. ${flag} 2h or ${flag} 3f2a9c1e.`);
  const time = await parseTime(text, now);
  return time ? { at: time.toISOString(), time } : { at: text.trim() };
}

function checkPast(when: Date, text: string, now: Date): Date {
  // A second of slack: "now" parsed a moment ago is not the future.
  if (when.getTime() > now.getTime() + 1_000) {
    throw new JjfsError(
      'invalid-input',
      `The time ${JSON.stringify(text)} (${when.toISOString()}) is in the future; history only goes up to now. Use a past time, e.g. 10m or yesterday.`,
    );
  }
  return when;
}
