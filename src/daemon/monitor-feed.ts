import type { MonitorEvent } from '../rpc/protocol.js';
import type { RoundReport } from '../sync/repo-sync.js';
import { EventBus, type EventInput } from './events.js';

/** At most one `change` event per mount per this many ms: a write storm is one line in monitor. */
const CHANGE_EVENT_INTERVAL_MS = 1_000;

/** Lists a repo's unresolved conflicts (the engine's list). */
export type ConflictSource = () => Promise<string[]>;

/**
 * What `jjfs monitor` hears: the sync side reports changes and rounds here, and this turns them into
 * events — naming mounts by their path, throttling change events, and telling which conflicts a
 * round made or cleared. All of it costs nothing while nobody listens.
 */
export class MonitorFeed {
  readonly #bus = new EventBus();
  /** workspace id → mount path. */
  readonly #labels = new Map<string, string>();
  readonly #lastChange = new Map<string, number>();
  /** Conflicts last reported to monitors, per repo. */
  readonly #known = new Map<string, string[]>();

  /** Names workspace `id` by its mount path in events. */
  label(id: string, label: string): void {
    this.#labels.set(id, label);
  }

  /** Forgets workspace `id` (closed or detached). */
  forget(id: string): void {
    this.#labels.delete(id);
    this.#lastChange.delete(id);
  }

  /** Emits `event` as is (remote rounds). */
  emit(event: EventInput): void {
    this.#bus.emit(event);
  }

  /** Workspace `id` of `repo` changed. */
  change(repo: string, id: string): void {
    const now = Date.now();
    if (!this.#bus.active || now - (this.#lastChange.get(id) ?? 0) < CHANGE_EVENT_INTERVAL_MS) return;
    this.#lastChange.set(id, now);
    this.#bus.emit({ type: 'change', repo, mount: this.#name(id) });
  }

  /** A round's event, then the conflicts it made or cleared (listed only while someone listens). */
  round(repo: string, report: RoundReport, conflicts: ConflictSource): void {
    if (!this.#bus.active) return;
    this.#bus.emit({
      type: 'round',
      repo,
      committed: report.committed.map((id) => this.#name(id)),
      updated: report.updated.length,
      failed: report.failed.map((f) => `${this.#name(f.id)}: ${f.error}`),
      ms: report.durationMs,
    });
    const before = new Set(this.#known.get(repo) ?? []);
    void conflicts()
      .then((now) => {
        this.#known.set(repo, now);
        for (const path of now) if (!before.has(path)) this.#bus.emit({ type: 'conflict', repo, path });
        for (const path of before) if (!now.includes(path)) this.#bus.emit({ type: 'resolved', repo, path });
      })
      .catch(() => undefined);
  }

  /**
   * Streams events (of `repo`, or all) to `push`; returns the unsubscribe function. `repos` are the
   * repos syncing now: their current conflicts are not news, so they seed what monitors were told.
   */
  subscribe(repo: string | undefined, push: (event: MonitorEvent) => void, repos: ReadonlyMap<string, ConflictSource>): () => void {
    for (const [name, list] of repos) {
      if (!this.#known.has(name)) void list().then((c) => this.#known.set(name, c), () => undefined);
    }
    return this.#bus.subscribe((event) => {
      if (repo === undefined || event.repo === repo) push(event);
    });
  }

  #name(id: string): string {
    return this.#labels.get(id) ?? id;
  }
}
