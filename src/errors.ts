/**
 * Kinds of failure a user can act on. Each maps to one JSON-RPC error code (rpc/errors.ts) and one
 * CLI exit code (exit-codes.ts), so the same cause reads the same everywhere.
 */
export type ErrorKind =
  | 'usage'
  | 'invalid-input'
  | 'not-found'
  | 'already-exists'
  | 'environment'
  | 'daemon-unavailable'
  | 'version-mismatch'
  | 'conflict'
  | 'busy'
  | 'internal';

/** An expected failure with a message that names the cause and the fix. */
export class JjfsError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'JjfsError';
  }
}

/** Narrows `unknown` to a Node system error with a `code`. */
export function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
