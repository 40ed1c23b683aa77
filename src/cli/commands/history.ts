import { existsSync } from 'node:fs';
import path from 'node:path';
import { JjfsError } from '../../errors.js';
import { parseAt, parseTime, requireTime } from '../../history/time.js';
import type { CommitRef, HistoryEntry } from '../../rpc/protocol.js';
import { withClient, type Command } from '../command.js';
import { resolveTarget } from '../target.js';

/** `2026-11-20 23:58:01` in local time: what a person reads in `log`. */
export function localTime(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `3f2a9c1e8b0d (2026-11-20 23:58:01)` */
export function versionLabel(v: CommitRef): string {
  return `${v.commit.slice(0, 12)} (${localTime(v.time)})`;
}

function entryLine(e: HistoryEntry): string {
  const note = e.note ? ` — ${e.note}` : '';
  return `${e.commit.slice(0, 12)}  ${localTime(e.time)}  ${e.by}  ${e.summary}${e.conflict ? ' [conflict]' : ''}${note}`;
}

const HISTORY_HELP =
  'REV is a commit or change id from `jjfs log` (or any jj revision); TIME is ISO 8601 ' +
  '(2026-11-20T10:00:00Z, "2026-11-20 10:00"), a duration ago (10m, 2h, 3d, 1w) or words (yesterday, ' +
  '"2 hours ago", "yesterday 5pm"): the state at that moment. PATH may be relative to the current directory ' +
  'inside a mount; outside mounts, give --repo NAME and a path relative to the repo root.';

export const logCommand: Command = {
  usage: 'jjfs log [PATH] [--repo NAME] [--since TIME] [--limit N]',
  details: `Each version: commit id, time, the mount that made the change (or jjfs restore/undo), and what changed.\n${HISTORY_HELP}`,
  options: { repo: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' } },
  positionals: [0, 1],
  async run({ positionals, values, cwd, daemon, out }) {
    const since = typeof values['since'] === 'string' ? await requireTime(values['since'], '--since') : undefined;
    const limit = typeof values['limit'] === 'string' ? Number(values['limit']) : undefined;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw new JjfsError('invalid-input', `--limit must be a whole number of at least 1 (got ${String(values['limit'])}).`);
    }
    return withClient(daemon, async (client) => {
      const target = await resolveTarget(client, cwd, positionals[0], values['repo']);
      const result = await client.request('log', {
        repo: target.repo,
        ...(target.path ? { path: target.path } : {}),
        ...(since ? { since: since.toISOString() } : {}),
        ...(limit !== undefined ? { limit } : {}),
      });
      out.result(result, () =>
        result.entries.length === 0 ? `No versions${since ? ` since ${localTime(since.toISOString())}` : ''}` : result.entries.map(entryLine),
      );
    });
  },
};

export const showCommand: Command = {
  usage: 'jjfs show REV|TIME [PATH] [--repo NAME]',
  details: `The content is written unchanged (binary too); a directory lists its files; --json gives base64 and a sha256.\n${HISTORY_HELP}`,
  options: { repo: { type: 'string' } },
  positionals: [1, 2],
  async run({ positionals, values, cwd, daemon, out }) {
    const { at } = await parseAt(positionals[0] as string, 'REV');
    return withClient(daemon, async (client) => {
      const target = await resolveTarget(client, cwd, positionals[1], values['repo']);
      const result = await client.request('show', { repo: target.repo, at, ...(target.path !== undefined ? { path: target.path } : {}) });
      if (out.json) return out.result(result, () => []);
      if (result.kind === 'file') {
        if (result.fileType === 'symlink') out.note(`${result.path} was a symbolic link at ${versionLabel(result.version)}; its target is not shown.`);
        return out.raw(Buffer.from(result.content, 'base64'));
      }
      if (result.kind === 'dir') return out.result(result, () => result.entries);
      const e = result.entry;
      out.result(result, () => [
        `commit ${e.commit}`,
        `change ${e.change}`,
        `time   ${localTime(e.time)}`,
        `by     ${e.by}`,
        '',
        ...e.description.trimEnd().split('\n').map((l) => `    ${l}`),
        '',
        result.diff.trimEnd(),
      ]);
    });
  },
};

/**
 * `diff` with one argument: a PATH when it reads as one (it exists, or contains a `/`), a
 * REV|TIME otherwise.
 */
async function splitDiffArgs(cwd: string, args: string[]): Promise<{ rev?: string; path?: string }> {
  if (args.length === 2) return { rev: args[0] as string, path: args[1] as string };
  const [only] = args;
  if (only === undefined) return {};
  const pathLike = only.includes('/') || only === '.' || existsSync(path.resolve(cwd, only));
  if (pathLike && (await parseTime(only).catch(() => undefined)) === undefined) return { path: only };
  return { rev: only };
}

export const diffCommand: Command = {
  usage: 'jjfs diff [REV|TIME] [PATH] [--repo NAME] [--stat]',
  details:
    'Git-style diff from that version to the current state, limited to PATH if given. With one argument, it is ' +
    `a PATH if such a file exists (or it contains "/"), else a REV|TIME.\n${HISTORY_HELP}`,
  options: { repo: { type: 'string' }, stat: { type: 'boolean' } },
  positionals: [0, 2],
  async run({ positionals, values, cwd, daemon, out }) {
    const split = await splitDiffArgs(cwd, positionals);
    const from = split.rev === undefined ? undefined : (await parseAt(split.rev, 'REV')).at;
    return withClient(daemon, async (client) => {
      const target = await resolveTarget(client, cwd, split.path, values['repo']);
      const result = await client.request('diff', {
        repo: target.repo,
        ...(from !== undefined ? { from } : {}),
        ...(target.path ? { path: target.path } : {}),
      });
      out.result(result, () => {
        const header = `${versionLabel(result.from)} → ${versionLabel(result.to)}`;
        if (result.files.length === 0) return `${header}: no differences`;
        if (values['stat']) return [header, ...result.files.map((f) => `${f.path}\t${f.status}\t+${f.added} -${f.removed}`)];
        return result.diff.trimEnd();
      });
    });
  },
};
