import { realpathSync } from 'node:fs';
import path from 'node:path';
import { validateRepoName } from '../../config/validate.js';
import { JjfsError } from '../../errors.js';
import { normalizeRepoPath } from '../../history/repo-path.js';
import { parseAt } from '../../history/time.js';
import type { RemoteRoundInfo } from '../../rpc/protocol.js';
import { describeUnsynced } from '../../rpc/unsynced-text.js';
import { withClient, type Command } from '../command.js';
import { versionLabel } from './history.js';

export const openCommand: Command = {
  usage: 'jjfs open REPO[/SUB/DIR] [PATH] [--at REV|TIME] [--read-only] [--allow-other]',
  details:
    'PATH\'s parent must exist; PATH is created if missing and must be empty. Whatever is written there ' +
    'appears in every other mount of REPO within a second and is kept in jj history.\n' +
    'REPO/SUB/DIR mounts only that folder of the repo (default PATH ./DIR); only it is on disk, writes land at ' +
    'SUB/DIR/... in the repo, and a folder the repo does not have yet is created (it reaches history with its first file).\n' +
    '--at mounts the state of REPO at that revision or time READ-ONLY (writes fail with EROFS; default PATH ' +
    './REPO@AT); close it like any mount. TIME: ISO 8601, 10m, 2h, 3d, yesterday, "2 hours ago".\n' +
    '--read-only mounts a live view: it follows every change like any mount (watchers see them) and answers ' +
    'every write with EROFS; nothing is ever committed from it. With --at it is the same as --at alone.\n' +
    '--allow-other lets other local users (or containers running as another uid) use the mount; the kernel checks ' +
    'their access against modes and owners as on any file system, and when jjfsd runs as root their new files are ' +
    'theirs. A jjfsd that is not root needs user_allow_other in /etc/fuse.conf.',
  options: { at: { type: 'string' }, 'read-only': { type: 'boolean' }, 'allow-other': { type: 'boolean' } },
  positionals: [1, 2],
  async run({ positionals, values, cwd, daemon, out }) {
    const spec = positionals[0] as string;
    const slash = spec.indexOf('/');
    const repo = validateRepoName(slash < 0 ? spec : spec.slice(0, slash));
    const subtree = slash < 0 ? undefined : normalizeRepoPath(spec.slice(slash + 1), 'The subtree');
    if (subtree === '') throw new JjfsError('invalid-input', `The subtree in ${JSON.stringify(spec)} is empty; open the whole repo with: jjfs open ${repo}`);
    const atText = typeof values['at'] === 'string' ? values['at'] : undefined;
    const readOnly = values['read-only'] === true && atText === undefined;
    const at = atText === undefined ? undefined : (await parseAt(atText, '--at')).at;
    const base = subtree === undefined ? repo : subtree.split('/').pop()!;
    const defaultPath = atText === undefined ? base : `${base}@${atText.trim().replace(/[^A-Za-z0-9._-]+/g, '-')}`;
    const target = canonicalTarget(cwd, positionals[1] ?? defaultPath);
    return withClient(daemon, async (client) => {
      const result = await out.progress(`Opening ${repo} at ${target}`, client.request('open', { repo, path: target, ...(at !== undefined ? { at } : {}), ...(readOnly ? { readOnly: true } : {}), ...(subtree ? { subtree } : {}), ...(values['allow-other'] === true ? { allowOther: true } : {}) }));
      out.result(result, () => [
        ...(result.createdRepo ? [`Created repo "${repo}"`] : []),
        result.version
          ? `Mounted ${repo} at ${result.mount.path}, read-only, as of ${versionLabel(result.version)}`
          : result.mount.readOnly
            ? `Mounted ${repo} at ${result.mount.path}, read-only; it follows every change`
            : `Mounted ${repo} at ${result.mount.path}`,
      ]);
    });
  },
};

export const closeCommand: Command = {
  usage: 'jjfs close PATH [--force]',
  details:
    'Refused while PATH holds files that exist only there (a nested git repository, files over the size limit, ' +
    'or ignored files: see jjfs unsynced PATH). --force moves them to a rescue directory under JJFS_HOME ' +
    'and names it, instead of deleting them with the mount.',
  options: { force: { type: 'boolean' } },
  positionals: [1, 1],
  async run({ positionals, values, cwd, daemon, out }) {
    const target = canonicalTarget(cwd, positionals[0] as string);
    return withClient(daemon, async (client) => {
      const result = await out.progress(`Closing ${target}`, client.request('close', { path: target, ...(values['force'] === true ? { force: true } : {}) }));
      out.result(result, () => [
        result.mount.at
          ? `Closed the read-only view ${result.mount.path} (${result.mount.repo} at ${result.mount.at.slice(0, 12)})`
          : result.mount.readOnly
            ? `Closed the read-only view ${result.mount.path} (${result.mount.repo})`
          : `Closed ${result.mount.path} (${result.mount.repo}); its changes are kept in the repo`,
        ...(result.rescued ? [`Paths that were not in history were moved to ${result.rescued}`] : []),
      ]);
    });
  },
};

