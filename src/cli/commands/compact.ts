import { withClient, type Command } from '../command.js';
import { formatBytes } from '../../util/format-bytes.js';

/** `jjfs compact [REPO]`: trims the operation log, packs and prunes history now (the daemon also does it on its own). */
export const compactCommand: Command = {
  usage: 'jjfs compact [REPO]',
  details:
    'The daemon compacts history by itself once a repo has compact_loose_objects loose objects or op_log_max jj ' +
    'operations (see jjfs config); this does it now, between sync rounds: trims the operation log to op_log_keep, ' +
    "packs every loose object and drops superseded snapshots. No commit of main's history is deleted.",
  positionals: [0, 1],
  async run({ positionals, daemon, out }) {
    return withClient(daemon, async (client) => {
      const { repos } = await client.request('compact', positionals[0] ? { repo: positionals[0] } : {});
      out.result({ repos }, () =>
        repos.map((r) => {
          const size = `${formatBytes(r.history.bytes)} of history, ${r.history.commits ?? '?'} commits`;
          if (!r.compaction) return `${r.repo}: nothing to pack (${size})`;
          if (r.compaction.error) return `${r.repo}: compaction failed: ${r.compaction.error}`;
          const ops = r.compaction.opsAfter === undefined ? '' : `, jj operations ${r.compaction.opsBefore ?? '?'} → ${r.compaction.opsAfter}`;
          return `${r.repo}: packed ${r.compaction.looseBefore} loose objects in ${r.compaction.ms} ms, ${formatBytes(r.compaction.bytesBefore)} → ${formatBytes(r.compaction.bytesAfter)}${ops} (${size})`;
        }),
      );
    });
  },
};
