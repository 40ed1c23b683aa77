import { lstat } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { AnnounceState, planAnnouncements, type AnnounceOp, type BackingChange } from './announce.js';
import type { Notifier } from './notifier.js';
import type { MountGate } from './write-gate.js';

/** How long a mount's own write of a path keeps that path from being announced on it. */
const OWN_WRITE_WINDOW_MS = 2_000;

/**
 * Announces, on one mount, the changes made to its backing directory by anything but the mount
 * itself (jj's fan-out above all), so watchers on the mount hear of them (see announce.ts).
 * Batches run one at a time per mount, in order.
 */
export class MountAnnouncer {
  readonly state: AnnounceState;
  private readonly ownWrites = new Map<string, number>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly mountPath: string,
    private readonly backingDir: string,
    private readonly gate: MountGate,
    private readonly notifier: Notifier,
    private readonly log: Logger,
  ) {
    this.state = new AnnounceState(() => notifier.isCaller());
  }

  /** Records a mutation made through the mount (its watchers saw that one already). */
  noteOwnWrite(relPath: string): void {
    this.ownWrites.set(relPath, Date.now());
  }

  /** Announces `changes` seen in the backing directory. */
  changed(changes: BackingChange[]): Promise<void> {
    const run = (): Promise<void> =>
      this.announce(changes).catch((error: unknown) => {
        this.log.warn('announce failed', { mount: this.mountPath, error: (error as Error).message });
      });
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  /** Resolves when every batch handed in so far has been replayed. */
  idle(): Promise<void> {
    return this.queue;
  }

  /**
   * Whose change is it? The backing-dir watcher reports the mount's own writes too. A path this
   * mount wrote recently is the mount's own change, unless jj rewrote the workspace after that
   * write (writes through the mount wait at the gate while jj runs, so "gate held after the write"
   * means jj came later). A path the mount wrote recently is announced at most as modified.
   */
  private async announce(changes: BackingChange[]): Promise<void> {
    const now = Date.now();
    for (const [p, t] of this.ownWrites) if (now - t > OWN_WRITE_WINDOW_MS) this.ownWrites.delete(p);
    const heldAt = this.gate.lastHeldAt;
    const touched = new Set<string>();
    const foreign = changes.filter((c) => {
      const own = this.ownWrites.get(c.path);
      if (own === undefined) return true;
      touched.add(c.path);
      return heldAt > own;
    });
    if (foreign.length === 0) return;
    const kinds = new Map<string, 'file' | 'dir' | 'other' | 'missing'>();
    await Promise.all(
      [...new Set(foreign.map((c) => c.path))].map(async (p) => {
        try {
          const st = await lstat(`${this.backingDir}/${p}`);
          kinds.set(p, st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other');
        } catch {
          kinds.set(p, 'missing');
        }
      }),
    );
    const ops = planAnnouncements(foreign, (p) => kinds.get(p) ?? 'missing').flatMap((op): AnnounceOp[] => {
      if (!touched.has(op.path.slice(1))) return [op];
      return op.kind === 'create' || op.kind === 'modify' ? [{ kind: 'modify', path: op.path }] : [];
    });
    if (ops.length === 0) return;
    for (const op of ops) {
      if (op.kind === 'create' || op.kind === 'mkdir') this.state.hide(op.path);
      else if (op.kind === 'unlink') this.state.ghost(op.path, 'file');
      else if (op.kind === 'rmdir') this.state.ghost(op.path, 'dir');
    }
    try {
      const failed = await this.notifier.replay(this.mountPath, ops);
      if (failed.length > 0) this.log.debug('some announcements failed', { mount: this.mountPath, failed: failed.slice(0, 10) });
    } finally {
      // Whatever a replay did not claim (it failed) is dropped: the notifier sees the truth again.
      for (const op of ops) this.state.settle(op.path);
    }
  }
}
