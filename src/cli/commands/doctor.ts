import { JjfsError, messageOf } from '../../errors.js';
import type { Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'Check jj, FUSE, the daemon, stale mounts, the service, every mount and remote; say how to fix each problem',
  usage: 'jjfs doctor [--json]',
  details: 'Changes nothing and does not start the daemon. Exits 1 when it finds a problem.',
  positionals: [0, 0],
  async run({ daemon, out, paths }) {
    // Loaded here: the checks pull in FUSE and service code that other commands do not need.
    const { runDoctor } = await import('../../doctor/doctor.js');
    let contact: Parameters<typeof runDoctor>[1];
    try {
      const client = await daemon({ autoStart: false });
      try {
        contact = { kind: 'answering', status: await client.request('status', {}) };
      } finally {
        client.close();
      }
    } catch (error) {
      if (error instanceof JjfsError && error.kind === 'daemon-unavailable') contact = { kind: 'absent' };
      else contact = { kind: 'unusable', reason: messageOf(error) };
    }
    const checks = await runDoctor(paths, contact);
    const problems = checks.filter((c) => !c.ok);
    const width = Math.max(...checks.map((c) => c.name.length));
    out.result({ ok: problems.length === 0, problems: problems.length, checks }, () => [
      ...checks.flatMap((c) => [
        `${!c.ok ? out.red('PROBLEM') : c.warning ? out.yellow('warning') : out.green('ok     ')} ${c.name.padEnd(width)}  ${c.detail}`,
        ...(c.fix ? [`${' '.repeat(8 + width)}  ${out.bold('fix:')} ${c.fix}`] : []),
      ]),
      '',
      problems.length === 0 ? 'No problems found.' : `${problems.length} problem${problems.length === 1 ? '' : 's'} found.`,
    ]);
    return problems.length === 0 ? ExitCode.ok : ExitCode.internal;
  },
};
