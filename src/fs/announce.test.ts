import { describe, expect, it } from 'vitest';
import { AnnounceState, planAnnouncements } from './announce.js';

describe('planAnnouncements', () => {
  it('orders directory creation parents first and deletion deepest first', () => {
    const kinds: Record<string, 'file' | 'dir' | 'missing'> = {
      'a': 'dir',
      'a/b': 'dir',
      'a/b/f.md': 'file',
      'x.md': 'file',
      'gone': 'missing',
      'gone/sub': 'missing',
      'gone/sub/f': 'missing',
      'del.md': 'missing',
    };
    const ops = planAnnouncements(
      [
        { path: 'a/b/f.md', type: 'create' },
        { path: 'a/b', type: 'create' },
        { path: 'a', type: 'create' },
        { path: 'x.md', type: 'update' },
        { path: 'gone/sub/f', type: 'delete' },
        { path: 'gone', type: 'delete' },
        { path: 'gone/sub', type: 'delete' },
        { path: 'del.md', type: 'delete' },
      ],
      (p) => kinds[p] ?? 'missing',
    );
    expect(ops).toEqual([
      { kind: 'mkdir', path: '/a' },
      { kind: 'mkdir', path: '/a/b' },
      { kind: 'create', path: '/a/b/f.md' },
      { kind: 'modify', path: '/x.md' },
      { kind: 'unlink', path: '/gone/sub/f' },
      { kind: 'unlink', path: '/del.md' },
      { kind: 'rmdir', path: '/gone/sub' },
      { kind: 'rmdir', path: '/gone' },
    ]);
  });

  it('a deleted-then-recreated file is a modification; a created-then-gone one is nothing', () => {
    const ops = planAnnouncements(
      [
        { path: 'r.md', type: 'delete' },
        { path: 'flash.md', type: 'create' },
      ],
      (p) => (p === 'r.md' ? 'file' : 'missing'),
    );
    expect(ops).toEqual([{ kind: 'modify', path: '/r.md' }]);
  });
});

describe('AnnounceState', () => {
  it('hides and ghosts paths until claimed, and adjusts listings', () => {
    const s = new AnnounceState();
    s.hide('/d/new.md');
    s.ghost('/d/old.md', 'file');
    expect(s.isHidden('/d/new.md')).toBe(true);
    expect(s.ghostKind('/d/old.md')).toBe('file');
    const adj = s.listingAdjustments('/d');
    expect([...adj.omit]).toEqual(['new.md']);
    expect(adj.add).toEqual([{ name: 'old.md', kind: 'file' }]);
    expect(s.listingAdjustments('/').add).toEqual([]);
    expect(s.claimGhost('/d/old.md', 'dir')).toBe(false);
    expect(s.claimGhost('/d/old.md', 'file')).toBe(true);
    expect(s.claimHidden('/d/new.md')).toBe(true);
    expect(s.pending).toBe(0);
  });
});
