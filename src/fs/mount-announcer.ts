import { lstat } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { AnnounceState, planAnnouncements, type BackingChange } from './announce.js';
import type { Notifier } from './notifier.js';

/** A change this mount made itself is not announced again if its event arrives within this time. */
const OWN_WRITE_WINDOW_MS = 2_000;

/**
 * Announces, on one mount, the changes made to its backing directory by anything but the mount
 * itself (jj's fan-out above all), so watchers on the mount hear of them (see announce.ts).
 * Batches run one at a time per mount, in order.
 */
export class MountAnnouncer {
  readonly state = new AnnounceState();
  private readonly ownWrites = new Map<string, number>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly mountPath: string,
    private readonly backingDir: string,
    private readonly notifier: Notifier,
    private readonly log: Logger,
  ) {}

  /** Records a mutation made through the mount (its watchers saw that one already). */
  noteOwnWrite(relPath: string): void {
    this.ownWrites.set(relPath, Date.now());
  }

  /**
   * Announces `changes` seen in the backing directory. `bySync`: they arrived while jj wrote there,
   * so they are not the mount's own writes (those wait at the write gate meanwhile).
   */
  changed(changes: BackingChange[], bySync: boolean): Promise<void> {
    const run = (): Promise<void> => this.announce(changes, bySync).catch((error: unknown) => {
      this.log.warn('announce failed', { mount: this.mountPath, error: (error as Error).message });
    });
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  /** Resolves when every batch handed in so far has been replayed. */
  idle(): Promise<void> {
    return this.queue;
  }

  private async announce(changes: BackingChange[], bySync: boolean): Promise<void> {
    const now = Date.now();
    for (const [p, t] of this.ownWrites) if (now - t > OWN_WRITE_WINDOW_MS) this.ownWrites.delete(p);
    const foreign = bySync ? changes : changes.filter((c) => !this.ownWrites.has(c.path));
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
    const ops = planAnnouncements(foreign, (p) => kinds.get(p) ?? 'missing');
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
      // Whatever was not claimed by a replay (it failed, or a user got there first) shows the truth.
      for (const op of ops) {
        if (op.kind === 'create' || op.kind === 'mkdir') this.state.claimHidden(op.path);
        else if (op.kind === 'unlink') this.state.claimGhost(op.path, 'file');
        else if (op.kind === 'rmdir') this.state.claimGhost(op.path, 'dir');
      }
    }
  }
}
