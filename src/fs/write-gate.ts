/**
 * The FUSE side of the write gate (see `src/sync/gate.ts` for the contract).
 *
 * Every mutating FUSE operation on a mount brackets its work on the backing directory with
 * `enter()` / leave. The sync engine calls `hold()` around every jj command that rewrites the
 * workspace: the gate closes (new mutating operations wait), `hold()` resolves once the
 * operations already in flight have drained, and the engine calls the returned release when jj
 * is done. Releasing bumps `generation`, which tells open file handles that the file under them
 * may have been replaced (jj rewrites by unlink + recreate; see `handles.ts`).
 *
 * Waits are bounded. A waiting FUSE operation must answer before fuse-native's 15 s operation
 * timeout, and a user's write must never fail because jj is slow: after `enterTimeoutMs` the
 * operation proceeds anyway and a warning is logged (the write may then race jj, which is what
 * would have happened without a gate). Likewise `hold()` stops waiting for a hung in-flight
 * operation after `drainTimeoutMs` and logs it, so a stuck disk cannot stall the sync engine
 * forever.
 */
import type { WorkspaceGate } from '../sync/gate.js';
import type { Logger } from '../log.js';

/** Releases what `enter()` or `hold()` acquired. Idempotent. */
export type Release = () => void;

export interface MountGateOptions {
  log: Logger;
  /** Longest wait of a mutating operation on a closed gate before it proceeds anyway. */
  enterTimeoutMs?: number;
  /** Longest wait of `hold()` for in-flight operations to finish. */
  drainTimeoutMs?: number;
}

/**
 * Something outside the JS thread that answers requests while the gate is open: the FUSE-thread
 * answers of the patched fuse-native (mount.ts, "getattr and readdir without the JS thread" and
 * the sections after it) — lookups, listings, open files and writes.
 */
export interface GateBypass {
  /** Stops answering (the gate is closing); returns how many answers are still running. */
  stop(): number;
  /** How many answers are still running. */
  running(): number;
  /**
   * Reports the writes it answered since the last call (the mount's onMutation); `before`: they
   * happened before that time.
   */
  collect(before?: number): void;
  /** May answer again: the gate is open. */
  resume(): void;
}

/** How often a hold looks again whether the bypass's running answers (an lstat each) are done. */
const BYPASS_POLL_MS = 1;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The write gate of one mount. */
export class MountGate {
  private readonly log: Logger;
  private readonly enterTimeoutMs: number;
  private readonly drainTimeoutMs: number;
  /** Mutating operations currently between enter and leave. */
  private inflight = 0;
  /** Set while a hold is active (closing or closed); resolved when it is released. */
  private closed: Deferred | null = null;
  /** Resolved when `inflight` drops to 0 while a hold is draining. */
  private drained: Deferred | null = null;
  /** Tail of the queue of holds: a hold starts only after the previous one was released. */
  private holdTail: Promise<void> = Promise.resolve();
  private gen = 0;
  private heldAt = 0;
  /** Told when names in the backing directory may have changed behind the mount (see namesChanged). */
  private readonly nameListeners = new Set<() => void>();
  private bypass: GateBypass | undefined;

  constructor(opts: MountGateOptions) {
    this.log = opts.log;
    this.enterTimeoutMs = opts.enterTimeoutMs ?? 10_000;
    this.drainTimeoutMs = opts.drainTimeoutMs ?? 20_000;
  }

  /**
   * Sets (or, with undefined, removes) the bypass that answers lookups while the gate is open. It
   * is stopped at once if a hold is active; a hold stops it and waits for its running answers.
   */
  setBypass(bypass: GateBypass | undefined): void {
    this.bypass = bypass;
    if (bypass && this.closed) bypass.stop();
    else bypass?.resume();
  }

  /**
   * Registers `listener` for {@link namesChanged}; returns its removal. The mount uses it to drop
   * the kernel's cached names (mount.ts, "Kernel caches").
   */
  onNamesChanged(listener: () => void): () => void {
    this.nameListeners.add(listener);
    return () => this.nameListeners.delete(listener);
  }

  /**
   * Names in the backing directory may have changed without the mount seeing it: called at every
   * release of a hold (jj rewrote the workspace) and by the announcer when it hides or shows
   * paths. Listeners run synchronously.
   */
  namesChanged(): void {
    for (const listener of this.nameListeners) {
      try {
        listener();
      } catch (error) {
        this.log.error('names-changed listener threw', { error: (error as Error).message });
      }
    }
  }

  /**
   * Reports the writes answered off the JS thread so far (the announcer calls it before it tells
   * the mount's own changes from others: such a write is noted before it touches the file).
   */
  collectBypassWrites(): void {
    this.bypass?.collect();
  }

  /** Bumped at every release of a hold: files may have been replaced since a handle was opened. */
  get generation(): number {
    return this.gen;
  }

