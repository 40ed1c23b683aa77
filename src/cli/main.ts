import { parseArgs } from 'node:util';
import { JjfsError, messageOf } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { VERSION } from '../version.js';
import type { Command } from './command.js';
import { COMMANDS, type CommandEntry } from './command-table.js';
import { createOutput } from './output.js';

// Start-up cost matters here (`jjfs --version` and `jjfs list` should start about as fast as node):
// this module imports only what every command needs. The chosen command's module, the paths
// (platform-dirs) and the daemon connection are imported once a command is to run.

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `jjfs ${VERSION} — live, converging views of a jj repository in many directories`,
    '',
    'Usage: jjfs COMMAND [ARGS] [--json]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    `  ${'help'.padEnd(width)}  Show help for a command: jjfs help COMMAND`,
    '',
    'Options: --json (machine-readable output), --help, --version',
    'Environment: JJFS_HOME (state directory), JJFS_JJ (jj binary), NO_COLOR',
  ].join('\n');
}

function commandHelp(entry: CommandEntry, c: Command): string {
  const flags = Object.keys(c.options ?? {}).map((f) => `--${f}`);
  return [
    `Usage: ${c.usage}`,
    '',
    entry.summary,
    ...(c.details ? ['', c.details] : []),
    ...(flags.length > 0 ? ['', `Options: ${[...flags, '--json'].join(', ')}`] : ['', 'Options: --json']),
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const out = createOutput({ json });
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h') {
      process.stdout.write(`${usage()}\n`);
      return name === undefined ? ExitCode.usage : ExitCode.ok;
    }
    if (name === '--version' || name === '-V') {
      out.result({ version: VERSION }, () => VERSION);
      return ExitCode.ok;
    }
    if (name === 'help') {
      const target = rest.find((a) => !a.startsWith('-'));
      if (target === undefined) {
        process.stdout.write(`${usage()}\n`);
        return ExitCode.ok;
      }
      const found = COMMANDS.find((c) => c.name === target);
      if (!found) throw unknownCommand(target);
      process.stdout.write(`${commandHelp(found, await found.load())}\n`);
      return ExitCode.ok;
    }
    const entry = COMMANDS.find((c) => c.name === name);
    if (!entry) throw unknownCommand(name);
    // The command's module, the paths and the daemon connection load side by side, not one after
    // another: each import waits for a file read, and in series those waits add up at start-up.
    const [command, { resolvePaths }, { connectDaemon }] = await Promise.all([
      entry.load(),
      import('../config/paths.js'),
      import('./connect.js'),
    ]);
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`${commandHelp(entry, command)}\n`);
      return ExitCode.ok;
    }
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...command.options, json: { type: 'boolean' } },
        allowPositionals: true,
        strict: true,
      });
    } catch (error) {
      throw new JjfsError('usage', `${messageOf(error)}\nUsage: ${command.usage}`);
    }
    const [min, max] = command.positionals;
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      throw new JjfsError('usage', `Wrong number of arguments.\nUsage: ${command.usage}`);
    }
    const paths = resolvePaths();
    const code = await command.run({
      positionals: parsed.positionals,
      values: parsed.values,
      paths,
      out,
      cwd: process.cwd(),
      daemon: (opts) => connectDaemon(paths, { autoStart: opts?.autoStart ?? true }),
    });
    return code ?? ExitCode.ok;
  } catch (error) {
    if (error instanceof JjfsError) {
      out.error(error.message);
      return ExitCode[error.kind];
    }
    out.error(`unexpected error: ${messageOf(error)}`);
    return ExitCode.internal;
  }
}

function unknownCommand(name: string): JjfsError {
  const close = COMMANDS.filter((c) => c.name.startsWith(name.slice(0, 2))).map((c) => c.name);
  return new JjfsError(
    'usage',
    `Unknown command "${name}".${close.length > 0 ? ` Did you mean: ${close.join(', ')}?` : ''} See: jjfs --help`,
  );
}
