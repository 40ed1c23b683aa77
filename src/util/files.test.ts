import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readFrom, sizeOf } from './files.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('sizeOf and readFrom', () => {
  it('read what was appended after a byte offset, also after non-ASCII text', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'jjfs-files-'));
    const file = path.join(dir, 'log');
    writeFileSync(file, 'première ligne — déjà écrite\n');
    const offset = sizeOf(file);
    writeFileSync(file, 'première ligne — déjà écrite\njjfsd: échec\n');
    expect(readFrom(file, offset)).toBe('jjfsd: échec\n');
  });

  it('give 0 and an empty string for a missing file', () => {
    expect(sizeOf('/nonexistent/jjfs/log')).toBe(0);
    expect(readFrom('/nonexistent/jjfs/log', 0)).toBe('');
  });
});
