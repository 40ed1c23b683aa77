/**
 * One pending retry at a time, with a delay that doubles from `firstMs` up to `maxMs` while
 * retries keep being needed and starts over after {@link reset}.
 */
export class BackoffTimer {
  readonly #firstMs: number;
  readonly #maxMs: number;
  #delayMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(firstMs: number, maxMs: number) {
    this.#firstMs = firstMs;
    this.#maxMs = maxMs;
    this.#delayMs = firstMs;
  }

  /** Runs `fire` after the current delay, unless a retry is already pending; then doubles the delay. */
  schedule(fire: () => void): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      fire();
    }, this.#delayMs);
    this.#timer.unref();
    this.#delayMs = Math.min(this.#delayMs * 2, this.#maxMs);
  }

  /** Things work again: the next retry waits the first delay. */
  reset(): void {
    this.#delayMs = this.#firstMs;
  }

  /** Drops a pending retry (shutdown). */
  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
