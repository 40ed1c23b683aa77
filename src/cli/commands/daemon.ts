import { JjfsError } from '../../errors.js';
import { describeUnsynced } from '../../rpc/unsynced-text.js';
import type { StatusResult } from '../../rpc/protocol.js';
import { runningDaemon, type Command } from '../command.js';
import type { Output } from '../output.js';
import { startAndConnect } from '../connect.js';
import { formatMount } from './list.js';
import { formatRepo } from './repos.js';
import { formatBytes } from '../../util/format-bytes.js';

export const startCommand: Command = {
  usage: 'jjfs start',
  positionals: [0, 0],
  async run({ daemon, out, paths }) {
    const client = await runningDaemon(daemon);
    if (client) {
      const { pid } = await client.request('status', {});
      client.close();
      out.result({ running: true, started: false, pid }, () => `jjfsd is already running (pid ${pid})`);
      return;
    }
    const { client: started, launch } = await startAndConnect(paths);
    const status = await started.request('status', {});
    started.close();
    if (launch.warning) out.note(`jjfs: ${launch.warning}`);
    const how = launch.via === 'direct' ? '' : ` by ${launch.via}`;
    out.result({ running: true, started: true, pid: status.pid, via: launch.via }, () => `jjfsd started${how} (pid ${status.pid})`);
  },
};

export const stopCommand: Command = {
  usage: 'jjfs stop',
  positionals: [0, 0],
  async run({ daemon, out, paths }) {
    const client = await runningDaemon(daemon);
    if (!client) {
      out.result({ running: false, stopped: false }, () => 'jjfsd is not running');
      return;
    }
    const { pid } = await client.request('status', {});
    // Imported here, not at the top: `list` and `status` share this module and must stay light.
    const { stopThroughService, waitForExit } = await import('../service-control.js');
    // Under systemd/launchd the service manager must stop it: a daemon that just exits would
    // otherwise count as stopped by nobody (launchd) and the manager's view would be wrong.
    const via = await stopThroughService(paths, pid).catch((error: unknown) => {
      client.close();
      throw error;
    });
    if (!via) {
      await client.request('shutdown', {});
      if (!(await waitForExit(pid, 60_000))) {
        client.close();
        throw new JjfsError('busy', `jjfsd (pid ${pid}) is still shutting down after 60 s.`);
      }
    }
    client.close();
    out.result({ running: false, stopped: true, pid, via: via ?? 'direct' }, () => `jjfsd stopped${via ? ` by ${via}` : ''} (pid ${pid})`);
  },
};

export const statusCommand: Command = {
  usage: 'jjfs status [--json]',
  positionals: [0, 0],
  async run({ daemon, out }) {
    const client = await runningDaemon(daemon);
    if (!client) {
      out.result({ running: false }, () => 'jjfsd: not running (start it with: jjfs start)');
      return 3;
    }
    try {
      const status = await client.request('status', {});
      out.result({ running: true, ...status }, () => formatStatus(status, out));
      return 0;
    } finally {
      client.close();
    }
  },
};

function formatStatus(s: StatusResult, out: Output): string[] {
  const lines = [
    `${out.bold('jjfsd')} running (pid ${s.pid}, version ${s.version}, since ${s.startedAt})`,
    `home: ${s.home}`,
    `jj:   ${s.jj.path} (${s.jj.version})`,
    `fuse: ${s.fuse.ok ? 'ok' : out.red('unavailable')} ${s.fuse.detail}`,
  ];
  for (const w of s.warnings) lines.push(out.yellow(`warning: ${w}`));
  lines.push('', out.bold('repos'));
  if (s.repos.length === 0) lines.push('  (none; create one with: jjfs init)');
  for (const r of s.repos) {
    lines.push(`  ${formatRepo(r)}`);
    for (const c of r.conflicts) lines.push(`    ${out.red('conflict')} ${c}`);
    for (const f of r.refusedFiles) lines.push(`    ${out.yellow('refused by jj')} ${f}`);
    if (r.history) {
      const h = r.history;
      const last = h.lastCompaction ? `, last packed ${h.lastCompaction.at}${h.lastCompaction.error ? ` (failed: ${h.lastCompaction.error})` : ''}` : '';
      lines.push(`    history: ${formatBytes(h.bytes)}, ${h.commits ?? '?'} commits, ${h.operations} jj operations, ${h.looseObjects} loose objects, ${h.packs} pack(s)${last}`);
    }
    if (r.remote) {
      lines.push(`    remote: last push ${r.remote.lastPush ?? 'never'}, last fetch ${r.remote.lastFetch ?? 'never'}${r.remote.unpushed > 0 ? `, ${r.remote.unpushed} change(s) not pushed yet` : ''}`);
      if (r.remote.lastError) lines.push(`    ${out.yellow('remote sync delayed')}: ${r.remote.lastError}${r.remote.nextRetry ? ` (next retry ${r.remote.nextRetry})` : ''}`);
    }
  }
  lines.push('', out.bold('mounts'));
  if (s.mounts.length === 0) lines.push('  (none; open one with: jjfs open REPO [PATH])');
  for (const m of s.mounts) {
    lines.push(`  ${formatMount(m, out)}`);
    // One line per path that exists only in this mount (full list: jjfs unsynced).
    const listed = m.unsynced?.paths ?? [];
    for (const p of listed.slice(0, 10)) lines.push(`    ${out.yellow('not synced')} ${p.path}: ${describeUnsynced(p)}`);
    if (listed.length > 10) lines.push(`    … and ${listed.length - 10} more: jjfs unsynced ${m.path}`);
  }
  return lines;
}
