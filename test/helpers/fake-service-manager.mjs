#!/usr/bin/env node
// A stand-in for `systemctl --user` and `launchctl`, used through JJFS_SERVICE_MANAGER. It records
// every call (one JSON array per line in $FAKE_SM_STATE/calls.jsonl) and behaves like the real
// manager for the calls jjfs makes: daemon-reload snapshots the unit file, start runs what the
// loaded unit or plist says (ExecStart/ProgramArguments, Environment, WorkingDirectory, output
// appended to the log) detached with a minimal base environment like a service manager's, stop
// sends SIGTERM and waits (then SIGKILL after the stop timeout). $FAKE_SM_BROKEN=1 answers like
// systemctl without a user session bus.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as plist from 'plist';

const state = process.env.FAKE_SM_STATE;
if (!state) {
  process.stderr.write('FAKE_SM_STATE is not set\n');
  process.exit(2);
}
mkdirSync(state, { recursive: true });
const args = process.argv.slice(2);
appendFileSync(path.join(state, 'calls.jsonl'), `${JSON.stringify(args)}\n`);
const home = process.env.HOME;
const at = (name) => path.join(state, name);

if (process.env.FAKE_SM_BROKEN === '1') {
  process.stderr.write('Failed to connect to bus: No medium found\n');
  process.exit(1);
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const runningPid = () => {
  const pid = existsSync(at('pid')) ? Number(readFileSync(at('pid'), 'utf8')) : 0;
  return pid > 0 && alive(pid) ? pid : undefined;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts the loaded service definition like the service manager would. */
function start(def) {
  if (runningPid()) return;
  const [program, ...rest] = def.argv;
  const out = openSync(def.log, 'a');
  const cwd = existsSync(def.cwd) ? def.cwd : home;
  const base = { HOME: home, USER: process.env.USER ?? 'root', PATH: '/usr/local/bin:/usr/bin:/bin' };
  const child = spawn(program, rest, { cwd, env: { ...base, ...def.env }, stdio: ['ignore', out, out], detached: true });
  child.unref();
  writeFileSync(at('pid'), String(child.pid));
}

async function stop(timeoutS) {
  const pid = runningPid();
  if (!pid) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutS * 1000;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(at('pid'), { force: true });
}

// ---- systemd unit parsing (the subset jjfs renders) ----
function unquoteWords(s) {
  const words = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m;
  while ((m = re.exec(s))) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]);
  return words;
}
function parseUnit(text) {
  const get = (key) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]);
  const spec = (s) => s.replace(/%%/g, '%');
  const env = {};
  for (const line of get('Environment')) {
    for (const word of unquoteWords(line)) {
      const kv = spec(word);
      const i = kv.indexOf('=');
      env[kv.slice(0, i)] = kv.slice(i + 1);
    }
  }
  const argv = unquoteWords(get('ExecStart')[0]).map((w) => spec(w).replace(/\$\$/g, '$'));
  const log = spec(get('StandardOutput')[0].replace(/^append:/, ''));
  const cwd = spec(get('WorkingDirectory')[0].replace(/^-/, ''));
  return { argv, env, log, cwd, stopTimeout: Number(get('TimeoutStopSec')[0]) };
}

async function systemctl() {
  const [user, verb, ...rest] = args;
  if (user !== '--user') throw new Error(`expected --user, got ${user}`);
  const unitFile = path.join(process.env.XDG_CONFIG_HOME || path.join(home, '.config'), 'systemd', 'user', 'jjfs.service');
  const loaded = () => (existsSync(at('loaded.unit')) ? parseUnit(readFileSync(at('loaded.unit'), 'utf8')) : undefined);
  const need = () => {
    const def = loaded();
    if (!def) {
      process.stderr.write('Failed to start jjfs.service: Unit jjfs.service not found.\n');
      process.exit(5);
    }
    return def;
  };
  const now = rest.includes('--now');
  switch (verb) {
    case 'daemon-reload':
      if (existsSync(unitFile)) writeFileSync(at('loaded.unit'), readFileSync(unitFile));
      else rmSync(at('loaded.unit'), { force: true });
      return 0;
    case 'enable':
      need();
      writeFileSync(at('enabled'), '');
      if (now) start(need());
      return 0;
    case 'disable':
      rmSync(at('enabled'), { force: true });
      if (now) await stop(loaded()?.stopTimeout ?? 90);
      return 0;
    case 'start':
      start(need());
      return 0;
    case 'stop':
      await stop(loaded()?.stopTimeout ?? 90);
      return 0;
    case 'restart':
      await stop(need().stopTimeout);
      start(need());
      return 0;
    case 'is-active':
      process.stdout.write(runningPid() ? 'active\n' : 'inactive\n');
      return runningPid() ? 0 : 3;
    case 'is-enabled':
      process.stdout.write(existsSync(at('enabled')) ? 'enabled\n' : loaded() ? 'disabled\n' : 'not-found\n');
      return existsSync(at('enabled')) ? 0 : 1;
    default:
      process.stderr.write(`fake systemctl: unknown verb ${verb}\n`);
      return 1;
  }
}

async function launchctl() {
  const [verb, ...rest] = args;
  const loadedFile = at('loaded.plist.json');
  const loaded = () => (existsSync(loadedFile) ? JSON.parse(readFileSync(loadedFile, 'utf8')) : undefined);
  switch (verb) {
    case 'enable':
      return 0;
    case 'bootstrap': {
      if (loaded()) {
        process.stderr.write('Bootstrap failed: 5: Input/output error (already loaded)\n');
        return 5;
      }
      const p = plist.parse(readFileSync(rest[1], 'utf8'));
      const def = { argv: p.ProgramArguments, env: p.EnvironmentVariables, log: p.StandardErrorPath, cwd: p.WorkingDirectory, stopTimeout: p.ExitTimeOut };
      writeFileSync(loadedFile, JSON.stringify(def));
      if (p.RunAtLoad) start(def);
      return 0;
    }
    case 'bootout': {
      const def = loaded();
      if (!def) {
        process.stderr.write('Boot-out failed: 3: No such process\n');
        return 3;
      }
      await stop(def.stopTimeout);
      rmSync(loadedFile, { force: true });
      return 0;
    }
    case 'kickstart':
      if (!loaded()) return 113;
      start(loaded());
      return 0;
    case 'kill':
      if (runningPid()) process.kill(runningPid(), rest[0]);
      return 0;
    case 'print': {
      if (!loaded()) {
        process.stderr.write(`Could not find service "${rest[0]}" in domain\n`);
        return 113;
      }
      const pid = runningPid();
      process.stdout.write(`${rest[0]} = {\n\tstate = ${pid ? 'running' : 'not running'}\n${pid ? `\tpid = ${pid}\n` : ''}}\n`);
      return 0;
    }
    default:
      process.stderr.write(`fake launchctl: unknown verb ${verb}\n`);
      return 1;
  }
}

process.exitCode = await (args[0] === '--user' ? systemctl() : launchctl());
