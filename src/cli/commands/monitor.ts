import { validateRepoName } from '../../config/validate.js';
import type { MonitorEvent } from '../../rpc/protocol.js';
import type { Command } from '../command.js';
import type { Output } from '../output.js';

/** One event as a line a person reads at a glance. */
function describe(e: MonitorEvent, out: Output): string {
  const at = e.time.slice(11, 19);
  const head = `${out.dim(at)} ${e.repo}`;
  switch (e.type) {
    case 'change':
      return `${head} changed   ${e.mount}`;
    case 'round': {
      const parts = [
        e.committed.length > 0 ? `recorded ${e.committed.join(', ')}` : '',
        e.updated > 0 ? `${e.updated} mount(s) updated` : '',
        ...e.failed.map((f) => out.red(`failed ${f}`)),
      ].filter(Boolean);
      return `${head} round     ${parts.join('; ')} (${e.ms} ms)`;
    }
    case 'conflict':
      return `${head} ${out.red('conflict')}  ${e.path}`;
    case 'resolved':
      return `${head} ${out.green('resolved')}  ${e.path}`;
    case 'remote':
      return `${head} remote    ${e.idle ? 'nothing new' : [e.integrated === 'none' ? '' : `fetched (${e.integrated})`, e.pushed ? 'pushed' : ''].filter(Boolean).join(', ') || 'up to date'} (${e.ms} ms)`;
    case 'remote-error':
      return `${head} ${out.yellow('remote sync delayed')}: ${e.error}`;
  }
}

export const monitorCommand: Command = {
  usage: 'jjfs monitor [REPO] [--json]',
  details: 'Runs until Ctrl-C (or until the daemon stops). --json prints one JSON event per line, for scripts.',
  positionals: [0, 1],
  async run({ positionals, daemon, out }) {
    const repo = positionals[0] === undefined ? undefined : validateRepoName(positionals[0]);
    const client = await daemon();
    return new Promise<number>((resolve, reject) => {
      let done = false;
      const finish = (code: number): void => {
        if (done) return;
        done = true;
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        client.close();
        resolve(code);
      };
      // Ctrl-C ends the stream cleanly (exit 0); the daemon drops the subscription with the socket.
      const stop = (): void => finish(0);
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      client
        .monitor(
          repo === undefined ? {} : { repo },
          (event) => out.line(event, () => describe(event, out)),
          () => {
            if (!done) out.status('jjfs: the daemon stopped; monitor ends');
            finish(0);
          },
        )
        .then(() => out.status(`Watching ${repo ?? 'every repo'}; Ctrl-C to stop.`))
        .catch((error: unknown) => {
          if (done) return;
          done = true;
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          client.close();
          reject(error);
        });
    });
  },
};
