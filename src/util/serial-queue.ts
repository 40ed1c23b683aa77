/**
 * Runs tasks one at a time, in call order. A task that fails does not stop the ones after it: its
 * caller gets the rejection, the queue goes on.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Queues `task` after everything queued so far; resolves or rejects with its outcome. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task, task);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** The settled tail of the queue: resolves once everything queued so far has run. */
  get settled(): Promise<unknown> {
    return this.#tail;
  }
}
