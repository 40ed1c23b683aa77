/**
 * Renders the service definitions in `service-templates/`: a systemd user unit and a launchd agent
 * that run jjfsd directly (node + dist/daemon/main.js, no re-exec wrapper, so the service manager
 * signals and tracks the daemon itself) with the environment it needs prepared up front.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Paths } from '../config/paths.js';
import { JjfsError } from '../errors.js';
import { fuseThreadPoolSize } from '../fs/fuse-env.js';
import { DAEMON_ENTRY, DAEMON_ENV_MARK } from '../launch/daemon-env.js';
import { PACKAGE_ROOT } from '../package-root.js';

/** The two service managers jjfs can install into. */
export type ServiceKind = 'systemd' | 'launchd';

export const SYSTEMD_UNIT = 'jjfs.service';
export const LAUNCHD_LABEL = 'com.jjfs.daemon';

/**
 * Seconds the service manager waits after SIGTERM before it kills jjfsd: unmounting, then the last
 * sync round (the daemon gives it up to 30 s), then stopping the engines, with a wide margin.
 */
export const STOP_TIMEOUT_S = 90;

/** Where the templates live: `<package>/service-templates/`. */
export const TEMPLATE_DIR = `${path.join(PACKAGE_ROOT, 'service-templates')}${path.sep}`;

/** Everything a rendered service definition contains. */
export interface ServiceSpec {
  /** Absolute path of node. */
  node: string;
  /** Absolute path of dist/daemon/main.js. */
  entry: string;
  /** The daemon's working directory: its home (never a mount). */
  workingDirectory: string;
  /** stdout and stderr are appended here. */
  logFile: string;
  /** Environment, in order. */
  env: Array<[string, string]>;
  stopTimeoutS: number;
}

/** Environment variables passed through from the installing shell when set. */
const PASSED_THROUGH = ['JJFS_JJ', 'JJFS_LOG_LEVEL', 'JJFS_KERNEL_CACHE'] as const;
/** Where platformDirs puts data, config and log without JJFS_HOME; a service does not see your shell's. */
const XDG_DIRS = ['XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME'] as const;

/**
 * What the service runs, for `paths` and the installing environment `env`:
 * - `JJFS_DAEMON_ENV=1`: the environment below is complete (bin/jjfsd.js would otherwise re-exec);
 * - `LD_LIBRARY_PATH` = the libfuse.so.2 shim dir (Linux), `UV_THREADPOOL_SIZE` >= 64: both are
 *   read only at process start (see fuseProcessEnv);
 * - `PATH` of the installing shell (absolute entries): jj, git, fusermount and umount are found the
 *   same way as when the CLI starts the daemon; service managers start with a minimal PATH;
 * - `JJFS_HOME`, `JJFS_JJ`, `JJFS_LOG_LEVEL`, `JJFS_KERNEL_CACHE` and the XDG base directories when set.
 */
export function serviceSpec(
  paths: Paths,
  opts: { env?: NodeJS.ProcessEnv; node?: string; entry?: string; platform?: NodeJS.Platform } = {},
): ServiceSpec {
  const env = opts.env ?? process.env;
  const vars: Array<[string, string]> = [[DAEMON_ENV_MARK, '1']];
  if ((opts.platform ?? process.platform) === 'linux') vars.push(['LD_LIBRARY_PATH', paths.shimDir]);
  vars.push(['UV_THREADPOOL_SIZE', fuseThreadPoolSize(env)]);
  const dirs = [...new Set((env.PATH ?? '').split(path.delimiter).filter((d) => path.isAbsolute(d)))];
  vars.push(['PATH', dirs.length > 0 ? dirs.join(path.delimiter) : '/usr/local/bin:/usr/bin:/bin']);
  if (env.JJFS_HOME) vars.push(['JJFS_HOME', paths.home]);
  else for (const name of XDG_DIRS) if (env[name]) vars.push([name, path.resolve(env[name])]);
  for (const name of PASSED_THROUGH) {
    const value = env[name];
    if (value) vars.push([name, name === 'JJFS_JJ' ? path.resolve(value) : value]);
  }
  return {
    node: opts.node ?? process.execPath,
    entry: opts.entry ?? DAEMON_ENTRY,
    workingDirectory: paths.home,
    logFile: paths.logFile,
    env: vars,
    stopTimeoutS: STOP_TIMEOUT_S,
  };
}

/** Renders the service definition of `kind` for `spec`. */
export function renderService(kind: ServiceKind, spec: ServiceSpec): string {
  checkValues(spec);
  return kind === 'systemd' ? renderSystemd(spec) : renderLaunchd(spec);
}

