import { posix } from 'node:path';
import { JjfsError } from '../errors.js';

/**
 * Normalises a repo-relative path (`docs/./a.md/` → `docs/a.md`; `''` or `.` is the repo root)
 * and refuses what cannot name a file in the repo: absolute paths, `..` escaping the root, control
 * characters, and jj's own `.jj`. Used by the CLI after mapping a mount path, and again by the
 * daemon (it never trusts the wire).
 */
export function normalizeRepoPath(raw: string, what = 'PATH'): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) {
    throw new JjfsError('invalid-input', `${what} ${JSON.stringify(raw)} contains control characters; no file in a jjfs repo can have that name.`);
  }
  if (raw.startsWith('/')) {
    throw new JjfsError('invalid-input', `${what} ${raw} is absolute; give a path inside a jjfs mount, or a path relative to the repo root with --repo NAME.`);
  }
  const normal = posix.normalize(raw === '' ? '.' : raw).replace(/\/+$/, '');
  if (normal === '.') return '';
  if (normal === '..' || normal.startsWith('../')) {
    throw new JjfsError('invalid-input', `${what} ${JSON.stringify(raw)} points outside the repo; give a path inside it.`);
  }
  if (normal === '.jj' || normal.startsWith('.jj/')) {
    throw new JjfsError('invalid-input', `${what} ${JSON.stringify(raw)} is jj's own metadata, which has no history in jjfs.`);
  }
  return normal;
}
