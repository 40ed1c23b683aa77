/**
 * `jjfs doctor`, part 2: the state of this jjfs installation — daemon socket and lock, stale mounts,
 * the service, every mount's workspace, every remote. Nothing here changes anything, and nothing
 * touches a mount from this process: mounts are probed in child processes.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Paths } from '../config/paths.js';
import { emptyConfig, parseConfig, type Config } from '../config/schema.js';
import { redactText, redactUrl, validateRemoteUrl } from '../config/validate.js';
import { isDaemonAlive, readDaemonInfo } from '../launch/daemon-info.js';
import { messageOf } from '../errors.js';
import { listFuseMounts, probeMount } from '../fs/unmount.js';
import type { StatusResult } from '../rpc/protocol.js';
import { installedService, managerFor } from '../service/install.js';
import { serviceTarget } from '../service/manager.js';
import { ok, problem, warning, type Check } from './system-checks.js';

/** The daemon as the CLI found it. */
export type DaemonContact = { kind: 'answering'; status: StatusResult } | { kind: 'absent' } | { kind: 'unusable'; reason: string };

/** config.json, read without changing it (the daemon is the one that quarantines a broken file). */
export async function readConfig(paths: Paths): Promise<{ config: Config; check?: Check }> {
  let text: string;
  try {
    text = await readFile(paths.configFile, 'utf8');
  } catch {
    return { config: emptyConfig() };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { config: emptyConfig(), check: problem('config', `${paths.configFile} is not valid JSON (${messageOf(error)})`, `fix the file by hand; \`jjfs start\` sets a broken file aside as config.json.corrupt-<time>`) };
  }
  const parsed = parseConfig(raw);
  if ('problems' in parsed) {
    return { config: emptyConfig(), check: problem('config', `${paths.configFile} is invalid: ${parsed.problems.join('; ')}`, 'fix those fields by hand') };
  }
  return { config: parsed.config };
}

/** The socket answers, or is a leftover of a dead daemon. */
export function checkSocket(paths: Paths, daemon: DaemonContact): Check {
  if (daemon.kind === 'answering') return ok('socket', `${paths.socket}: jjfsd answers (pid ${daemon.status.pid}, version ${daemon.status.version})`);
  if (daemon.kind === 'unusable') return problem('socket', `${paths.socket}: ${daemon.reason}`, 'restart the daemon: jjfs stop && jjfs start');
  if (existsSync(paths.socket)) {
    return problem('socket', `${paths.socket} exists but nothing answers: jjfsd died without removing it (crash or kill -9)`, 'jjfs start (it removes the stale socket and remounts every mount)');
  }
  return ok('socket', 'jjfsd is not running (jjfs commands start it when they need it)');
}

/** The single-instance lock is held by the live daemon, or not at all. */
export async function checkLock(paths: Paths, daemon: DaemonContact): Promise<Check> {
  if (!existsSync(paths.lockFile)) {
    return daemon.kind === 'answering'
      ? problem('lock', `${paths.lockFile} is missing although jjfsd (pid ${daemon.status.pid}) runs: a second daemon could start`, 'restart the daemon: jjfs stop && jjfs start')
      : ok('lock', 'not held');
  }
  const holder = await readDaemonInfo(paths);
  if (holder && isDaemonAlive(holder.pid)) {
    if (daemon.kind === 'answering' || (await isFresh(paths.lockFile))) return ok('lock', `held by jjfsd (pid ${holder.pid})`);
    return problem('lock', `held by jjfsd (pid ${holder.pid}), which does not answer on its socket (hung, or still starting)`, `wait a few seconds and run jjfs doctor again; if it persists: kill ${holder.pid} && jjfs start (log: ${paths.logFile})`);
  }
  const who = holder ? `pid ${holder.pid}, which is not running` : 'a process that recorded no pid';
  return problem('lock', `${paths.lockFile} is stale: held by ${who} (jjfsd was killed)`, 'jjfs start (it takes the stale lock over)');
}

/** proper-lockfile refreshes the lock's mtime every second while its owner lives. */
async function isFresh(lockFile: string): Promise<boolean> {
  try {
    return Date.now() - (await stat(lockFile)).mtimeMs < 5_000;
  } catch {
    return false;
  }
}

