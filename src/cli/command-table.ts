/**
 * The light table `jjfs` dispatches from: every command's name and one-line summary, and how to
 * load its module. Only this file loads at start; a command's module (its usage, flags and code,
 * with everything they import) is imported when that command runs or its help is asked for, so
 * `jjfs --version` and `jjfs list` do not pay for the other commands.
 */
import type { Command } from './command.js';

/** A command as the dispatcher knows it before loading it. */
export interface CommandEntry {
  readonly name: string;
  /** The line `jjfs --help` shows; also the summary in `jjfs help NAME`. */
  readonly summary: string;
  /** Imports the command's module and returns the command. */
  load(): Promise<Command>;
}

/** Every command, in the order `jjfs --help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'init',
    summary: 'Create a repo (default name: "default"), optionally from an existing git repository',
    load: async () => (await import('./commands/repos.js')).initCommand,
  },
  {
    name: 'open',
    summary: 'Mount a repo at PATH (default ./REPO), creating the repo if needed',
    load: async () => (await import('./commands/mounts.js')).openCommand,
  },
  {
    name: 'close',
    summary: 'Unmount PATH after recording its last changes',
    load: async () => (await import('./commands/mounts.js')).closeCommand,
  },
  {
    name: 'list',
    summary: 'List every mount with its state',
    load: async () => (await import('./commands/list.js')).listCommand,
  },
  {
    name: 'status',
    summary: 'Show the daemon, repos, mounts, conflicts and warnings',
    load: async () => (await import('./commands/daemon.js')).statusCommand,
  },
  {
    name: 'sync',
    summary: 'Sync now and wait until every mount has converged',
    load: async () => (await import('./commands/mounts.js')).syncCommand,
  },
  {
    name: 'conflicts',
    summary: 'List files with conflict markers',
    load: async () => (await import('./commands/mounts.js')).conflictsCommand,
  },
  {
    name: 'compact',
    summary: "Pack a repo's history now (the daemon also does it by itself)",
    load: async () => (await import('./commands/compact.js')).compactCommand,
  },
  {
    name: 'unsynced',
    summary: 'List what mounts hold that is not synced or in history, and why',
    load: async () => (await import('./commands/mounts.js')).unsyncedCommand,
  },
  {
    name: 'config',
    summary: 'Show or change a repo\'s settings; the running daemon applies a change at once',
    load: async () => (await import('./commands/config.js')).configCommand,
  },
  {
    name: 'monitor',
    summary: 'Watch what jjfs does, live: changes per mount, rounds, conflicts, pushes, errors',
    load: async () => (await import('./commands/monitor.js')).monitorCommand,
  },
  {
    name: 'log',
    summary: 'Versions of a file (or of the repo), newest first',
    load: async () => (await import('./commands/history.js')).logCommand,
  },
  {
    name: 'show',
    summary: 'Print a file as it was at REV|TIME (no PATH: that change and its diff)',
    load: async () => (await import('./commands/history.js')).showCommand,
  },
  {
    name: 'diff',
    summary: 'What changed since REV|TIME (no REV: what the last change did)',
    load: async () => (await import('./commands/history.js')).diffCommand,
  },
  {
    name: 'restore',
    summary: 'Put a file, directory or the whole tree back as it was at REV|TIME',
    load: async () => (await import('./commands/restore.js')).restoreCommand,
  },
  {
    name: 'undo',
    summary: 'Reverse the last change (as a new change; repeat to go further back)',
    load: async () => (await import('./commands/restore.js')).undoCommand,
  },
  {
    name: 'repos',
    summary: 'List repos',
    load: async () => (await import('./commands/repos.js')).reposCommand,
  },
  {
    name: 'remote',
    summary: 'Set, remove or show the git remote of a repo',
    load: async () => (await import('./commands/remote.js')).remoteCommand,
  },
  {
    name: 'start',
    summary: 'Start the daemon (it remounts every mount); through systemd/launchd when installed',
    load: async () => (await import('./commands/daemon.js')).startCommand,
  },
  {
    name: 'stop',
    summary: 'Stop the daemon (unmounts everything; mounts come back at the next start)',
    load: async () => (await import('./commands/daemon.js')).stopCommand,
  },
  {
    name: 'install',
    summary: 'Run jjfsd as a systemd user service / launchd agent: started at login, restarted after a crash',
    load: async () => (await import('./commands/service.js')).installCommand,
  },
  {
    name: 'uninstall',
    summary: 'Stop the service and remove what jjfs install wrote',
    load: async () => (await import('./commands/service.js')).uninstallCommand,
  },
  {
    name: 'doctor',
    summary: 'Check jj, FUSE, the daemon, stale mounts, the service, every mount and remote; say how to fix each problem',
    load: async () => (await import('./commands/doctor.js')).doctorCommand,
  },
];
