import path from 'node:path';
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
      `Invalid remote URL ${JSON.stringify(redactText(url))}: ${why}. ` +
        'Give an https://, ssh://, git://, file:// URL, user@host:path, or a path to a git repository.',
    );
  };
  if (url.length === 0) fail('it is empty');
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
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

/**
 * Removes credentials from free text (git's error messages quote the URL they used): every
 * `scheme://user:password@` becomes `scheme://`, and every verbatim occurrence of `url` its
 * redacted form.
 */
export function redactText(text: string, url?: string): string {
  let out = text;
  if (url !== undefined && url !== '' && redactUrl(url) !== url) out = out.split(url).join(redactUrl(url));
  return out.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@\s'"]*@/g, '$1');
}

/** True when git would read `url` as a local path (no `scheme://`, no scp-like `host:` prefix). */
export function isLocalPathUrl(url: string): boolean {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) return false;
  // git's rule: a colon before the first slash makes it scp-like (`host:path`, `user@host:path`).
  const colon = url.indexOf(':');
  const slash = url.indexOf('/');
  return colon < 0 || (slash >= 0 && slash < colon);
}

/**
 * Validates a remote URL and makes a local path absolute against `cwd` (the daemon's own cwd means
 * nothing to the user, so the CLI resolves paths before sending them).
 */
export function normalizeRemoteUrl(url: string, cwd: string): string {
  validateRemoteUrl(url);
  return isLocalPathUrl(url) ? path.resolve(cwd, url) : url;
}

/** A local-path URL must be absolute by the time it reaches the daemon. */
export function requireAbsoluteRemote(url: string): string {
  validateRemoteUrl(url);
  if (isLocalPathUrl(url) && !path.isAbsolute(url)) {
    throw new JjfsError('invalid-input', `Remote path ${JSON.stringify(url)} is relative. Give an absolute path.`);
  }
  return url;
}

/**
 * Branch names we push to and fetch from: what git accepts in a refspec without surprises (no
 * glob characters, no `..`, no leading `-` or `/`).
 */
export function validateBranchName(name: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}$/.test(name) || name.includes('..') || name.endsWith('/') || name.endsWith('.lock') || name.includes('//')) {
    throw new JjfsError('invalid-input', `Unsupported branch name ${JSON.stringify(name)} on the remote. Use a plain branch name such as "main".`);
  }
  return name;
}
