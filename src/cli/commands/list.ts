// `jjfs list` has a module of its own, apart from start/stop/status in daemon.ts: it is one of the
// two commands that must start about as fast as node, so it imports nothing it does not use.
import type { MountInfo } from '../../rpc/protocol.js';
import { withClient, type Command } from '../command.js';
import type { Output } from '../output.js';

/** `jjfs list`: every mount with its state, one line each (or `{ mounts }` with --json). */
export const listCommand: Command = {
  usage: 'jjfs list [--json]',
  positionals: [0, 0],
  async run({ daemon, out }) {
    return withClient(daemon, async (client) => {
      const { mounts } = await client.request('list', {});
      out.result({ mounts }, () => (mounts.length === 0 ? 'No mounts. Open one with: jjfs open REPO [PATH]' : mounts.map((m) => formatMount(m, out))));
    });
  },
};

/** One mount as a line of `list` and `status`: path, repo, state, and what is special about it. */
export function formatMount(m: MountInfo, out: Output): string {
  const state = m.state === 'mounted' ? out.green(m.state) : out.red(m.state);
  const extra = [m.subtree ? `only ${m.subtree}/` : '', m.at ? `read-only at ${m.at}` : '', m.readOnly ? 'read-only, follows main' : '', m.allowOther ? 'other users allowed' : '', m.kernelCache === 'invalidated' ? 'kernel cache' : m.kernelCache === 'timeouts' && m.at === undefined ? 'no kernel cache' : '', m.error ? out.red(m.error) : ''].filter(Boolean).join('  ');
  return `${m.path}\t${m.repo}\t${state}${extra ? `\t${extra}` : ''}`;
}
