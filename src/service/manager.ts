/**
 * Talks to the user's service manager: `systemctl --user` (Linux) or `launchctl` (macOS).
 *
 * Injectable for tests: `JJFS_SERVICE_MANAGER` names a program used instead of systemctl/launchctl
 * (called with the same arguments), `JJFS_SERVICE_PLATFORM=systemd|launchd` picks the kind, and
 * HOME (and XDG_CONFIG_HOME for systemd) decide where the definition file goes.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { JjfsError } from '../errors.js';
import { LAUNCHD_LABEL, STOP_TIMEOUT_S, SYSTEMD_UNIT, type ServiceKind } from './render.js';

/** Where the service definition goes and which program manages it. */
export interface ServiceTarget {
  kind: ServiceKind;
  /** The unit / plist file. */
  file: string;
  /** systemctl, launchctl, or the injected replacement. */
  program: string;
  uid: number;
}

/** The service target of this platform, or undefined where jjfs has no service manager support. */
export function serviceTarget(env: NodeJS.ProcessEnv = process.env): ServiceTarget | undefined {
  const forced = env.JJFS_SERVICE_PLATFORM;
  const kind: ServiceKind | undefined =
    forced === 'systemd' || forced === 'launchd' ? forced : process.platform === 'linux' ? 'systemd' : process.platform === 'darwin' ? 'launchd' : undefined;
  if (!kind) return undefined;
  const home = env.HOME || os.homedir();
  const file =
    kind === 'systemd'
      ? path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'systemd', 'user', SYSTEMD_UNIT)
      : path.join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
  const program = env.JJFS_SERVICE_MANAGER || (kind === 'systemd' ? 'systemctl' : 'launchctl');
  return { kind, file, program, uid: process.getuid?.() ?? 0 };
}

/** What the service manager says about the jjfs service. */
export type ServiceManagerState =
  | { usable: true; active: boolean; enabled: boolean; detail: string }
  /** The service manager cannot be asked (no user session bus, program missing…). */
  | { usable: false; detail: string };

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the service manager; tests may replace it. */
export type Runner = (program: string, args: readonly string[], timeoutMs: number) => Promise<RunResult>;

const execRunner: Runner = (program, args, timeoutMs) =>
  new Promise((resolve) => {
    execFile(program, [...args], { timeout: timeoutMs, encoding: 'utf8', cwd: '/' }, (error, stdout, stderr) => {
      if (!error) return resolve({ code: 0, stdout, stderr });
      const code = typeof error.code === 'number' ? error.code : 127;
      const why = typeof error.code === 'string' ? `${error.code}: ${error.message}` : '';
      resolve({ code, stdout, stderr: stderr || why });
    });
  });

/** Long enough for a stop: the manager waits up to STOP_TIMEOUT_S for jjfsd to exit. */
const STOP_CALL_MS = (STOP_TIMEOUT_S + 30) * 1000;
const CALL_MS = 30_000;

/** The commands of each operation, and running them. */
export class ServiceManager {
  constructor(
    readonly target: ServiceTarget,
    private readonly runner: Runner = execRunner,
  ) {}

  private get service(): string {
    return `gui/${this.target.uid}/${LAUNCHD_LABEL}`;
  }

  /** Commands that make the freshly written definition run now and at every login. */
  installCommands(running: boolean): string[][] {
    if (this.target.kind === 'systemd') {
      const reload = ['--user', 'daemon-reload'];
      return running
        ? [reload, ['--user', 'enable', SYSTEMD_UNIT], ['--user', 'restart', SYSTEMD_UNIT]]
        : [reload, ['--user', 'enable', '--now', SYSTEMD_UNIT]];
    }
    // bootstrap loads the agent and, with RunAtLoad, starts it; a loaded one must be booted out first.
    const load = [['enable', this.service], ['bootstrap', `gui/${this.target.uid}`, this.target.file]];
    return running ? [['bootout', this.service], ...load] : load;
  }

  /** Commands that stop the service and keep it from starting at login (before the file is removed). */
  removeCommands(): string[][] {
    return this.target.kind === 'systemd' ? [['--user', 'disable', '--now', SYSTEMD_UNIT]] : [['bootout', this.service]];
  }

  /** Commands after the file is removed. */
  afterRemoveCommands(): string[][] {
    return this.target.kind === 'systemd' ? [['--user', 'daemon-reload']] : [];
  }

  /** Commands that start the daemon through the service manager. */
  startCommands(loaded: boolean): string[][] {
    if (this.target.kind === 'systemd') return [['--user', 'start', SYSTEMD_UNIT]];
    return loaded ? [['kickstart', this.service]] : [['bootstrap', `gui/${this.target.uid}`, this.target.file]];
  }

  /**
   * Commands that stop the daemon through the service manager. systemctl waits for the exit; for
   * launchd the caller waits (SIGTERM is a clean stop; KeepAlive restarts only after a failure).
   */
  stopCommands(): string[][] {
    return this.target.kind === 'systemd' ? [['--user', 'stop', SYSTEMD_UNIT]] : [['kill', 'SIGTERM', this.service]];
  }

  /** The command line, for people: `systemctl --user start jjfs.service`. */
  describe(args: readonly string[]): string {
    return [this.target.program, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  }

  /** Runs every command in order; the first failure throws an environment error with its output. */
  async runAll(commands: readonly (readonly string[])[]): Promise<void> {
    for (const args of commands) {
      const slow = args.includes('stop') || args.includes('restart') || args.includes('bootout') || args.includes('--now');
      const r = await this.runner(this.target.program, args, slow ? STOP_CALL_MS : CALL_MS);
      if (r.code !== 0) {
        throw new JjfsError(
          'environment',
          `\`${this.describe(args)}\` failed (exit ${r.code}): ${(r.stderr || r.stdout).trim() || 'no output'}. ${this.hint()}`,
        );
      }
    }
  }

  /** Asks whether the service is loaded/enabled and running. Never throws. */
  async state(): Promise<ServiceManagerState> {
    if (this.target.kind === 'systemd') {
      const [active, enabled] = await Promise.all([
        this.runner(this.target.program, ['--user', 'is-active', SYSTEMD_UNIT], CALL_MS),
        this.runner(this.target.program, ['--user', 'is-enabled', SYSTEMD_UNIT], CALL_MS),
      ]);
      const word = active.stdout.trim();
      // is-active prints a state word even when the unit is inactive (exit 3); no word at all means
      // systemctl could not ask (e.g. "Failed to connect to bus": no user session).
      if (word === '') return { usable: false, detail: `${(active.stderr || 'no answer').trim()}. ${this.hint()}` };
      return { usable: true, active: word === 'active', enabled: enabled.stdout.trim() === 'enabled', detail: `${word}, ${enabled.stdout.trim() || 'not enabled'}` };
    }
    const r = await this.runner(this.target.program, ['print', this.service], CALL_MS);
    if (r.code === 127) return { usable: false, detail: `${r.stderr.trim()}. ${this.hint()}` };
    if (r.code !== 0) return { usable: true, active: false, enabled: false, detail: 'not loaded' };
    const state = /^\s*state = (\S+)/m.exec(r.stdout)?.[1] ?? 'unknown';
    return { usable: true, active: state === 'running', enabled: true, detail: `loaded, ${state}` };
  }

  /** Where to look when the service manager misbehaves. */
  hint(): string {
    return this.target.kind === 'systemd'
      ? 'See `systemctl --user status jjfs.service`; jjfs install needs a systemd user session (on a server: `loginctl enable-linger $USER`, then log in again).'
      : `See \`launchctl print ${this.service}\`.`;
  }
}
