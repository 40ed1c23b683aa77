import { readFile } from 'node:fs/promises';
import type { Paths } from '../../config/paths.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { parseConfig, type Config } from '../../config/schema.js';
import { applySetting, listSettings, parseSetting, settingInfo, settingKey, SETTINGS, targetRepo } from '../../config/settings.js';
import { validateRepoName } from '../../config/validate.js';
import { isErrnoException, JjfsError } from '../../errors.js';
import type { SettingInfo } from '../../rpc/protocol.js';
import { runningDaemon, type Command } from '../command.js';
import type { Output } from '../output.js';

const ACTIONS = ['list', 'get', 'set', 'unset'] as const;
type Action = (typeof ACTIONS)[number];

/** config.json as the daemon would read it; a broken file is refused, never rewritten from here. */
async function readConfigFile(paths: Paths): Promise<Config> {
  let text: string;
  try {
    text = await readFile(paths.configFile, 'utf8');
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') throw new JjfsError('not-found', 'No repo yet. Create one with: jjfs init NAME');
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new JjfsError('invalid-input', `${paths.configFile} is not valid JSON; fix it by hand (jjfs doctor says what is wrong)`);
  }
  const parsed = parseConfig(raw);
  if ('problems' in parsed) throw new JjfsError('invalid-input', `${paths.configFile} is invalid: ${parsed.problems.join('; ')}`);
  return parsed.config;
}

function show(s: SettingInfo, out: Output): string {
  return `${s.key} = ${String(s.value)}${s.isDefault ? out.dim(' (default)') : ` ${out.dim(`(default ${String(s.default)})`)}`}`;
}

export const configCommand: Command = {
  usage: 'jjfs config list|get KEY|set KEY VALUE|unset KEY [--repo NAME] [--json]',
  details:
    `Settings (per repo): ${Object.entries(SETTINGS).map(([k, s]) => `${k} — ${s.summary}`).join('; ')}.\n` +
    '--repo may be left out when there is one repo. A bad value is refused and nothing changes. When jjfsd is not ' +
    'running, config.json is changed and the setting applies when it starts.',
  options: { repo: { type: 'string' } },
  positionals: [1, 3],
  async run({ positionals, values, daemon, out, paths }) {
    const [actionText = '', key, value] = positionals;
    if (!(ACTIONS as readonly string[]).includes(actionText)) throw new JjfsError('usage', `Unknown config action "${actionText}": use list, get KEY, set KEY VALUE or unset KEY`);
    const action = actionText as Action;
    const want = { list: 1, get: 2, set: 3, unset: 2 }[action];
    if (positionals.length !== want) throw new JjfsError('usage', `Usage: jjfs config ${action}${action === 'list' ? '' : action === 'set' ? ' KEY VALUE' : ' KEY'} [--repo NAME]`);
    const repo = typeof values['repo'] === 'string' ? validateRepoName(values['repo']) : undefined;
    // Validate before anything is contacted or written: a bad key or value changes nothing.
    const k = key === undefined ? undefined : settingKey(key);
    if (k !== undefined && value !== undefined) parseSetting(k, value);

    const client = await runningDaemon(daemon);
    if (client) {
      try {
        if (action === 'list' || action === 'get') {
          const r = await client.request('config.list', repo === undefined ? {} : { repo });
          const settings = k === undefined ? r.settings : r.settings.filter((s) => s.key === k);
          out.result(k === undefined ? r : { repo: r.repo, setting: settings[0] }, () => settings.map((s) => show(s, out)));
          return 0;
        }
        const r =
          action === 'set'
            ? await client.request('config.set', { ...(repo === undefined ? {} : { repo }), key: k!, value: value! })
            : await client.request('config.unset', { ...(repo === undefined ? {} : { repo }), key: k! });
        out.result({ ...r, applied: true }, () => `${r.repo ?? 'jjfsd'}: ${show(r.setting, out)} (applied)`);
        return 0;
      } finally {
        client.close();
      }
    }

    // No daemon: read (and for set/unset, write) config.json directly, exactly as the daemon would.
    const config = await readConfigFile(paths);
    const name = targetRepo(config, repo, k);
    const which = name === undefined ? {} : { repo: name };
    if (action === 'list' || action === 'get') {
      const settings = listSettings(config, name).filter((s) => k === undefined || s.key === k);
      out.result(k === undefined ? { ...which, settings } : { ...which, setting: settings[0] }, () => settings.map((s) => show(s, out)));
      return 0;
    }
    applySetting(config, name, k!, action === 'set' ? parseSetting(k!, value!) : undefined);
    await writeFileAtomic(paths.configFile, `${JSON.stringify(config, null, 2)}\n`);
    const setting = settingInfo(config, name, k!);
    out.result({ ...which, setting, applied: false }, () => `${name ?? 'jjfsd'}: ${show(setting, out)} (jjfsd is not running: applies when it starts)`);
    return 0;
  },
};
