import type { ErrorKind } from './errors.js';

/** Exit codes of `jjfs`, documented in README.md. */
export const ExitCode: Record<ErrorKind | 'ok', number> = {
  ok: 0,
  internal: 1,
  usage: 2,
  'daemon-unavailable': 3,
  'not-found': 4,
  'already-exists': 5,
  'invalid-input': 6,
  environment: 7,
  'version-mismatch': 8,
  conflict: 9,
  busy: 10,
};

/** The kind an exit code stands for (used to read a daemon's start-up failure). */
export function kindOfExitCode(code: number): ErrorKind | undefined {
  const entry = Object.entries(ExitCode).find(([, value]) => value === code);
  return entry && entry[0] !== 'ok' ? (entry[0] as ErrorKind) : undefined;
}
