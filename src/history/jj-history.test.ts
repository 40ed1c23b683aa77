import { describe, expect, it } from 'vitest';
import { parseRows, statOfGitDiff } from './jj-history.js';

describe('statOfGitDiff', () => {
  it('counts lines per file and reads created/deleted', () => {
    const diff = [
      'diff --git a/n.md b/n.md',
      'index 1..2 100644',
      '--- a/n.md',
      '+++ b/n.md',
      '@@ -1,2 +1,2 @@',
      '-old',
      '--- a removed line that looks like a header',
      '+new',
      ' same',
      'diff --git a/new.md b/new.md',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/new.md',
      '@@ -0,0 +1,1 @@',
      '+hello',
      'diff --git a/gone.md b/gone.md',
      'deleted file mode 100644',
      '--- a/gone.md',
      '+++ /dev/null',
      '@@ -1,1 +0,0 @@',
      '-bye',
      'diff --git a/bin b/bin',
      'Binary files a/bin and b/bin differ',
      '',
    ].join('\n');
    expect(statOfGitDiff(diff)).toEqual([
      { path: 'n.md', status: 'modified', added: 1, removed: 2 },
      { path: 'new.md', status: 'added', added: 1, removed: 0 },
      { path: 'gone.md', status: 'removed', added: 0, removed: 1 },
      { path: 'bin', status: 'modified', added: 0, removed: 0 },
    ]);
  });
});

describe('parseRows', () => {
  it('prefers the millisecond time of the first line over git\'s whole seconds', () => {
    const row = {
      c: {
        commit_id: 'c'.repeat(40),
        change_id: 'k'.repeat(32),
        parents: ['p'.repeat(40)],
        description: '/mnt/a 2026-11-20T10:00:00.250Z\n',
        committer: { timestamp: '2026-11-20T10:00:00Z' },
      },
      conflict: false,
      files: [{ path: 'n.md', status: 'added', added: 1, removed: 0 }],
    };
    const [entry] = parseRows(`${JSON.stringify(row)}\n`);
    expect(entry).toMatchObject({ time: '2026-11-20T10:00:00.250Z', by: '/mnt/a', mount: '/mnt/a', summary: 'n.md created (+1)' });
    const foreign = parseRows(`${JSON.stringify({ ...row, c: { ...row.c, description: 'merge\n' } })}\n`)[0];
    expect(foreign?.time).toBe('2026-11-20T10:00:00.000Z');
  });
});