/**
 * FUSE mounts of this jjfs (type fuse.jjfs, at a configured mount path or named after a configured
 * workspace) whose server is gone: they answer "Transport endpoint is not connected". Mounts of
 * other jjfs homes are not ours to judge and are skipped.
 */
export async function checkStaleMounts(config: Config): Promise<Check[]> {
  const paths = new Set(config.mounts.map((m) => m.path));
  const ids = new Set(config.mounts.map((m) => m.id));
  const ours = (await listFuseMounts()).filter((m) => m.type === 'fuse.jjfs' && (paths.has(m.path) || ids.has(m.fsname.replace(/^jjfs:/, ''))));
  const probes = await Promise.all(ours.map(async (m) => ({ m, probe: await probeMount(m.path) })));
  const found: Check[] = [];
  for (const { m, probe } of probes) {
    if (probe.state === 'stale') {
      found.push(problem('stale mount', `${m.path}: "Transport endpoint is not connected" (the jjfsd serving it died)`, `jjfs start (it clears stale mounts and remounts); by hand: ${process.getuid?.() === 0 ? 'umount -l' : 'fusermount -uz'} ${m.path}`));
    } else if (probe.state === 'hung') {
      found.push(problem('stale mount', `${m.path} does not answer within 5 s: the jjfsd serving it is stuck`, `look at the log, then restart the daemon: jjfs stop && jjfs start (if that hangs: kill -9 the daemon, then jjfs start)`));
    }
  }
  return found.length > 0 ? found : [ok('stale mounts', ours.length === 0 ? 'none (no mount of this jjfs is mounted)' : `none (${ours.length === 1 ? 'the mount answers' : `all ${ours.length} mounts answer`})`)];
}

/** A service is installed for this home, up to date, enabled and running. */
export async function checkService(paths: Paths, env: NodeJS.ProcessEnv): Promise<Check> {
  const target = serviceTarget(env);
  if (!target) return ok('service', `no service manager support on ${process.platform}; jjfs commands start jjfsd when needed`);
  const installed = installedService(paths, env);
  if (!installed) {
    // A choice, not a fault: without a service, jjfs commands start jjfsd when they need it.
    return warning('service', `not installed (${target.file} does not exist): jjfsd does not start at login or restart after a crash`, 'jjfs install');
  }
  if (!installed.forThisHome) {
    return problem('service', `${target.file} runs jjfsd for ${installed.home ?? 'an unknown home'}, not for ${paths.home}`, `run jjfs install with the JJFS_HOME you use (it replaces the file)`);
  }
  if (!installed.upToDate) {
    return problem('service', `${target.file} was written for another node or jjfs (moved or upgraded since jjfs install)`, 'jjfs install (rewrites it for this node and this jjfs)');
  }
  const manager = managerFor(target);
  const state = await manager.state();
  if (!state.usable) return problem('service', `installed, but ${target.kind} cannot be asked: ${state.detail}`, target.kind === 'systemd' ? 'log in to a session with a systemd user manager (on a server: `loginctl enable-linger $USER`)' : 'log in to a GUI session');
  if (!state.enabled) return problem('service', `installed but not enabled (${state.detail}): it will not start at login`, 'jjfs install');
  if (!state.active) return problem('service', `installed but not running (${state.detail})`, `jjfs start (${manager.hint()})`);
  return ok('service', `${target.kind}: ${state.detail} (${target.file})`);
}

