import type { ErrorKind } from '../errors.js';

/** JSON-RPC 2.0 standard codes. */
export const StandardCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
} as const;

/**
 * Our own codes live in the range the spec reserves for implementation-defined server errors
 * (-32000 to -32099). One code per ErrorKind, so the CLI can recover the kind from the wire.
 */
export const JjfsCode: Record<Exclude<ErrorKind, 'internal' | 'usage'>, number> = {
  'invalid-input': -32001,
  'not-found': -32002,
  'already-exists': -32003,
  environment: -32004,
  'daemon-unavailable': -32005,
  'version-mismatch': -32006,
  conflict: -32007,
  busy: -32008,
};

/** Maps a wire error code back to the kind of failure it stands for. */
export function kindOfCode(code: number): ErrorKind {
  for (const [kind, value] of Object.entries(JjfsCode)) if (value === code) return kind as ErrorKind;
  if (code === StandardCode.InvalidParams || code === StandardCode.InvalidRequest) return 'invalid-input';
  if (code === StandardCode.MethodNotFound) return 'version-mismatch';
  return 'internal';
}

/** Maps a kind to its wire code. */
export function codeOfKind(kind: ErrorKind): number {
  if (kind === 'internal') return StandardCode.InternalError;
  if (kind === 'usage') return StandardCode.InvalidParams;
  return JjfsCode[kind];
}
