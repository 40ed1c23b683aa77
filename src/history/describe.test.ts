import { describe, expect, it } from 'vitest';
import { parseOrigin, restoreMessage, summarize, undoMessage } from './describe.js';

const C = 'a'.repeat(40);

describe('parseOrigin', () => {
  it('reads the mount and the time of a change recorded from a mount', () => {
    expect(parseOrigin('/home/u/proj a/notes 2026-11-20T10:00:00.123Z\n')).toEqual({
      by: '/home/u/proj a/notes',
      mount: '/home/u/proj a/notes',
      time: '2026-11-20T10:00:00.123Z',
    });
  });

  it('reads back what restore and undo write', () => {
    const when = new Date('2026-11-20T10:00:00.000Z');
    const r = parseOrigin(restoreMessage(when, 'n.md', { commit: C, time: '2026-11-19T10:00:00.000Z' }));
    expect(r).toMatchObject({ by: 'jjfs restore', mount: null, action: 'restore', source: C, time: when.toISOString() });
    expect(r.note).toMatch(/^Restored n\.md to the version of 2026-11-19/);
    const u = parseOrigin(undoMessage(when, { commit: C, by: '/m', time: 't', summary: 'n.md +1 -1' }));
    expect(u).toMatchObject({ by: 'jjfs undo', action: 'undo', source: C });
  });

  it('keeps a foreign message as it is', () => {
    expect(parseOrigin('jjfs: initial commit\n')).toEqual({ by: 'jjfs: initial commit', mount: null });
    expect(parseOrigin('')).toEqual({ by: '', mount: null });
  });
});

describe('summarize', () => {
  it('says created/deleted/changed lines, and counts many files', () => {
    expect(summarize([])).toBe('no file changes');
    expect(summarize([{ path: 'a', status: 'added', added: 3, removed: 0 }])).toBe('a created (+3)');
    expect(summarize([{ path: 'a', status: 'removed', added: 0, removed: 2 }])).toBe('a deleted (-2)');
    expect(summarize([{ path: 'a', status: 'modified', added: 2, removed: 1 }])).toBe('a +2 -1');
    const many = ['a', 'b', 'c', 'd'].map((p, i) => ({ path: p, status: i === 0 ? 'added' : 'modified', added: 1, removed: 1 }));
    expect(summarize(many)).toBe('4 files: +4 -4, 1 created');
  });
});
