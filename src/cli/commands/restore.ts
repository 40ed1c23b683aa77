import { validateRepoName } from '../../config/validate.js';
import { JjfsError } from '../../errors.js';
import { parseAt } from '../../history/time.js';
import type { ChangeResult } from '../../rpc/protocol.js';
import { withClient, type Command } from '../command.js';
import { mapPath, resolveTarget } from '../target.js';
import { localTime, versionLabel } from './history.js';

/** Lines about the new change reaching the mounts; exit 1 when some mount did not get it. */
function roundLines(r: ChangeResult): { lines: string[]; code: number } {
  const lines: string[] = [];
  if (r.recordedFirst > 0) lines.push(`(first recorded ${r.recordedFirst} pending change${r.recordedFirst === 1 ? '' : 's'} from the mounts)`);
  if (!r.round.converged) lines.push(`NOT in every mount yet: ${r.round.problems.join('; ')}`);
  if (r.round.conflicts.length > 0) lines.push(`conflicted files: ${r.round.conflicts.join(', ')} (see: jjfs conflicts ${r.repo})`);
  return { lines, code: r.round.converged ? 0 : 1 };
}

export const restoreCommand: Command = {
  usage: 'jjfs restore PATH [--at REV|TIME] [--to NEWPATH] | jjfs restore --repo NAME --at REV|TIME',
  details:
    'The restore is a new change: it reaches every mount, and `jjfs undo` reverses it. Edits not yet recorded ' +
    'are recorded first, so nothing is lost. --to writes the old version beside the current one. Without --at, ' +
    'a deleted PATH comes back as it last was. Without PATH (and with --repo), the whole tree is restored.',
  options: { at: { type: 'string' }, to: { type: 'string' }, repo: { type: 'string' } },
  positionals: [0, 1],
  async run({ positionals, values, cwd, daemon, out }) {
    const rawPath = positionals[0];
    const atText = typeof values['at'] === 'string' ? values['at'] : undefined;
    const toText = typeof values['to'] === 'string' ? values['to'] : undefined;
    if (rawPath === undefined) {
      if (typeof values['repo'] !== 'string' || atText === undefined) {
        throw new JjfsError('usage', `Restoring the whole tree needs --repo NAME and --at REV|TIME.\nUsage: ${restoreCommand.usage}`);
      }
      if (toText !== undefined) throw new JjfsError('usage', '--to needs a PATH.');
      validateRepoName(values['repo']);
    }
    const at = atText === undefined ? undefined : (await parseAt(atText, '--at')).at;
    return withClient(daemon, async (client) => {
      const target = await resolveTarget(client, cwd, rawPath, values['repo']);
      let to: string | undefined;
      if (toText !== undefined) {
        const { mounts } = await client.request('list', {});
        const mapped = mapPath(mounts, cwd, toText, target.repo, 'NEWPATH');
        to = mapped.path;
      }
      const result = await out.progress(
        `Restoring ${target.path || `the whole tree of ${target.repo}`}`,
        client.request('restore', {
          repo: target.repo,
          ...(at !== undefined ? { at } : {}),
          ...(target.path ? { path: target.path } : {}),
          ...(to !== undefined ? { to } : {}),
        }),
      );
      const what = result.path === '' ? `the whole tree of ${result.repo}` : result.path;
      const { lines, code } = roundLines(result);
      out.result(result, () => [
        result.commit
          ? `Restored ${what}${result.to ? ` as ${result.to}` : ''} to the version of ${versionLabel(result.from)}; new change ${result.commit.slice(0, 12)}${result.verified ? ' (verified)' : ''}, in every mount`
          : `${what} already matches the version of ${versionLabel(result.from)}; nothing changed`,
        ...lines,
      ]);
      return code;
    });
  },
};

export const undoCommand: Command = {
  usage: 'jjfs undo [--repo NAME]',
  details:
    'Adds a change that reverses the newest change not undone yet; history is never rewritten, so the undo ' +
    'itself can be seen in `jjfs log` and restored from. Edits not yet recorded are recorded (and count as the last change).',
  options: { repo: { type: 'string' } },
  positionals: [0, 0],
  async run({ values, cwd, daemon, out }) {
    return withClient(daemon, async (client) => {
      const target = await resolveTarget(client, cwd, undefined, values['repo']);
      const result = await client.request('undo', { repo: target.repo });
      const u = result.undone;
      const { lines, code } = roundLines(result);
      out.result(result, () => [
        result.commit
          ? `Undid ${u.commit.slice(0, 12)} (${u.by}, ${localTime(u.time)}): ${u.summary}; new change ${result.commit.slice(0, 12)}${result.verified ? ' (verified)' : ''}, in every mount`
          : `${u.commit.slice(0, 12)} changed nothing that is still there; nothing to reverse`,
        ...lines,
      ]);
      return code;
    });
  },
};
