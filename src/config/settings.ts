import { JjfsError } from '../errors.js';
import { LOG_LEVELS, type LogLevel } from '../log.js';
import { CHOICE_DEFAULTS, CONCURRENT_INSERTIONS, ON_OFF, REPO_DEFAULTS, type Config, type ConcurrentInsertions, type OnOff } from './schema.js';

/**
 * The per-repo settings `jjfs config` reads and changes: one table with each key's type, bounds,
 * default and meaning, used by the daemon and by the CLI when the daemon is not running, so a
 * value is validated the same way wherever it is set.
 */

/** Keys of {@link SETTINGS}. */
export type SettingKey =
  | 'debounce_ms'
  | 'max_wait_ms'
  | 'push_interval'
  | 'push_delay'
  | 'max_new_file_size'
  | 'compact_loose_objects'
  | 'compact_loose_bytes'
  | 'op_log_max'
  | 'op_log_keep'
  | 'concurrent_insertions'
  | 'notify_conflicts'
  | 'log_level';

/** A setting's value as stored in config.json. */
export type SettingValue = number | string;

interface NumberSetting {
  kind: 'number';
  scope: 'repo';
  min: number;
  max: number;
  unit: string;
  default: number;
  summary: string;
}

interface ChoiceSetting {
  kind: 'choice';
  /** `repo`: one value per repo (`repos.NAME.KEY`); `daemon`: one for the daemon (top level). */
  scope: 'repo' | 'daemon';
  values: readonly string[];
  default: string;
  summary: string;
}

const MIB = 1024 * 1024;

/** Every setting, in the order `config list` shows them. */
export const SETTINGS: Readonly<Record<SettingKey, NumberSetting | ChoiceSetting>> = {
  debounce_ms: { kind: 'number', scope: 'repo', min: 0, max: 60_000, unit: 'ms', default: REPO_DEFAULTS.debounce_ms, summary: 'quiet time after the last change before a sync round' },
  max_wait_ms: { kind: 'number', scope: 'repo', min: 0, max: 600_000, unit: 'ms', default: REPO_DEFAULTS.max_wait_ms, summary: 'longest a changing mount waits for a round' },
  push_interval: { kind: 'number', scope: 'repo', min: 0, max: 7 * 86_400, unit: 's', default: REPO_DEFAULTS.push_interval, summary: 'seconds between remote rounds (0: no timer)' },
  push_delay: { kind: 'number', scope: 'repo', min: 0, max: 7 * 86_400, unit: 's', default: REPO_DEFAULTS.push_delay, summary: 'quiet seconds after a local change before it is pushed (0: only the timer)' },
  max_new_file_size: { kind: 'number', scope: 'repo', min: 1, max: 16 * 1024 * MIB, unit: 'bytes', default: REPO_DEFAULTS.max_new_file_size, summary: 'new files larger than this are not synced (reported by jjfs unsynced)' },
  compact_loose_objects: { kind: 'number', scope: 'repo', min: 0, max: 100_000_000, unit: 'objects', default: REPO_DEFAULTS.compact_loose_objects, summary: 'loose git objects written since the last compaction that trigger packing them (0: never)' },
  compact_loose_bytes: { kind: 'number', scope: 'repo', min: 0, max: 1024 * 1024 * MIB, unit: 'bytes', default: REPO_DEFAULTS.compact_loose_bytes, summary: 'bytes of loose git objects written since the last compaction that trigger packing them, whatever their count (0: the count alone)' },
  op_log_max: { kind: 'number', scope: 'repo', min: 0, max: 100_000_000, unit: 'operations', default: REPO_DEFAULTS.op_log_max, summary: "jj operations that trigger trimming jj's operation log to op_log_keep (0: never)" },
  op_log_keep: { kind: 'number', scope: 'repo', min: 10, max: 100_000_000, unit: 'operations', default: REPO_DEFAULTS.op_log_keep, summary: 'jj operations a trim of the operation log keeps (the newest; jjfs never restores one)' },
  concurrent_insertions: { kind: 'choice', scope: 'repo', values: CONCURRENT_INSERTIONS, default: CHOICE_DEFAULTS.concurrent_insertions, summary: 'lines two mounts add at one place: merge (keep both) or markers (a conflict to review)' },
  notify_conflicts: { kind: 'choice', scope: 'repo', values: ON_OFF, default: CHOICE_DEFAULTS.notify_conflicts, summary: 'a desktop notification when a conflict appears (notify-send / osascript, if there)' },
  log_level: { kind: 'choice', scope: 'daemon', values: LOG_LEVELS, default: 'info', summary: 'what sync.log records (debug, info, warn, error); JJFS_LOG_LEVEL overrides it' },
};

/** True when `key` names a setting. */
export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTINGS, key);
}