export const unsyncedCommand: Command = {
  usage: 'jjfs unsynced [PATH | --repo NAME] [--json]',
  details:
    'Nested git repositories (jj records none), files over the new-file size limit and files ignored by a ' +
    '.gitignore exist only in their mount (FIFOs, sockets and device nodes too, but they hold no data and are not listed). Editor droppings ignored by ' +
    'jjfs itself are counted, not listed. Default: every mount.',
  options: { repo: { type: 'string' } },
  positionals: [0, 1],
  async run({ positionals, values, cwd, daemon, out }) {
    const repo = typeof values['repo'] === 'string' ? validateRepoName(values['repo']) : undefined;
    if (repo !== undefined && positionals[0] !== undefined) throw new JjfsError('usage', 'Give a PATH or --repo NAME, not both');
    const where = positionals[0] === undefined ? undefined : canonicalTarget(cwd, positionals[0]);
    return withClient(daemon, async (client) => {
      const result = await client.request('unsynced', { ...(repo ? { repo } : {}), ...(where ? { path: where } : {}) });
      out.result(result, () => {
        const lines: string[] = [];
        for (const m of result.mounts) {
          const { paths, ignored, droppings } = m.report;
          if (paths.length === 0 && droppings === 0) continue;
          lines.push(`${m.path} (${m.repo})`);
          for (const p of paths) lines.push(`  ${p.path}: ${describeUnsynced(p)}`);
          for (const i of ignored) lines.push(`  ${i.count} path(s) ignored by ${i.source}`);
          if (droppings > 0) lines.push(`  ${droppings} editor dropping(s) ignored by jjfs (never synced)`);
        }
        return lines.length > 0 ? lines : 'Everything in every mount is synced.';
      });
    });
  },
};

export const syncCommand: Command = {
  usage: 'jjfs sync [REPO] [--remote]',
  details:
    'With --remote (repos with a remote; all of them when REPO is omitted), a remote round follows the local ' +
    'one: fetch, merge remote changes into main, update every mount, push. Exit 1 if it failed (the reason is ' +
    'shown; jjfs keeps retrying in the background).',
  options: { remote: { type: 'boolean' } },
  positionals: [0, 1],
  async run({ positionals, values, daemon, out }) {
    return withClient(daemon, async (client) => {
      const params = { ...(positionals[0] ? { repo: positionals[0] } : {}), ...(values['remote'] ? { remote: true } : {}) };
      const { rounds } = await client.request('sync', params);
      out.result({ rounds }, () =>
        rounds.map((r) =>
          r.converged
            ? `${r.repo}: converged${r.commits > 0 ? ` (${r.commits} change${r.commits === 1 ? '' : 's'} recorded)` : ''}${r.conflicts.length > 0 ? `, ${r.conflicts.length} conflicted file(s): jjfs conflicts ${r.repo}` : ''}${r.remote ? `; remote: ${describeRemote(r.remote)}` : ''}`
            : `${r.repo}: NOT converged: ${r.problems.join('; ')}`,
        ),
      );
      return rounds.every((r) => r.converged) ? 0 : 1;
    });
  },
};

export const conflictsCommand: Command = {
  usage: 'jjfs conflicts [REPO]',
  details: 'Edit a listed file in any mount to resolve it; the resolution propagates like any change.',
  positionals: [0, 1],
  async run({ positionals, daemon, out }) {
    return withClient(daemon, async (client) => {
      const { repos } = await client.request('conflicts', positionals[0] ? { repo: positionals[0] } : {});
      const any = repos.some((r) => r.paths.length > 0);
      out.result({ repos }, () =>
        any ? repos.flatMap((r) => r.paths.map((p) => `${r.repo}\t${p}`)) : 'No conflicts',
      );
    });
  },
};

function describeRemote(r: RemoteRoundInfo): string {
  if (r.idle) return 'up to date';
  const parts = [
    r.integrated === 'none' ? '' : `${r.integrated === 'fast-forward' ? 'fast-forwarded to' : r.integrated === 'merge' ? 'merged' : 'adopted'} remote changes`,
    r.pushed ? 'pushed' : '',
    r.published.length > 0 ? `published ${r.published.length} file(s) with conflict markers` : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : 'up to date';
}

/**
 * Resolves the mount target against the cwd and canonicalises its parent (symlinks resolved), so
 * the daemon can compare it with known mounts without touching the filesystem itself.
 */
function canonicalTarget(cwd: string, raw: string): string {
  const absolute = path.resolve(cwd, raw);
  const parent = path.dirname(absolute);
  try {
    return path.join(realpathSync(parent), path.basename(absolute));
  } catch {
    throw new JjfsError('not-found', `The parent directory ${parent} does not exist. Create it first, or choose another PATH.`);
  }
}
