import { JjfsError, messageOf } from '../../errors.js';
import type { Command } from '../command.js';
import { ExitCode } from '../../exit-codes.js';

export const doctorCommand: Command = {
  usage: 'jjfs doctor [--strict] [--json]',
  details:
    'Changes nothing and does not start the daemon. Each check is ok, a warning (a choice such as no service ' +
    'installed, or something worth knowing) or a problem. Exits 1 when it finds a problem; with --strict, also on a warning.',
  options: { strict: { type: 'boolean' } },
  positionals: [0, 0],
  async run({ daemon, out, paths, values }) {
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
    const problems = checks.filter((c) => c.level === 'problem');
    const warnings = checks.filter((c) => c.level === 'warning');
    const strict = values['strict'] === true;
    const width = Math.max(...checks.map((c) => c.name.length));
    const label = { ok: out.green('ok     '), warning: out.yellow('warning'), problem: out.red('PROBLEM') };
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    out.result({ ok: problems.length === 0, problems: problems.length, warnings: warnings.length, checks }, () => [
      ...checks.flatMap((c) => [
        `${label[c.level]} ${c.name.padEnd(width)}  ${c.detail}`,
        ...(c.fix ? [`${' '.repeat(8 + width)}  ${out.bold('fix:')} ${c.fix}`] : []),
      ]),
      '',
      problems.length === 0
        ? `No problems found${warnings.length > 0 ? ` (${plural(warnings.length, 'warning')})` : ''}.`
        : `${plural(problems.length, 'problem')} found${warnings.length > 0 ? `, ${plural(warnings.length, 'warning')}` : ''}.`,
    ]);
    return problems.length === 0 && !(strict && warnings.length > 0) ? ExitCode.ok : ExitCode.internal;
  },
};