/** Every mount is mounted and its workspace healthy (jj works there), per the daemon. */
export function checkMounts(config: Config, daemon: DaemonContact): Check[] {
  if (daemon.kind !== 'answering') {
    if (config.mounts.length === 0) return [ok('mounts', 'none configured')];
    const n = config.mounts.length;
    const what = n === 1 ? 'its mount is not mounted' : `none of its ${n} mounts is mounted`;
    return [problem('mounts', `jjfsd is not running, so ${what} (${config.mounts.map((m) => m.path).join(', ')})`, 'jjfs start')];
  }
  const { status } = daemon;
  const checks: Check[] = [];
  for (const w of status.warnings) checks.push(problem('daemon', w, 'see the message; the log has details'));
  for (const m of status.mounts) {
    if (m.state === 'mounted') continue;
    const why = m.error ?? m.state;
    const fix =
      m.state === 'unhealthy'
        ? `recreate it (the repo keeps every recorded change): jjfs close ${m.path} && jjfs open ${m.repo} ${m.path}`
        : 'remount it: jjfs stop && jjfs start';
    checks.push(problem('mount', `${m.path} (repo ${m.repo}) is ${m.state}: ${why}`, fix));
  }
  // Paths that exist in one mount only: not a fault of jjfs, but the user must know (close would
  // refuse, and nothing backs them up).
  for (const m of status.mounts) {
    const listed = (m.unsynced?.paths ?? []).filter((p) => p.reason === 'git-repository' || p.reason === 'too-large');
    if (listed.length === 0) continue;
    const what = listed.map((p) => `${p.path} (${p.reason === 'git-repository' ? 'a nested git repository' : 'over the new-file size limit'})`);
    checks.push(warning('unsynced', `${m.path}: ${what.join(', ')} — not synced, exist only in this mount`, `see jjfs unsynced ${m.path}; move them out of the mount to keep them`));
  }
  if (checks.some((c) => !c.ok)) return checks;
  const repos = [...new Set(status.mounts.map((m) => m.repo))];
  // Which way each live mount caches (src/fs/mount.ts): a fallback is not a fault, but it is slower.
  const live = status.mounts.filter((m) => m.at === undefined);
  const cached = live.filter((m) => m.kernelCache === 'invalidated').length;
  const caching = live.length === 0 ? '' : `; kernel cache on ${cached} of ${live.length}${cached < live.length ? ' (the others without: JJFS_KERNEL_CACHE=off, or the kernel refused the invalidation — see sync.log)' : ''}`;
  return [ok('mounts', status.mounts.length === 0 ? 'none configured' : `${status.mounts.length} mounted, workspaces healthy (${repos.join(', ')})${caching}`), ...checks];
}

/** Every configured remote answers `git ls-remote` (bounded; credentials never shown). */
export async function checkRemotes(config: Config, env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<Check[]> {
  const repos = Object.entries(config.repos).filter((e): e is [string, typeof e[1] & { remote: string }] => e[1].remote !== null);
  if (repos.length === 0) return [ok('remotes', 'none configured')];
  return Promise.all(
    repos.map(async ([name, repo]) => {
      const shown = redactUrl(repo.remote);
      const label = `remote of ${name}`;
      const fix = `check the URL, the network and your credentials; replace it with: jjfs remote remove --repo ${name} && jjfs remote add URL --repo ${name}`;
      try {
        validateRemoteUrl(repo.remote);
      } catch (error) {
        return problem(label, messageOf(error), fix);
      }
      const r = await lsRemote(repo.remote, env, timeoutMs);
      if (r.ok) return ok(label, `${shown} answers`);
      return problem(label, `${shown} is not reachable: ${redactText(r.error, repo.remote)}`, fix);
    }),
  );
}

/**
 * `git ls-remote --heads URL` that can neither prompt nor hang: no terminal prompts, ssh in batch
 * mode, only real transports (no ext::), killed after `timeoutMs`.
 */
function lsRemote(url: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ ok: true } | { ok: false; error: string }> {
  const gitEnv: NodeJS.ProcessEnv = {
    ...env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: 'true',
    SSH_ASKPASS: 'true',
    GIT_ALLOW_PROTOCOL: 'https:http:ssh:git:file',
    GIT_SSH_COMMAND: env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes -o ConnectTimeout=10',
  };
  return new Promise((resolve) => {
    execFile('git', ['ls-remote', '--heads', '--', url], { env: gitEnv, timeout: timeoutMs, cwd: '/', encoding: 'utf8' }, (error, _stdout, stderr) => {
      if (!error) return resolve({ ok: true });
      const timedOut = error.killed === true || error.signal === 'SIGTERM';
      const last = stderr.trim().split('\n').filter(Boolean).slice(-2).join(' ');
      resolve({ ok: false, error: timedOut ? `no answer within ${timeoutMs / 1000} s` : last || error.message });
    });
  });
}

