import { LOG_LEVELS, type LogLevel } from '../log.js';

/** Per-repo settings; everything but the name is optional in config.json and defaulted here. */
export interface RepoConfig {
  /** Git remote URL for backup and cross-machine sync, or null. */
  remote: string | null;
  /** The remote's branch that `main` follows (the remote's default branch; absent = `main`). */
  remote_branch?: string;
  /** Quiet period after the last change before a sync round starts (ms). */
  debounce_ms: number;
  /** Longest a continuously-changing workspace waits for a round (ms). */
  max_wait_ms: number;
  /** Seconds between remote push/fetch rounds. */
  push_interval: number;
  /** Seconds of quiet after a local change before it is pushed (0: only the `push_interval` timer). */
  push_delay: number;
  /** New files larger than this are refused by jj's snapshot (bytes). */
  max_new_file_size: number;
  /** Loose git objects written since the last compaction that trigger packing (0: never). */
  compact_loose_objects: number;
  /** Bytes of loose git objects written since the last compaction that trigger packing (0: only the count counts). */
  compact_loose_bytes: number;
  /** jj operations in the operation log that trigger trimming it (0: never). */
  op_log_max: number;
  /** jj operations a trim keeps (the newest). */
  op_log_keep: number;
  /**
   * Two mounts (or machines) inserting lines at the same place of one file: `merge` keeps both
   * (main's first), `markers` writes a conflict for a person to review. Default `merge`.
   */
  concurrent_insertions?: ConcurrentInsertions;
  /** A desktop notification when a conflict appears (`on`, the default, or `off`). */
  notify_conflicts?: OnOff;
}

/** Values of {@link RepoConfig.notify_conflicts}. */
export const ON_OFF = ['on', 'off'] as const;
export type OnOff = (typeof ON_OFF)[number];

/** Values of {@link RepoConfig.concurrent_insertions}. */
export const CONCURRENT_INSERTIONS = ['merge', 'markers'] as const;
export type ConcurrentInsertions = (typeof CONCURRENT_INSERTIONS)[number];

/** One directory where a repo is mounted. */
export interface MountConfig {
  id: string;
  repo: string;
  /** Absolute mount point. */
  path: string;
  /** Absolute path of the backing jj workspace. */
  workspace: string;
  created_at: string;
  /** Read-only view of a past state (`open --at`), or absent. */
  at?: string;
  /** A live read-only view (`open --read-only`): follows main, refuses writes. */
  read_only?: true;
  /** Only this folder of the repo (`open REPO/SUB/DIR`): repo-relative, normalised. */
  subtree?: string;
  /** Other local users may use the mount (`open --allow-other`). */
  allow_other?: true;
}

export interface Config {
  version: 1;
  /** The daemon's log level (sync.log); absent = info. `JJFS_LOG_LEVEL` overrides it. */
  log_level?: LogLevel;
  repos: Record<string, RepoConfig>;
  mounts: MountConfig[];
}

export const REPO_DEFAULTS: Readonly<Omit<RepoConfig, 'remote' | 'remote_branch' | 'concurrent_insertions' | 'notify_conflicts'>> = {
  debounce_ms: 60,
  max_wait_ms: 400,
  push_interval: 300,
  push_delay: 10,
  max_new_file_size: 64 * 1024 * 1024,
  compact_loose_objects: 400,
  compact_loose_bytes: 2 * 1024 * 1024,
  op_log_max: 150,
  op_log_keep: 20,
};

/** Defaults of the optional per-repo choices (absent from config.json means this value). */
export const CHOICE_DEFAULTS: Readonly<Required<Pick<RepoConfig, 'concurrent_insertions' | 'notify_conflicts'>>> = {
  concurrent_insertions: 'merge',
  notify_conflicts: 'on',
};

export function emptyConfig(): Config {
  return { version: 1, repos: {}, mounts: [] };
}

export function newRepoConfig(): RepoConfig {
  return { remote: null, ...REPO_DEFAULTS };
}

/**
 * Validates parsed JSON as a Config, filling defaults. Returns the problems found, each naming the
 * JSON path, so a hand-broken file gets an error a person can fix.
 */