/** The line naming what the service runs; an installed file without it is out of date. */
export function programMarker(kind: ServiceKind, spec: ServiceSpec): string {
  return kind === 'systemd' ? `ExecStart=${systemdExecStart(spec)}` : launchdProgramArguments(spec);
}

/** The daemon home an installed definition was rendered for (undefined when unreadable). */
export function homeOfInstalled(kind: ServiceKind, text: string): string | undefined {
  if (kind === 'systemd') {
    const m = /^WorkingDirectory=-(.*)$/m.exec(text);
    return m?.[1]?.replace(/%%/g, '%');
  }
  const m = /<key>WorkingDirectory<\/key>\s*<string>([^<]*)<\/string>/.exec(text);
  return m?.[1] === undefined ? undefined : xmlUnescape(m[1]);
}

// ---- systemd ------------------------------------------------------------------------------------

/** One word of ExecStart=: quoted; `\` and `"` escaped; `%` (specifiers) and `$` (variables) doubled. */
function systemdWord(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

function systemdExecStart(spec: ServiceSpec): string {
  return `${systemdWord(spec.node)} ${systemdWord(spec.entry)}`;
}

/** A path setting (WorkingDirectory=, append:): taken verbatim except for `%` specifiers. */
function systemdPath(s: string): string {
  return s.replace(/%/g, '%%');
}

function renderSystemd(spec: ServiceSpec): string {
  return fill(template(SYSTEMD_UNIT), {
    EXEC_START: systemdExecStart(spec),
    WORKING_DIRECTORY: systemdPath(spec.workingDirectory),
    // Environment="K=V": `\` and `"` escaped inside the quotes, `%` doubled; `$` is literal here.
    ENVIRONMENT: spec.env.map(([k, v]) => `Environment="${`${k}=${v}`.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, '%%')}"`).join('\n'),
    STOP_TIMEOUT: String(spec.stopTimeoutS),
    LOG_FILE: systemdPath(spec.logFile),
  });
}

// ---- launchd ------------------------------------------------------------------------------------

function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

function xmlUnescape(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e] ?? '');
}

function launchdProgramArguments(spec: ServiceSpec): string {
  return [spec.node, spec.entry].map((a) => `    <string>${xmlEscape(a)}</string>`).join('\n');
}

function renderLaunchd(spec: ServiceSpec): string {
  return fill(template(`${LAUNCHD_LABEL}.plist`), {
    LABEL: LAUNCHD_LABEL,
    PROGRAM_ARGUMENTS: launchdProgramArguments(spec),
    ENVIRONMENT: spec.env.map(([k, v]) => `    <key>${xmlEscape(k)}</key>\n    <string>${xmlEscape(v)}</string>`).join('\n'),
    WORKING_DIRECTORY: xmlEscape(spec.workingDirectory),
    STOP_TIMEOUT: String(spec.stopTimeoutS),
    LOG_FILE: xmlEscape(spec.logFile),
  });
}

// ---- shared -------------------------------------------------------------------------------------

function template(name: string): string {
  return readFileSync(path.join(TEMPLATE_DIR, name), 'utf8');
}

/** Replaces every `{{NAME}}`; a placeholder without a value, or a value without a placeholder, is a bug. */
function fill(text: string, values: Record<string, string>): string {
  const used = new Set<string>();
  const out = text.replace(/\{\{([A-Z_]+)\}\}/g, (_m, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`service template: no value for {{${name}}}`);
    used.add(name);
    return value;
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`service template: unused values ${unused.join(', ')}`);
  return out;
}

/**
 * Newlines and other control characters cannot be expressed in a unit file (or an XML plist), and
 * systemd strips leading/trailing white space of a setting: such paths are refused with the fix.
 */
function checkValues(spec: ServiceSpec): void {
  const values: Array<[string, string]> = [
    ['node', spec.node],
    ['the daemon entry', spec.entry],
    ['the jjfs home', spec.workingDirectory],
    ['the log file', spec.logFile],
    ...spec.env.map(([k, v]): [string, string] => [k, `${k}=${v}`]),
  ];
  for (const [what, value] of values) {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value) || value !== value.trim()) {
      throw new JjfsError(
        'environment',
        `${what} (${JSON.stringify(value)}) contains a control character or leading/trailing white space, ` +
          'which a service definition cannot hold. Move it (or set JJFS_HOME) to a plain path and run jjfs install again.',
      );
    }
  }
}
