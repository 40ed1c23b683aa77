import { describe, expect, it } from 'vitest';
import { AnnounceState, planAnnouncements } from './announce.js';

describe('planAnnouncements', () => {
  it('decides from what each path was and is, and orders parents and children', () => {
    const before: Record<string, 'file' | 'dir'> = {
      'x.md': 'file',
      gone: 'dir',
      'gone/sub': 'dir',
      'gone/sub/f': 'file',
      'del.md': 'file',
      'typechange': 'file',
    };
    const now: Record<string, 'file' | 'dir'> = {
      a: 'dir',
      'a/b': 'dir',
      'a/b/f.md': 'file',
      'x.md': 'file',
      'typechange': 'dir',
    };
    const ops = planAnnouncements(
      ['a/b/f.md', 'a/b', 'a', 'x.md', 'gone/sub/f', 'gone', 'gone/sub', 'del.md', 'typechange', 'never.md', '.jj/x'],
      (p) => before[p],
      (p) => now[p],
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

  it('a file jj replaced (reported as a creation) is a modification', () => {
    expect(planAnnouncements(['r.md'], () => 'file', () => 'file')).toEqual([{ kind: 'modify', path: '/r.md' }]);
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

describe('AnnounceState pending changes', () => {
  it('tells its listeners when something starts and stops being pretended, once each way', () => {
    let notifier = true;
    const state = new AnnounceState(() => notifier);
    const told: boolean[] = [];
    const stop = state.onPendingChange((pending) => told.push(pending));
    state.hide('/a');
    state.ghost('/b', 'file');
    expect(told).toEqual([true]);
    notifier = false;
    expect(state.claimHidden('/a')).toBe(false); // not the notifier: nothing taken
    notifier = true;
    expect(state.claimHidden('/a')).toBe(true);
    expect(told).toEqual([true]);
    expect(state.claimGhost('/b', 'file')).toBe(true);
    expect(told).toEqual([true, false]);
    state.settle('/b'); // already gone: no change
    state.hide('/c');
    state.settle('/c');
    expect(told).toEqual([true, false, true, false]);
    stop();
    state.hide('/d');
    expect(told).toHaveLength(4);
  });
});