export function parseConfig(raw: unknown): { config: Config } | { problems: string[] } {
  const problems: string[] = [];
  if (!isObject(raw)) return { problems: ['the top level is not a JSON object'] };
  if (raw['version'] !== undefined && raw['version'] !== 1) {
    problems.push(`"version" is ${JSON.stringify(raw['version'])}; this jjfs understands version 1`);
  }
  const repos: Record<string, RepoConfig> = {};
  const rawRepos = raw['repos'] ?? {};
  if (!isObject(rawRepos)) problems.push('"repos" is not an object');
  else {
    for (const [name, value] of Object.entries(rawRepos)) {
      const repo = parseRepo(value, `repos.${name}`, problems);
      if (repo) repos[name] = repo;
    }
  }
  const mounts: MountConfig[] = [];
  const rawMounts = raw['mounts'] ?? [];
  if (!Array.isArray(rawMounts)) problems.push('"mounts" is not an array');
  else {
    rawMounts.forEach((value, i) => {
      const mount = parseMount(value, `mounts[${i}]`, problems);
      if (mount) mounts.push(mount);
    });
  }
  if (problems.length > 0) return { problems };
  const level = raw['log_level'];
  if (level !== undefined && !(typeof level === 'string' && (LOG_LEVELS as readonly string[]).includes(level))) {
    return { problems: [`"log_level" must be one of ${LOG_LEVELS.join(', ')}`] };
  }
  return { config: { version: 1, repos, mounts, ...(level === undefined ? {} : { log_level: level as LogLevel }) } };
}

function parseRepo(value: unknown, where: string, problems: string[]): RepoConfig | undefined {
  if (!isObject(value)) {
    problems.push(`"${where}" is not an object`);
    return undefined;
  }
  const remote = value['remote'] ?? null;
  if (remote !== null && typeof remote !== 'string') problems.push(`"${where}.remote" is not a string or null`);
  const repo: RepoConfig = { ...newRepoConfig(), remote: typeof remote === 'string' ? remote : null };
  const branch = value['remote_branch'];
  if (branch !== undefined && branch !== null) {
    if (typeof branch !== 'string' || branch === '') problems.push(`"${where}.remote_branch" must be a non-empty string`);
    else repo.remote_branch = branch;
  }
  const insertions = value['concurrent_insertions'];
  if (insertions !== undefined) {
    if (typeof insertions === 'string' && (CONCURRENT_INSERTIONS as readonly string[]).includes(insertions)) repo.concurrent_insertions = insertions as ConcurrentInsertions;
    else problems.push(`"${where}.concurrent_insertions" must be one of ${CONCURRENT_INSERTIONS.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  const notify = value['notify_conflicts'];
  if (notify !== undefined) {
    if (notify === 'on' || notify === 'off') repo.notify_conflicts = notify;
    else problems.push(`"${where}.notify_conflicts" must be "on" or "off"`);
  }
  for (const key of Object.keys(REPO_DEFAULTS) as Array<keyof typeof REPO_DEFAULTS>) {
    const v = value[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      problems.push(`"${where}.${key}" must be a non-negative number`);
    } else repo[key] = v;
  }
  return repo;
}

function parseMount(value: unknown, where: string, problems: string[]): MountConfig | undefined {
  if (!isObject(value)) {
    problems.push(`"${where}" is not an object`);
    return undefined;
  }
  const strings = ['id', 'repo', 'path', 'workspace'] as const;
  for (const key of strings) {
    if (typeof value[key] !== 'string' || value[key] === '') problems.push(`"${where}.${key}" must be a non-empty string`);
  }
  if (problems.length > 0) return undefined;
  const mount: MountConfig = {
    id: value['id'] as string,
    repo: value['repo'] as string,
    path: value['path'] as string,
    workspace: value['workspace'] as string,
    created_at: typeof value['created_at'] === 'string' ? value['created_at'] : new Date(0).toISOString(),
  };
  if (typeof value['at'] === 'string') mount.at = value['at'];
  if (value['read_only'] === true) mount.read_only = true;
  if (typeof value['subtree'] === 'string' && value['subtree'] !== '') mount.subtree = value['subtree'];
  if (value['allow_other'] === true) mount.allow_other = true;
  return mount;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
