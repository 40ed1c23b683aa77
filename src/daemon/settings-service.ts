import { applySetting, listSettings, parseSetting, settingInfo, settingKey, targetRepo } from '../config/settings.js';
import type { ConfigStore } from '../config/store.js';
import type { Logger, LogLevel } from '../log.js';
import type { Methods } from '../rpc/protocol.js';

/** Constructor argument of {@link SettingsService}. */
export interface SettingsServiceInit {
  config: ConfigStore;
  /** Applies a repo's changed settings to its engine and to jj's repo config (SyncHub.configure). */
  configureRepo: (repo: string) => Promise<void>;
  /** Reschedules a push waiting on the old push_delay/push_interval (RemoteService.localChanges with 0). */
  reschedulePush: (repo: string) => void;
  /** Sets the daemon's log level (undefined: the default). */
  setLogLevel: (level: LogLevel | undefined) => void;
  log: Logger;
}

/** `jjfs config list/set/unset` in the daemon: validated, written atomically, applied at once. */
export class SettingsService {
  readonly #init: SettingsServiceInit;

  constructor(init: SettingsServiceInit) {
    this.#init = init;
  }

  /** Every setting of `repo` (or the only repo, or the daemon's) with value and default. */
  list(repo: string | undefined): Methods['config.list']['result'] {
    const snapshot = this.#init.config.snapshot();
    const name = targetRepo(snapshot, repo, undefined);
    return { ...(name === undefined ? {} : { repo: name }), settings: listSettings(snapshot, name) };
  }

  /** Sets `key` to `text` (undefined: back to its default); nothing changes on a bad value. */
  async set(repo: string | undefined, key: string, text: string | undefined): Promise<Methods['config.set']['result']> {
    const { config, log } = this.#init;
    const k = settingKey(key);
    const value = text === undefined ? undefined : parseSetting(k, text);
    const name = await config.update((draft) => {
      const n = targetRepo(draft, repo, k);
      applySetting(draft, n, k, value);
      return n;
    });
    // Applied at once: the log level, engines and jj's repo config here; the remote scheduler
    // reads config live.
    if (name === undefined) this.#init.setLogLevel(config.snapshot().log_level);
    else await this.#init.configureRepo(name);
    // A push waiting on the old push_delay is rescheduled by the new one.
    if (name !== undefined && (k === 'push_delay' || k === 'push_interval')) this.#init.reschedulePush(name);
    log.info('setting changed', { ...(name === undefined ? {} : { repo: name }), key: k, value: value ?? 'default' });
    return { ...(name === undefined ? {} : { repo: name }), setting: settingInfo(config.snapshot(), name, k) };
  }
}
