import type { UnsyncedPath } from './protocol.js';

/** One line of why a path is not synced, for messages and `jjfs status`. */
export function describeUnsynced(p: UnsyncedPath): string {
  switch (p.reason) {
    case 'git-repository':
      return 'a git repository — not synced, exists only in this mount';
    case 'too-large':
      return `over the new-file size limit — not synced${p.detail ? `: ${p.detail}` : ''}`;
    case 'ignored':
      return `ignored by ${p.detail ?? 'an ignore file'} — not synced`;
  }
}
