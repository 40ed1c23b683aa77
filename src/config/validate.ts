import { JjfsError } from '../errors.js';

/** Longest repo name we accept: it becomes a directory name and part of workspace paths. */
export const MAX_REPO_NAME = 64;

/**
 * Repo names become directory names under `repos/`, so only a conservative set is allowed: letters,
 * digits, `_`, `.`, `-`, starting with a letter, digit or `_`, no `..`, at most 64 characters.
 */
export function validateRepoName(name: string): string {
  const fail = (why: string): never => {
    throw new JjfsError(
      'invalid-input',
      `Invalid repo name ${JSON.stringify(name)}: ${why}. Use letters, digits, '_', '.' and '-', ` +
        `starting with a letter, digit or '_', at most ${MAX_REPO_NAME} characters (e.g. "notes").`,
    );
  };
  if (name.length === 0) fail('it is empty');
  if (name.length > MAX_REPO_NAME) fail(`it is ${name.length} characters long`);
  if (name.startsWith('-')) fail("it starts with '-'");
  if (name.startsWith('.')) fail("it starts with '.'");
  if (name.includes('..')) fail("it contains '..'");
  if (/[/\\]/.test(name)) fail("it contains a path separator");
  if (/\s/.test(name)) fail('it contains white space');
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) fail('it contains a character that is not allowed');
  return name;
}

/**
 * Remote URLs are handed to git, which can run commands through some transports. We accept the
 * URL forms git documents for real remotes (scheme://…, scp-like user@host:path, local paths) and
 * refuse option-like strings, `transport::address` helpers such as `ext::`, and control characters.
 */
export function validateRemoteUrl(url: string): string {
  const fail = (why: string): never => {
    throw new JjfsError(
      'invalid-input',
      `Invalid remote URL ${JSON.stringify(redactUrl(url))}: ${why}. ` +
        'Give an https://, ssh://, git://, file:// URL, user@host:path, or a path to a git repository.',
    );
  };
  if (url.length === 0) fail('it is empty');
  if (/[\u0000-\u001f\u007f]/.test(url)) fail('it contains a newline or control character');
  if (url.startsWith('-')) fail("it starts with '-', which git would read as an option");
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(url)) {
    fail('remote-helper transports ("ext::", "fd::" …) can run commands and are not allowed');
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined && !['https', 'http', 'ssh', 'git', 'file', 'git+ssh', 'ssh+git'].includes(scheme)) {
    fail(`the "${scheme}://" transport is not supported`);
  }
  return url;
}

/** Removes `user:password@` from a URL so credentials never reach logs or status output. */
export function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@]*@/, '$1');
}