/** Refuses an unknown key, naming the known ones. */
export function settingKey(key: string): SettingKey {
  if (!isSettingKey(key)) {
    throw new JjfsError('invalid-input', `Unknown setting "${key}". Settings: ${Object.keys(SETTINGS).join(', ')} (see: jjfs config list)`);
  }
  return key;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i;
const SIZE_FACTOR: Record<string, number> = { b: 1, k: 1024, kb: 1024, kib: 1024, m: MIB, mb: MIB, mib: MIB, g: 1024 * MIB, gb: 1024 * MIB, gib: 1024 * MIB };

/** Parses the text a person typed for `key`; throws a message naming the allowed values. */
export function parseSetting(key: SettingKey, text: string): SettingValue {
  const spec = SETTINGS[key];
  const t = text.trim();
  if (spec.kind === 'choice') {
    if (!spec.values.includes(t)) throw new JjfsError('invalid-input', `${key} must be one of ${spec.values.join(', ')} (got ${JSON.stringify(text)})`);
    return t;
  }
  let n: number;
  const size = key === 'max_new_file_size' ? SIZE.exec(t) : null;
  if (size) n = Math.round(Number(size[1]) * SIZE_FACTOR[(size[2] ?? 'b').toLowerCase()]!);
  else n = /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < spec.min || n > spec.max) {
    const hint = key === 'max_new_file_size' ? ' (a size such as 64MiB, 512k or 1073741824)' : ` (a whole number of ${spec.unit})`;
    throw new JjfsError('invalid-input', `${key} must be between ${spec.min} and ${spec.max} ${spec.unit}${hint}; got ${JSON.stringify(text)}`);
  }
  return n;
}

/** The value in force for `key`: the repo's own (or the daemon's), else the default. */
export function settingOf(config: Config, repo: string | undefined, key: SettingKey): SettingValue {
  const spec = SETTINGS[key];
  const own = spec.scope === 'daemon' ? config.log_level : repo === undefined ? undefined : config.repos[repo]?.[key as Exclude<SettingKey, 'log_level'>];
  return own ?? spec.default;
}

/** `key` as `jjfs config` shows it (`repo` is ignored for a daemon setting). */
export function settingInfo(config: Config, repo: string | undefined, key: SettingKey): { key: string; value: SettingValue; default: SettingValue; isDefault: boolean; summary: string } {
  const value = settingOf(config, repo, key);
  const spec = SETTINGS[key];
  return { key, value, default: spec.default, isDefault: value === spec.default, summary: spec.summary };
}

/** Every setting of `repo` (none when undefined), then the daemon's, in table order. */
export function listSettings(config: Config, repo: string | undefined): ReturnType<typeof settingInfo>[] {
  return (Object.keys(SETTINGS) as SettingKey[]).filter((key) => SETTINGS[key].scope === 'daemon' || repo !== undefined).map((key) => settingInfo(config, repo, key));
}

/** True when `key` is one value for the whole daemon rather than per repo. */
export function isDaemonSetting(key: SettingKey): boolean {
  return SETTINGS[key].scope === 'daemon';
}

/** The repo a `config` command is about: `name`, or the only repo there is. */
export function configRepo(config: Config, name: string | undefined): string {
  const names = Object.keys(config.repos).sort();
  if (name !== undefined) {
    if (!config.repos[name]) throw new JjfsError('not-found', `No repo named "${name}". Repos: ${names.join(', ') || 'none (create one with: jjfs init NAME)'}`);
    return name;
  }
  if (names.length === 1) return names[0]!;
  if (names.length === 0) throw new JjfsError('not-found', 'No repo yet. Create one with: jjfs init NAME');
  throw new JjfsError('usage', `Several repos (${names.join(', ')}): say which with --repo NAME`);
}

/** Sets (`value` given) or resets to its default (`value` undefined) `key` (of `repo`) in `config`. */
export function applySetting(config: Config, repo: string | undefined, key: SettingKey, value: SettingValue | undefined): void {
  if (key === 'log_level') {
    if (value === undefined) delete config.log_level;
    else config.log_level = value as LogLevel;
    return;
  }
  const r = repo === undefined ? undefined : config.repos[repo];
  if (!r) throw new JjfsError('not-found', `No repo named "${repo ?? ''}"`);
  if (key === 'concurrent_insertions') {
    if (value === undefined) delete r.concurrent_insertions;
    else r.concurrent_insertions = value as ConcurrentInsertions;
    return;
  }
  if (key === 'notify_conflicts') {
    if (value === undefined) delete r.notify_conflicts;
    else r.notify_conflicts = value as OnOff;
    return;
  }
  r[key] = value === undefined ? (SETTINGS[key].default as number) : (value as number);
}

/**
 * The repo a `config` command acts on: none for a daemon setting; for a listing, none when there
 * is no repo yet; else `name` or the only repo (see {@link configRepo}).
 */
export function targetRepo(config: Config, name: string | undefined, key: SettingKey | undefined): string | undefined {
  if (key !== undefined && isDaemonSetting(key)) return undefined;
  if (key === undefined && name === undefined && Object.keys(config.repos).length === 0) return undefined;
  return configRepo(config, name);
}
