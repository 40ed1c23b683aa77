import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { JjfsEnv } from './jjfs-env.js';
import { ROOT } from './jjfs-env.js';

export const FAKE_SERVICE_MANAGER = path.join(ROOT, 'test', 'helpers', 'fake-service-manager.mjs');

/**
 * Environment for jjfs with a service manager that is the fake one (recording into root/sm) and a
 * HOME inside the test's temp dir, so nothing outside it is ever installed or asked.
 */
export function serviceEnv(env: JjfsEnv, kind: 'systemd' | 'launchd', extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e = env.env({
    HOME: path.join(env.root, 'user-home'),
    JJFS_SERVICE_MANAGER: FAKE_SERVICE_MANAGER,
    JJFS_SERVICE_PLATFORM: kind,
    FAKE_SM_STATE: path.join(env.root, 'sm'),
    ...extra,
  });
  for (const k of ['XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME']) delete e[k];
  if (!e.HOME!.startsWith(`${env.root}/`)) throw new Error('refusing: HOME outside the test dir');
  return e;
}

/** The calls the fake service manager received, each as its argument list. */
export async function fakeCalls(env: JjfsEnv): Promise<string[][]> {
  const text = await readFile(path.join(env.root, 'sm', 'calls.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);
}

/** Calls that change something (not the is-active / is-enabled / print queries). */
export function mutating(calls: string[][]): string[] {
  return calls.filter((c) => !['is-active', 'is-enabled', 'print'].some((q) => c.includes(q))).map((c) => c.join(' '));
}

/** The environment of a running process (Linux). */
export async function environOf(pid: number): Promise<Record<string, string>> {
  const raw = await readFile(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(raw.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}
