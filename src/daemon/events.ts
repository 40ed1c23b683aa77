import type { MonitorEvent } from '../rpc/protocol.js';

/** A {@link MonitorEvent} before it is stamped with its time. */
export type EventInput = MonitorEvent extends infer E ? (E extends MonitorEvent ? Omit<E, 'time'> : never) : never;

/**
 * Fan-out of what the daemon does to `jjfs monitor` connections. With no subscriber, emitting
 * costs nothing and nothing extra is computed (callers check {@link active} first when an event
 * needs work to build).
 */
export class EventBus {
  readonly #subscribers = new Set<(event: MonitorEvent) => void>();

  /** Adds `listener`; call the returned function to remove it. */
  subscribe(listener: (event: MonitorEvent) => void): () => void {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }

  /** True while someone listens. */
  get active(): boolean {
    return this.#subscribers.size > 0;
  }

  emit(event: EventInput): void {
    if (this.#subscribers.size === 0) return;
    const stamped = { time: new Date().toISOString(), ...event };
    for (const listener of this.#subscribers) {
      try {
        listener(stamped);
      } catch {
        // a broken subscriber never disturbs the daemon
      }
    }
  }
}
