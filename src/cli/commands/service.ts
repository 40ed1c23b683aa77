import { JjfsError } from '../../errors.js';
import { PROTOCOL_VERSION } from '../../rpc/protocol.js';
import { VERSION } from '../../version.js';
import type { Command } from '../command.js';
import { tryConnect } from '../connect.js';
import { sizeOf } from '../../util/files.js';
import { waitForExit, waitUnderService } from '../service-control.js';

const dryRun = { 'dry-run': { type: 'boolean' } } as const;

export const installCommand: Command = {
  usage: 'jjfs install [--dry-run]',
  details:
    'Writes ~/.config/systemd/user/jjfs.service (Linux) or ~/Library/LaunchAgents/com.jjfs.daemon.plist (macOS) ' +
    'for this node, this jjfs and this JJFS_HOME, then enables and starts it. A jjfsd already running outside ' +
    'the service is stopped first (its mounts come back under the service). Run it again after moving or ' +
    'upgrading node or jjfs. --dry-run prints the file and the commands and changes nothing.',
  options: dryRun,
  positionals: [0, 0],
  async run({ paths, out, values }) {
    // Loaded here, not at CLI start: other commands never need the service code.
    const { managerFor, planInstall, writeServiceFile } = await import('../../service/install.js');
    const plan = planInstall(paths);
    const manager = managerFor(plan.target);
    const kind = plan.target.kind;
    const direct = await runningDaemonPid(paths);
    if (values['dry-run'] === true) {
      const state = await manager.state();
      const active = state.usable && state.active;
      const commands = manager.installCommands(active).map((c) => manager.describe(c));
      const stopFirst = direct !== undefined && !active ? direct : undefined;
      out.result(
        { dryRun: true, kind, file: plan.target.file, content: plan.content, commands, ...(stopFirst ? { stopsDaemon: stopFirst } : {}) },
        () => [
          `Would write ${plan.target.file}:`,
          '',
          plan.content.trimEnd(),
          '',
          ...(stopFirst ? [`Would stop the jjfsd running outside ${kind} (pid ${stopFirst}) so that ${kind} runs it.`] : []),
          'Would run:',
          ...commands.map((c) => `  ${c}`),
        ],
      );
      return;
    }

    const state = await manager.state();
    if (!state.usable) throw new JjfsError('environment', `Cannot install: ${kind} cannot be used here: ${state.detail}`);
    if (plan.previous === plan.content && state.active && state.enabled) {
      out.result({ installed: true, changed: false, kind, file: plan.target.file, pid: direct }, () => `${plan.target.file} is up to date and jjfsd runs under ${kind}${direct ? ` (pid ${direct})` : ''}.`);
      return;
    }
    // A daemon started outside the service holds the lock: the service's daemon would exit with
    // "already running". Stop it the clean way first (it unmounts and records every change).
    if (direct !== undefined && !state.active) {
      out.note(`Stopping the jjfsd running outside ${kind} (pid ${direct}); ${kind} starts it again.`);
      const client = await tryConnect(paths);
      await client?.request('shutdown', {}).catch(() => undefined);
      client?.close();
      if (!(await waitForExit(direct, 60_000))) throw new JjfsError('busy', `jjfsd (pid ${direct}) is still shutting down after 60 s; try again.`);
    }
    if (process.platform === 'linux') {
      const { ensureLibfuseShim } = await import('../../fs/fuse-env.js');
      ensureLibfuseShim(paths.shimDir); // LD_LIBRARY_PATH of the unit points here
    }
    const logOffset = sizeOf(paths.logFile);
    const undo = await writeServiceFile(plan);
    const commands = manager.installCommands(state.active);
    try {
      await manager.runAll(commands);
    } catch (error) {
      await undo();
      await manager.runAll(manager.afterRemoveCommands()).catch(() => undefined);
      throw error;
    }
    // enable --now / bootstrap / restart started it; wait until it answers (after remounting).
    await waitUnderService(paths, manager, logOffset, async () => (await runningDaemonPid(paths)) !== undefined);
    const pid = await runningDaemonPid(paths);
    out.result(
      { installed: true, changed: true, kind, file: plan.target.file, pid, commands: commands.map((c) => manager.describe(c)) },
      () => [
        `Installed ${plan.target.file}.`,
        `jjfsd runs under ${kind}${pid ? ` (pid ${pid})` : ''}: it starts at login and restarts after a crash. Undo with: jjfs uninstall`,
      ],
    );
  },
};

export const uninstallCommand: Command = {
  usage: 'jjfs uninstall [--dry-run]',
  details: 'Stops jjfsd (it unmounts everything), disables the service and removes its file. jjfs commands then start jjfsd directly again. --dry-run changes nothing.',
  options: dryRun,
  positionals: [0, 0],
  async run({ paths, out, values }) {
    const { managerFor, removeServiceFile, requireTarget } = await import('../../service/install.js');
    const target = requireTarget(process.env);
    const manager = managerFor(target);
    const { existsSync } = await import('node:fs');
    if (!existsSync(target.file)) {
      out.result({ installed: false, kind: target.kind, file: target.file }, () => `No jjfs service is installed (${target.file} does not exist); nothing to do.`);
      return;
    }
    const commands = [...manager.removeCommands(), ...manager.afterRemoveCommands()].map((c) => manager.describe(c));
    if (values['dry-run'] === true) {
      out.result({ dryRun: true, kind: target.kind, file: target.file, commands }, () => [
        'Would run and remove:',
        `  ${manager.describe(manager.removeCommands()[0]!)}`,
        `  rm ${target.file}`,
        ...manager.afterRemoveCommands().map((c) => `  ${manager.describe(c)}`),
      ]);
      return;
    }
    const pid = await runningDaemonPid(paths);
    // Stopping is best effort (the service may not be loaded); removing the file is what counts.
    const stopError = await manager.runAll(manager.removeCommands()).then(() => undefined, (error: unknown) => (error as Error).message);
    await removeServiceFile(target);
    await manager.runAll(manager.afterRemoveCommands()).catch(() => undefined);
    if (pid !== undefined) await waitForExit(pid, 120_000);
    if (stopError) out.note(`jjfs: note: ${stopError}`);
    out.result({ installed: false, removed: true, kind: target.kind, file: target.file, commands }, () => [
      `Removed ${target.file}; jjfsd is no longer run by ${target.kind}.`,
      'jjfs commands start jjfsd directly again when they need it (or: jjfs start).',
    ]);
  },
};

/** The pid of the daemon answering on the socket, if any. */
async function runningDaemonPid(paths: Parameters<typeof tryConnect>[0]): Promise<number | undefined> {
  const client = await tryConnect(paths);
  if (!client) return undefined;
  try {
    return (await client.request('hello', { client: VERSION, protocol: PROTOCOL_VERSION }).catch(() => undefined))?.pid;
  } finally {
    client.close();
  }
}