  /** When the last hold closed the gate (ms since the epoch; 0 if never): jj's last rewrite. */
  get lastHeldAt(): number {
    return this.heldAt;
  }

  /** True while a hold is active. */
  get isClosed(): boolean {
    return this.closed !== null;
  }

  /** Mutating operations currently in flight. */
  get inFlight(): number {
    return this.inflight;
  }

  /**
   * Fast path for the hot write path: enters at once and returns the leave function when the gate
   * is open, or null when the caller must `await enter()`. Avoids a promise per FUSE write.
   */
  tryEnter(): Release | null {
    if (this.closed) return null;
    return this.admit();
  }

  /** Waits (bounded) until the gate is open, then counts the caller as in flight. */
  async enter(): Promise<Release> {
    const fast = this.tryEnter();
    if (fast) return fast;
    const started = Date.now();
    // Loop: after one hold is released the next queued hold may already have closed the gate again.
    while (this.closed) {
      const remaining = this.enterTimeoutMs - (Date.now() - started);
      if (remaining <= 0) {
        this.log.warn('write gate still closed, letting a mutating operation through', {
          waitedMs: Date.now() - started,
        });
        break;
      }
      const closed = this.closed;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        closed.promise,
        new Promise<void>((r) => {
          timer = setTimeout(r, remaining);
        }),
      ]);
      clearTimeout(timer);
    }
    return this.admit();
  }

  /**
   * Closes the gate and resolves, once in-flight mutating operations have drained, with the
   * release function. Concurrent holds queue: each starts after the previous one's release.
   */
  hold(): Promise<Release> {
    const previous = this.holdTail;
    const mine = deferred();
    this.holdTail = mine.promise;
    return previous.then(async () => {
      this.closed = mine;
      this.heldAt = Date.now();
      // The bypass stops before anything is drained: from here every lookup queues at the gate.
      const bypassRunning = this.bypass?.stop() ?? 0;
      if (this.inflight > 0) {
        this.drained = deferred();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          this.drained.promise.then(() => false),
          new Promise<boolean>((r) => {
            timer = setTimeout(() => r(true), this.drainTimeoutMs);
          }),
        ]);
        clearTimeout(timer);
        this.drained = null;
        if (timedOut) {
          this.log.warn('write gate hold: in-flight operations did not drain in time', {
            inflight: this.inflight,
            waitedMs: this.drainTimeoutMs,
          });
        }
      }
      if (bypassRunning > 0) await this.drainBypass();
      // Every write answered off the JS thread is done (none starts while the gate is closed):
      // reported now, stamped as before this hold, so the announcer counts jj's change to such a
      // path as jj's (mount-announcer.ts) and the round knows the workspace is dirty.
      this.bypass?.collect(this.heldAt - 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        // Before waking the waiters: no lookup admitted after this release may be answered from a
        // name the kernel cached before jj's rewrite (the mount drops them here).
        this.namesChanged();
        // Bump before waking the waiters: an operation admitted after this release must see the
        // new generation, or it would write through a handle to a file jj just replaced.
        this.gen += 1;
        this.closed = null;
        // After the names were dropped: an answer off the JS thread reads the rewritten workspace.
        this.bypass?.resume();
        mine.resolve();
      };
    });
  }

  /** Waits (bounded by the drain timeout) until the bypass has no answer running. */
  private async drainBypass(): Promise<void> {
    const deadline = Date.now() + this.drainTimeoutMs;
    while ((this.bypass?.running() ?? 0) > 0) {
      if (Date.now() > deadline) {
        this.log.warn('write gate hold: lookups answered off the JS thread did not finish in time', { waitedMs: this.drainTimeoutMs });
        return;
      }
      await new Promise((r) => setTimeout(r, BYPASS_POLL_MS));
    }
  }

  private admit(): Release {
    this.inflight += 1;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.inflight -= 1;
      if (this.inflight === 0 && this.drained) this.drained.resolve();
    };
  }
}

/**
 * Maps workspace ids to the gates of their mounts; the sync engine sees it as a `WorkspaceGate`.
 * A workspace without a mount gets an immediate hold.
 */
export class GateRegistry implements WorkspaceGate {
  private readonly gates = new Map<string, MountGate>();

  /** Registers the gate of a mounted workspace (replacing any previous one). */
  register(workspaceId: string, gate: MountGate): void {
    this.gates.set(workspaceId, gate);
  }

  /** Forgets a workspace's gate, only if it is still `gate` when given. */
  unregister(workspaceId: string, gate?: MountGate): void {
    if (gate && this.gates.get(workspaceId) !== gate) return;
    this.gates.delete(workspaceId);
  }

  /** {@inheritDoc WorkspaceGate.hold} */
  hold(workspaceId: string): Promise<Release> {
    const gate = this.gates.get(workspaceId);
    if (!gate) return Promise.resolve(() => undefined);
    return gate.hold();
  }
}
