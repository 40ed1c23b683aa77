import { basename, relative, sep } from 'node:path';
import watcher from '@parcel/watcher';
import type { Logger } from '../log.js';

/** One change seen in a workspace, its path relative to the workspace. */
export interface WatchEvent {
  path: string;
  type: 'create' | 'update' | 'delete';
}

/** Options for {@link WorkspaceWatchers}. */
export interface WorkspaceWatchersInit {
  log: Logger;
  /** Called with the workspace id when a (non-suppressed, non-ignored) change is seen. */
  onChange: (workspaceId: string) => void;
  /**
   * Called with every batch of relevant events (paths relative to the workspace), suppressed or
   * not. The daemon replays them as events on the workspace's mount (fs/announce.ts).
   */
  onEvents?: (workspaceId: string, events: WatchEvent[]) => void;
  /** Base-name patterns (`*` and `?` wildcards) whose events are ignored, e.g. `DAEMON_IGNORES`. */
  ignore?: readonly string[];
  /**
   * How long after a suppression window ends events are still dropped: the OS delivers the events
   * of jj's writes a little after jj exits. Default 150 ms.
   */
  graceMs?: number;
  /**
   * If events were dropped during a suppression window, report one change when it ends so the next
   * round snapshots the workspace: a real edit that landed in the window is then never stranded
   * (jj's own writes make that round find the workspace clean, so it does not loop). Default true.
   */
  verifyAfterSuppression?: boolean;
}

interface Entry {
  dir: string;
  subscription: watcher.AsyncSubscription;
  suppressCount: number;
  quietUntil: number;
  dropped: number;
  graceTimer?: NodeJS.Timeout;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * One @parcel/watcher subscription per backing workspace directory (ignoring `.jj` and the daemon
 * ignore list). Implements the engine's `ChangeSuppressor`: the engine suppresses a workspace while
 * its own jj process writes there, so fan-out does not cause another commit.
 */
export class WorkspaceWatchers {
  readonly #init: WorkspaceWatchersInit;
  readonly #log: Logger;
  readonly #entries = new Map<string, Entry>();
  readonly #ignore: RegExp[];

  constructor(init: WorkspaceWatchersInit) {
    this.#init = init;
    this.#log = init.log.child('watch');
    this.#ignore = (init.ignore ?? []).map(globToRegExp);
  }

  /** Starts watching `dir` for workspace `id`. */
  async watch(id: string, dir: string): Promise<void> {
    if (this.#entries.has(id)) throw new Error(`workspace ${id} is already watched`);
    const entry: Partial<Entry> & { dir: string } = { dir, suppressCount: 0, quietUntil: 0, dropped: 0 };
    const subscription = await watcher.subscribe(
      dir,
      (err, events) => {
        if (err) {
          this.#log.warn('watcher error', { id, error: err.message });
          return;
        }
        const relevant = events.filter((e) => this.#relevant(dir, e.path));
        if (relevant.length === 0) return;
        this.#init.onEvents?.(id, relevant.map((e) => ({ path: relative(dir, e.path), type: e.type })));
        this.#event(id);
      },
      { ignore: ['.jj'] },
    );
    this.#entries.set(id, { ...entry, subscription } as Entry);
  }

  /** Stops watching `id` (no-op if not watched). */
  async unwatch(id: string): Promise<void> {
    const e = this.#entries.get(id);
    if (!e) return;
    this.#entries.delete(id);
    if (e.graceTimer) clearTimeout(e.graceTimer);
    await e.subscription.unsubscribe();
  }

  /** Stops every subscription. */
  async close(): Promise<void> {
    await Promise.all([...this.#entries.keys()].map((id) => this.unwatch(id)));
  }

  /** Suppresses change reports for `id` until the returned release is called (+ grace period). */
  suppress(id: string): () => void {
    const e = this.#entries.get(id);
    if (!e) return () => undefined;
    e.suppressCount++;
    if (e.graceTimer) {
      clearTimeout(e.graceTimer);
      delete e.graceTimer;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      e.suppressCount--;
      if (e.suppressCount > 0) return;
      const grace = this.#init.graceMs ?? 150;
      e.quietUntil = Date.now() + grace;
      e.graceTimer = setTimeout(() => {
        delete e.graceTimer;
        const dropped = e.dropped;
        e.dropped = 0;
        if (dropped > 0 && (this.#init.verifyAfterSuppression ?? true) && this.#entries.get(id) === e) {
          this.#init.onChange(id);
        }
      }, grace);
    };
  }

  #relevant(dir: string, path: string): boolean {
    const rel = relative(dir, path);
    if (rel === '.jj' || rel.startsWith(`.jj${sep}`)) return false;
    const name = basename(path);
    return !this.#ignore.some((re) => re.test(name));
  }

  #event(id: string): void {
    const e = this.#entries.get(id);
    if (!e) return;
    if (e.suppressCount > 0 || Date.now() < e.quietUntil) {
      e.dropped++;
      return;
    }
    this.#init.onChange(id);
  }
}
