import { JjfsError } from '../errors.js';

/**
 * Tiny runtime checks for RPC params: a request comes from another process and may be anything.
 * Each reader throws an invalid-input JjfsError naming the field.
 */
export type Reader<T> = (raw: unknown, field: string) => T;

export const str: Reader<string> = (raw, field) => {
  if (typeof raw !== 'string') throw new JjfsError('invalid-input', `Parameter "${field}" must be a string.`);
  return raw;
};

export const bool: Reader<boolean> = (raw, field) => {
  if (typeof raw !== 'boolean') throw new JjfsError('invalid-input', `Parameter "${field}" must be true or false.`);
  return raw;
};

export const num: Reader<number> = (raw, field) => {
  if (typeof raw !== 'number' || !Number.isFinite(raw)) {
    throw new JjfsError('invalid-input', `Parameter "${field}" must be a number.`);
  }
  return raw;
};

/** Makes a reader accept `undefined` (and `null`). */
export function optional<T>(reader: Reader<T>): Reader<T | undefined> {
  return (raw, field) => (raw === undefined || raw === null ? undefined : reader(raw, field));
}

/** Reads an object of named fields; unknown fields are refused so typos do not pass silently. */
export function object<T extends Record<string, unknown>>(shape: { [K in keyof T]: Reader<T[K]> }): (raw: unknown) => T {
  return (raw) => {
    const value = raw === undefined || raw === null ? {} : raw;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new JjfsError('invalid-input', 'Params must be a JSON object.');
    }
    const input = value as Record<string, unknown>;
    for (const key of Object.keys(input)) {
      if (!(key in shape)) throw new JjfsError('invalid-input', `Unknown parameter "${key}".`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, reader] of Object.entries(shape) as Array<[string, Reader<unknown>]>) {
      const v = reader(input[key], key);
      if (v !== undefined) out[key] = v;
    }
    return out as T;
  };
}
