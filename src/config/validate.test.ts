import { describe, expect, it } from 'vitest';
import { JjfsError } from '../errors.js';
import {
  isLocalPathUrl,
  normalizeRemoteUrl,
  redactText,
  redactUrl,
  requireAbsoluteRemote,
  validateBranchName,
  validateRemoteUrl,
  validateRepoName,
} from './validate.js';

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

describe('redactText', () => {
  it('strips credentials wherever a URL appears in a message', () => {
    const url = 'https://alice:pw@example.com/r.git';
    expect(redactText(`fatal: unable to access '${url}/': refused`, url)).toBe("fatal: unable to access 'https://example.com/r.git/': refused");
    expect(redactText('see ssh://bob:x@h/r and http://t@h2/x')).toBe('see ssh://h/r and http://h2/x');
    expect(redactText('nothing secret here')).toBe('nothing secret here');
  });
});

describe('remote URL forms', () => {
  it.each([
    ['/srv/r.git', true],
    ['../r.git', true],
    ['r.git', true],
    ['./a:b', true],
    ['git@github.com:u/r.git', false],
    ['host:r.git', false],
    ['https://h/r.git', false],
    ['file:///srv/r.git', false],
  ])('isLocalPathUrl(%j) = %j', (u, local) => expect(isLocalPathUrl(u)).toBe(local));

  it('makes local paths absolute against the cwd and leaves the rest alone', () => {
    expect(normalizeRemoteUrl('../r.git', '/home/u/p')).toBe('/home/u/r.git');
    expect(normalizeRemoteUrl('git@h:r.git', '/x')).toBe('git@h:r.git');
    expect(() => normalizeRemoteUrl('ext::sh', '/x')).toThrow(/Invalid remote URL/);
  });

  it('the daemon refuses relative paths', () => {
    expect(requireAbsoluteRemote('/srv/r.git')).toBe('/srv/r.git');
    expect(() => requireAbsoluteRemote('r.git')).toThrow(/relative/);
  });

  it.each(['main', 'trunk', 'release/1.0', 'a_b-c'])('accepts branch %j', (b) => expect(validateBranchName(b)).toBe(b));
  it.each(['', '-x', 'a..b', 'a*', 'x/', 'a b', 'x.lock', 'a//b'])('refuses branch %j', (b) => {
    expect(() => validateBranchName(b)).toThrow(JjfsError);
  });
});
