import { normalizeRemoteUrl, validateRepoName } from '../../config/validate.js';
import { JjfsError } from '../../errors.js';
import { withClient, type Command } from '../command.js';

export const remoteCommand: Command = {
  usage: 'jjfs remote add URL [--repo NAME] | jjfs remote remove [--repo NAME] | jjfs remote list',
  details:
    'The remote is where the repo is backed up and through which other machines converge: every ' +
    'push_interval (config.json, default 300 s) and on `jjfs sync --remote`, jjfs fetches, merges, updates ' +
    'every mount and pushes. `add` refuses a URL that is not a git repository or whose branch has ' +
    'unrelated history. For a new remote, create an empty one: git init --bare -b main PATH',
  options: { repo: { type: 'string' } },
  positionals: [1, 2],
  async run({ positionals, values, cwd, daemon, out }) {
    const [action, url] = positionals;
    // Validate before connecting: bad input must not even start the daemon.
    const repo = validateRepoName(typeof values['repo'] === 'string' ? values['repo'] : 'default');
    if (action === 'add') {
      if (url === undefined) throw new JjfsError('usage', 'Missing URL. Usage: jjfs remote add URL [--repo NAME]');
      const absolute = normalizeRemoteUrl(url, cwd);
      return withClient(daemon, async (client) => {
        const result = await client.request('remote.add', { repo, url: absolute });
        out.result(result, () => `Remote of "${result.repo}" set to ${result.url}`);
      });
    }
    if (url !== undefined) throw new JjfsError('usage', `Unexpected argument "${url}".`);
    if (action === 'remove') {
      return withClient(daemon, async (client) => {
        const result = await client.request('remote.remove', { repo });
        out.result(result, () => `Remote of "${result.repo}" removed`);
      });
    }
    if (action === 'list') {
      return withClient(daemon, async (client) => {
        const { repos } = await client.request('repos', {});
        const remotes = repos.map((r) => ({ repo: r.name, remote: r.remote }));
        out.result({ remotes }, () =>
          remotes.map((r) => {
            if (!r.remote) return `${r.repo}\t(none)`;
            const when = r.remote.lastPush ? `last push ${r.remote.lastPush}` : 'not pushed yet';
            return `${r.repo}\t${r.remote.url}${r.remote.branch ? ` (${r.remote.branch})` : ''}\t${r.remote.delayed ? 'remote sync delayed' : when}`;
          }),
        );
      });
    }
    throw new JjfsError('usage', `Unknown remote action "${action ?? ''}". Use add, remove or list.`);
  },
};
