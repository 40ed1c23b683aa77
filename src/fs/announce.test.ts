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
  it('shows hidden and ghost paths only to the notifier, until claimed', () => {
    let notifier = false;
    const s = new AnnounceState(() => notifier);
    s.hide('/d/new.md');
    s.ghost('/d/old.md', 'file');
    expect(s.isHidden('/d/new.md')).toBe(false); // everyone else sees the truth
    expect(s.ghostKind('/d/old.md')).toBeUndefined();
    expect(s.claimHidden('/d/new.md')).toBe(false);
    notifier = true;
    expect(s.isHidden('/d/new.md')).toBe(true);
    expect(s.ghostKind('/d/old.md')).toBe('file');
    expect(s.claimGhost('/d/old.md', 'dir')).toBe(false);
    expect(s.claimGhost('/d/old.md', 'file')).toBe(true);
    expect(s.claimHidden('/d/new.md')).toBe(true);
    expect(s.pending).toBe(0);
    s.hide('/x');
    s.settle('/x');
    expect(s.pending).toBe(0);
  });
});
