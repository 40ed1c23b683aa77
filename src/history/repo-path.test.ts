import { describe, expect, it } from 'vitest';
import { normalizeRepoPath } from './repo-path.js';

describe('normalizeRepoPath', () => {
  it.each([
    ['a.md', 'a.md'],
    ['./docs/./a.md', 'docs/a.md'],
    ['docs/', 'docs'],
    ['docs/x/../a.md', 'docs/a.md'],
    ['', ''],
    ['.', ''],
    ['name with spaces.md', 'name with spaces.md'],
  ])('%j → %j', (raw, normal) => {
    expect(normalizeRepoPath(raw)).toBe(normal);
  });

  it.each(['/etc/passwd', '..', '../x', 'a/../../x', '.jj', '.jj/repo', 'a\nb', 'a\u0000b'])('refuses %j', (raw) => {
    expect(() => normalizeRepoPath(raw)).toThrow(expect.objectContaining({ kind: 'invalid-input' }));
  });
});
