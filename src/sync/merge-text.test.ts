import { describe, expect, it } from 'vitest';
import { hasConflictMarkers, isBinary, mergeText } from './merge-text.js';

const labels = { ours: 'main', theirs: 'mount B' };
const merge = (base: string | undefined, ours: string, theirs: string, policy?: 'merge' | 'markers') => {
  const r = mergeText(base === undefined ? undefined : Buffer.from(base), Buffer.from(ours), Buffer.from(theirs), labels, policy);
  return { text: r.bytes.toString(), conflicts: r.conflicts };
};

describe('mergeText', () => {
  it('keeps both sides of concurrent appends, ours first, with no markers', () => {
    expect(merge('a\n', 'a\nA1\nA2\n', 'a\nB1\n')).toEqual({ text: 'a\nA1\nA2\nB1\n', conflicts: 0 });
  });

  it('merges insertions at the same place in the middle of a file', () => {
    expect(merge('x\ny\n', 'x\nA\ny\n', 'x\nB\ny\n')).toEqual({ text: 'x\nA\nB\ny\n', conflicts: 0 });
  });

  it('takes each side where only one side changed, and a shared change once', () => {
    expect(merge('1\n2\n3\n4\n', '1\nTWO\n3\n4\n', '1\n2\n3\nFOUR\n')).toEqual({ text: '1\nTWO\n3\nFOUR\n', conflicts: 0 });
    expect(merge('1\n2\n', '1\nsame\n', '1\nsame\n')).toEqual({ text: '1\nsame\n', conflicts: 0 });
  });

  it('writes one two-sided conflict for the same line changed differently', () => {
    const r = merge('base\n', 'edit A\n', 'edit B\n');
    expect(r).toEqual({ text: '<<<<<<< main\nedit A\n=======\nedit B\n>>>>>>> mount B\n', conflicts: 1 });
    expect(hasConflictMarkers(r.text)).toBe(true);
  });

  it('does not grow a conflict when both sides later append under it', () => {
    const conflicted = merge('base\n', 'edit A\n', 'edit B\n').text;
    const r = merge(conflicted, `${conflicted}A more\n`, `${conflicted}B more\n`);
    expect(r.conflicts).toBe(0);
    expect(r.text).toBe(`${conflicted}A more\nB more\n`);
    expect(r.text.split('\n').filter((l) => l.startsWith('<<<<<<<')).length).toBe(1);
  });

  it('both sides adding the same new file: union of the lines', () => {
    expect(merge(undefined, 'A\n', 'B\n')).toEqual({ text: 'A\nB\n', conflicts: 0 });
    expect(merge(undefined, 'same\n', 'same\n')).toEqual({ text: 'same\n', conflicts: 0 });
  });

  it("policy 'markers' reviews concurrent insertions as conflicts", () => {
    expect(merge('a\n', 'a\nA\n', 'a\nB\n', 'markers')).toEqual({ text: 'a\n<<<<<<< main\nA\n=======\nB\n>>>>>>> mount B\n', conflicts: 1 });
  });

  it('never glues a line without a newline onto the next one', () => {
    expect(merge('a\n', 'a\nA', 'a\nB\n').text).toBe('a\nA\nB\n');
    expect(merge('', 'A', 'B').text).toBe('A\nB');
  });

  it('edits of adjacent lines and an insertion after a changed line both apply', () => {
    expect(merge('1\n2\n3\n', '1\nX\n3\n', '1\n2\nY\n')).toEqual({ text: '1\nX\nY\n', conflicts: 0 });
    expect(merge('1\n2\n', '1\nX\n', '1\n2\nnew\n')).toEqual({ text: '1\nX\nnew\n', conflicts: 0 });
  });

  it('keeps every byte of a non-UTF-8 file', () => {
    const base = Buffer.from([0xff, 0x0a]);
    const ours = Buffer.from([0xff, 0x0a, 0xfe, 0x0a]);
    const theirs = Buffer.from([0xff, 0x0a, 0xc3, 0x28, 0x0a]);
    expect([...mergeText(base, ours, theirs, labels).bytes]).toEqual([0xff, 0x0a, 0xfe, 0x0a, 0xc3, 0x28, 0x0a]);
  });

  it('merges appends to a 200k-line file of repeated lines (a quadratic merge would not finish in the test timeout)', () => {
    const base = Array.from({ length: 200_000 }, (_, i) => `line ${i % 50}\n`).join('');
    const r = merge(base, `${base}A\n`, `${base}B\n`);
    expect(r.text).toBe(`${base}A\nB\n`);
    expect(r.conflicts).toBe(0);
  });

  it('detects binary content and markers', () => {
    expect(isBinary(Buffer.from('a\0b'))).toBe(true);
    expect(isBinary(Buffer.from('plain'))).toBe(false);
    expect(hasConflictMarkers('<<<<<<< x\n=======\n')).toBe(false);
  });
});
