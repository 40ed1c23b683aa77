import { SerialQueue } from './serial-queue.js';

/** Runs tasks one at a time per key, in call order; different keys run concurrently. */
export class KeyedMutex {
  private readonly queues = new Map<string, SerialQueue>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let queue = this.queues.get(key);
    if (!queue) {
      queue = new SerialQueue();
      this.queues.set(key, queue);
    }
    const run = queue.run(task);
    // Forget an idle key's queue, so a long-lived mutex over many keys does not grow: only when
    // nothing was queued behind this task (the tail is still this task's).
    const tail = queue.settled;
    void tail.then(() => {
      if (this.queues.get(key)?.settled === tail) this.queues.delete(key);
    });
    return run;
  }
}
