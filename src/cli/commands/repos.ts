import { normalizeRemoteUrl, redactUrl, validateRepoName } from '../../config/validate.js';
import type { RepoInfo } from '../../rpc/protocol.js';
import { withClient, type Command } from '../command.js';

export const initCommand: Command = {
  usage: 'jjfs init [NAME] [--from URL]',
  details:
    'Creates the private jj repo NAME under the jjfs home. Running it again is harmless.\n' +
    'With --from URL, the repo starts from that git repository (a path, https://, ssh://, user@host:path): ' +
    'its default branch becomes main, and it becomes the repo\'s remote (backed up every push_interval).',
  options: { from: { type: 'string' } },
  positionals: [0, 1],
  async run({ positionals, values, cwd, daemon, out }) {
    // Validate before connecting: bad input must not even start the daemon.
    const name = validateRepoName(positionals[0] ?? 'default');
    const from = typeof values['from'] === 'string' ? normalizeRemoteUrl(values['from'], cwd) : undefined;
    return withClient(daemon, async (client) => {
      const result = await out.progress(from === undefined ? `Creating ${name}` : `Creating ${name} from ${redactUrl(from)}`, client.request('init', { name, ...(from === undefined ? {} : { from }) }));
      out.result(result, () =>
        result.created
          ? `Created repo "${result.name}" at ${result.path}${from === undefined ? '' : ' from its remote'}`
          : `Repo "${result.name}" already exists at ${result.path}`,
      );
    });
  },
};

export const reposCommand: Command = {
  usage: 'jjfs repos',
  positionals: [0, 0],
  async run({ daemon, out }) {
    return withClient(daemon, async (client) => {
      const { repos } = await client.request('repos', {});
      out.result({ repos }, () => (repos.length === 0 ? 'No repos yet. Create one with: jjfs init' : repos.map(formatRepo)));
    });
  },
};

/** One line per repo: name, mounts, remote, conflicts. */
export function formatRepo(repo: RepoInfo): string {
  const parts = [`${repo.name}`, `${repo.mounts} mount${repo.mounts === 1 ? '' : 's'}`];
  parts.push(repo.remote ? `remote ${repo.remote.url}${repo.remote.delayed ? ' (remote sync delayed)' : ''}` : 'no remote');
  if (repo.conflicts.length > 0) parts.push(`${repo.conflicts.length} conflicted file(s)`);
  if (repo.refusedFiles.length > 0) parts.push(`${repo.refusedFiles.length} file(s) refused by jj`);
  return parts.join('  ·  ');
}
