import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UnsyncedReport } from '../src/rpc/protocol.js';
import { isAlive, JjfsEnv, readOrUndefined, sleep, waitFor } from './helpers/jjfs-env.js';

// jjfs config (issue 15): every setting validated, written atomically, applied by the running
// daemon at once; with no daemon, config.json changes and the setting applies at the next start.
let env: JjfsEnv;
beforeEach(async () => {
  env = await JjfsEnv.create();
});
afterEach(async () => {
  await env.cleanup();
});

const configFile = () => path.join(env.home, 'config.json');
/** The parts of config.json these tests read back. */
type SavedConfig = { log_level?: string; repos: { notes: Record<string, unknown> } };

describe('jjfs config', () => {
  it('lists every setting with its default; set and unset apply at once', async () => {
    await env.open('notes', 'a');
    const list = await env.json<{ repo: string; settings: Array<{ key: string; value: unknown; isDefault: boolean }> }>(['config', 'list']);
    expect(list.repo).toBe('notes');
    expect(list.settings.map((s) => s.key)).toEqual(['debounce_ms', 'max_wait_ms', 'push_interval', 'push_delay', 'max_new_file_size', 'compact_loose_objects', 'compact_loose_bytes', 'op_log_max', 'op_log_keep', 'concurrent_insertions', 'notify_conflicts', 'log_level']);
    expect(list.settings.every((s) => s.isDefault)).toBe(true);

    const set = await env.json<{ setting: { value: unknown }; applied: boolean }>(['config', 'set', 'push_delay', '30', '--repo', 'notes']);
    expect(set).toMatchObject({ setting: { value: 30 }, applied: true });
    expect((JSON.parse(await readFile(configFile(), 'utf8')) as SavedConfig).repos.notes.push_delay).toBe(30);
    expect((await env.json<{ setting: { value: unknown } }>(['config', 'get', 'push_delay'])).setting.value).toBe(30);
    await env.json(['config', 'unset', 'push_delay']);
    expect((await env.json<{ setting: { value: unknown; isDefault: boolean } }>(['config', 'get', 'push_delay'])).setting).toMatchObject({ value: 10, isDefault: true });
  });

  it('bad keys and values are refused with the reason, and config.json is untouched', async () => {
    await env.open('notes', 'a');
    const before = await readFile(configFile(), 'utf8');
    for (const [args, why] of [
      [['set', 'no_such_key', '1'], /Unknown setting "no_such_key"/],
      [['set', 'debounce_ms', 'fast'], /debounce_ms must be between 0 and 60000 ms/],
      [['set', 'push_delay', '--', '-5'], /push_delay must be between 0 and 604800 s/],
      [['set', 'push_delay', '1.5'], /a whole number of s/],
      [['set', 'max_wait_ms', '99999999999'], /max_wait_ms must be between/],
      [['set', 'concurrent_insertions', 'sometimes'], /must be one of merge, markers/],
      [['set', 'push_delay', '5', '--repo', 'nope'], /No repo named "nope"/],
      [['set', 'push_delay'], /Usage: jjfs config set KEY VALUE/],
      [['frobnicate'], /Unknown config action/],
      [['set', 'log_level', 'chatty'], /log_level must be one of debug, info, warn, error/],
    ] as const) {
      const r = await env.run(['config', ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(why);
    }
    expect(await readFile(configFile(), 'utf8')).toBe(before);
  });

  it('a new debounce changes when a round runs; a new size limit reaches jj at once', async () => {
    const a = await env.open('notes', 'a');
    const b = await env.open('notes', 'b');
    await env.json(['config', 'set', 'max_wait_ms', '20000']);
    await env.json(['config', 'set', 'debounce_ms', '8000']);
    await writeFile(path.join(a, 'slow.md'), 'waits for the quiet period\n');
    // 8 s of quiet before the round: after 1 s nothing has moved, however fast the machine.
    await sleep(1_000);
    expect(await readOrUndefined(path.join(b, 'slow.md'))).toBeUndefined();
    expect(await waitFor(async () => (await readOrUndefined(path.join(b, 'slow.md'))) === 'waits for the quiet period\n', 30_000, 100)).toBe(true);

    await env.json(['config', 'set', 'max_new_file_size', '1KiB']);
    await writeFile(path.join(a, 'two-k.bin'), Buffer.alloc(2048, 7));
    await env.json(['sync', 'notes']);
    const { mounts } = await env.json<{ mounts: Array<{ path: string; report: UnsyncedReport }> }>(['unsynced', a]);
    expect(mounts[0]!.report.paths).toEqual([{ path: 'two-k.bin', reason: 'too-large', detail: expect.stringContaining('1.0KiB') }]);
  }, 90_000);

  it('log_level is one setting for the daemon, applied to sync.log at once', async () => {
    const a = await env.open('notes', 'a');
    const logFile = path.join(env.home, 'sync.log');
    const debugLines = async () => (await readFile(logFile, 'utf8')).split('\n').filter((l) => / DEBUG \[jj\] jj /.test(l)).length;
    await writeFile(path.join(a, 'one.md'), '1\n');
    await env.json(['sync', 'notes']);
    expect(await debugLines()).toBe(0);
    const set = await env.json<{ repo?: string; setting: { value: unknown } }>(['config', 'set', 'log_level', 'debug']);
    expect(set.repo).toBeUndefined();
    expect(set.setting.value).toBe('debug');
    expect((JSON.parse(await readFile(configFile(), 'utf8')) as SavedConfig).log_level).toBe('debug');
    await writeFile(path.join(a, 'two.md'), '2\n');
    await env.json(['sync', 'notes']);
    expect(await debugLines()).toBeGreaterThan(0);
  });

  it('with no daemon running, config.json changes and the daemon is not started', async () => {
    await env.open('notes', 'a');
    expect((await env.run(['stop'])).code).toBe(0);
    const r = await env.run(['config', 'set', 'concurrent_insertions', 'markers']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('jjfsd is not running: applies when it starts');
    expect((JSON.parse(await readFile(configFile(), 'utf8')) as SavedConfig).repos.notes.concurrent_insertions).toBe('markers');
    const pid = await env.daemonPid();
    expect(pid === undefined || !isAlive(pid)).toBe(true);
    expect((await env.run(['status'])).code).toBe(3); // still not running
  });
});
