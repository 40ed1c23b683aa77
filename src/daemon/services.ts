import type { MonitorEvent, MountInfo, Methods, RoundInfo, StatusResult, UnsyncedReport } from '../rpc/protocol.js';
import type { HistoryService } from './history-service.js';
import type { RepoService } from './repos.js';
import type { SettingsService } from './settings-service.js';

/** The daemon's long-lived parts as the RPC handlers see them. */
export interface Services {
  repos: RepoService;
  /** log, show, diff, restore, undo. */
  history: HistoryService;
  jj: { path: string; version: string };
  fuse(): StatusResult['fuse'];
  stats(): StatusResult['stats'];
  /** Every mount; with `unsynced`, what each holds that history does not. */
  mounts(opts?: { unsynced?: boolean }): Promise<MountInfo[]>;
  unsynced(filter: { repo?: string; path?: string }): Promise<Array<{ repo: string; path: string; report: UnsyncedReport }>>;
  open(params: Methods['open']['params']): Promise<Methods['open']['result']>;
  closeMount(path: string, force: boolean): Promise<{ mount: MountInfo; rescued?: string }>;
  sync(repo: string | undefined, remote: boolean): Promise<RoundInfo[]>;
  conflicts(repo: string | undefined): Promise<Array<{ repo: string; paths: string[] }>>;
  /** `jjfs compact`: trims the operation log, packs and prunes history now. */
  compact(repo: string | undefined): Promise<Methods['compact']['result']['repos']>;
  /** `jjfs monitor`: streams what the daemon does to `push` until the returned function is called. */
  subscribe(params: { repo?: string }, push: (event: MonitorEvent) => void): () => void;
  /** `jjfs config`: list, set and unset per-repo settings; a change is applied at once. */
  settings: SettingsService;
  /** Brings back every mount recorded in config.json (after a restart or crash), then remote rounds. */
  start(): Promise<void>;
  /** Unmounts everything and stops background work. */
  stop(): Promise<void>;
}
