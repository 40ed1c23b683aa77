import { describe, expect, it } from 'vitest';
import { JjfsError } from '../errors.js';
import { redactUrl, validateRemoteUrl, validateRepoName } from './validate.js';

describe('validateRepoName', () => {
  it.each(['default', 'notes', 'work-notes', 'a.b_c', '_x', '0', 'x'.repeat(64)])('accepts %j', (n) => {
    expect(validateRepoName(n)).toBe(n);
  });
  it.each(['', 'a/b', 'a\\b', '..', 'a..b', '.x', '-x', 'a b', 'tab\tx', 'é', 'x'.repeat(65)])('refuses %j', (n) => {
    expect(() => validateRepoName(n)).toThrow(JjfsError);
  });
});

describe('validateRemoteUrl', () => {
  it.each(['https://github.com/u/r.git', 'ssh://git@host/r.git', 'git@github.com:u/r.git', '/srv/git/r.git', 'file:///srv/r.git', '../r.git'])(
    'accepts %j',
    (u) => expect(validateRemoteUrl(u)).toBe(u),
  );
  it.each(['', '-u', '--upload-pack=x', 'ext::sh -c id', 'fd::3', 'https://x\ny', 'a\u0000b', 'gopher://x'])('refuses %j', (u) => {
    expect(() => validateRemoteUrl(u)).toThrow(/Invalid remote URL/);
  });
});

describe('redactUrl', () => {
  it('strips user:password@', () => {
    expect(redactUrl('https://alice:pw@example.com/r.git')).toBe('https://example.com/r.git');
    expect(redactUrl('https://token@example.com/r.git')).toBe('https://example.com/r.git');
    expect(redactUrl('git@github.com:u/r.git')).toBe('git@github.com:u/r.git');
  });
});
