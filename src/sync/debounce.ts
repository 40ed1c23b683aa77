/** Options for {@link Debouncer}. */
export interface DebounceOptions {
  /** Quiet period: fire this long after the last mark. */
  debounceMs: number;
  /** Fire at the latest this long after the first mark, even if marks keep coming. */
  maxWaitMs: number;
}

/**
 * Per-key debounce with a quiet period and a maximum wait, so a constantly written file still
 * syncs. Holds no timers (and so costs nothing) for keys that are not pending.
 */
export class Debouncer {
  #opts: DebounceOptions;
  readonly #fire: (key: string) => void;
  readonly #pending = new Map<string, { first: number; timer: NodeJS.Timeout }>();

  constructor(options: DebounceOptions, fire: (key: string) => void) {
    this.#opts = { ...options };
    this.#fire = fire;
  }

  /** New timings, used from the next mark on (a pending key keeps its timer). */
  setOptions(options: DebounceOptions): void {
    this.#opts = { ...options };
  }

  /** Records activity on `key`. */
  mark(key: string): void {
    const now = Date.now();
    const prev = this.#pending.get(key);
    const first = prev?.first ?? now;
    if (prev) clearTimeout(prev.timer);
    const delay = Math.max(0, Math.min(this.#opts.debounceMs, first + this.#opts.maxWaitMs - now));
    const timer = setTimeout(() => {
      this.#pending.delete(key);
      this.#fire(key);
    }, delay);
    this.#pending.set(key, { first, timer });
  }

  /** Drops `key` without firing. */
  cancel(key: string): void {
    const prev = this.#pending.get(key);
    if (prev) clearTimeout(prev.timer);
    this.#pending.delete(key);
  }

  /** Keys currently waiting. */
  pendingKeys(): string[] {
    return [...this.#pending.keys()];
  }

  /** Drops every pending key. */
  clear(): void {
    for (const { timer } of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
  }
}
