import { lstat, readdir } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { SerialQueue } from '../util/serial-queue.js';
import { AnnounceState, planAnnouncements, type AnnounceOp, type BackingChange, type PathKind } from './announce.js';
import type { Notifier } from './notifier.js';
import type { MountGate } from './write-gate.js';

/** Time given to watchers to start watching directories just announced, before their contents. */
const NEW_DIR_PAUSE_MS = 150;

/** How long a mount's own write of a path keeps that path from being announced on it. */
const OWN_WRITE_WINDOW_MS = 2_000;

/**
 * Announces, on one mount, the changes made to its backing directory by anything but the mount
 * itself (jj's fan-out above all), so watchers on the mount hear of them (see announce.ts).
 *
 * It keeps `known`: every path of the backing directory as the mount's watchers last saw it
 * (a walk at start, then every change, announced or the mount's own), so that each change is
 * replayed as what it is — a creation, a modification or a deletion — whatever event type the
 * backing-dir watcher reported. Batches run one at a time per mount, in order.
 */
export class MountAnnouncer {
  readonly state: AnnounceState;
  private readonly ownWrites = new Map<string, number>();
  private readonly known = new Map<string, PathKind>();
  /** Batches run one at a time, in order. */
  private readonly queue = new SerialQueue();

  constructor(
    private readonly mountPath: string,
    private readonly backingDir: string,
    private readonly gate: MountGate,
    private readonly notifier: Notifier,
    private readonly log: Logger,
  ) {
    this.state = new AnnounceState(() => notifier.isCaller());
    void this.queue.run(() =>
      this.walk('').catch((error: unknown) => {
        this.log.warn('announcer could not list the workspace', { mount: mountPath, error: (error as Error).message });
      }),
    );
  }

  /** Records a mutation made through the mount (its watchers saw that one already), at `at` (default now). */
  noteOwnWrite(relPath: string, at = Date.now()): void {
    this.ownWrites.set(relPath, at);
  }

  /** Announces `changes` seen in the backing directory. */
  changed(changes: BackingChange[]): Promise<void> {
    const run = (): Promise<void> =>
      this.announce(changes).catch((error: unknown) => {
        this.log.warn('announce failed', { mount: this.mountPath, error: (error as Error).message });
      });
    return this.queue.run(run);
  }

  /**
   * Whose change is it? The backing-dir watcher reports the mount's own writes too. A path this
   * mount wrote recently is the mount's own change, unless jj rewrote the workspace after that
   * write (writes through the mount wait at the gate while jj runs, so "gate held after the write"
   * means jj came later); then it is announced at most as a modification.
   */
  private async announce(changes: BackingChange[]): Promise<void> {
    // Writes answered on the FUSE thread are noted before they touch a file, so every one the
    // watcher could have reported is among those collected here.
    this.gate.collectBypassWrites();
    const now = Date.now();
    for (const [p, t] of this.ownWrites) if (now - t > OWN_WRITE_WINDOW_MS) this.ownWrites.delete(p);
    const heldAt = this.gate.lastHeldAt;
    const current = new Map<string, PathKind | undefined>();
    // Look at the backing dir inside the gate: never while jj rewrites it (a file between jj's
    // unlink and re-create would look deleted, and its deletion be replayed).
    const leave = await this.gate.enter();
    try {
      await Promise.all(changes.map(async (c) => current.set(c.path, await this.kindOf(c.path))));
      // A new directory's contents may have been created before the watcher watched it: list it.
      const newDirs = [...current].filter(([p, k]) => k === 'dir' && this.known.get(p) !== 'dir').map(([p]) => p);
      for (const d of newDirs) {
        for (const [p, k] of await this.collect(d).catch(() => new Map<string, PathKind>())) current.set(p, k);
      }
    } finally {
      leave();
    }
    const paths = [...current.keys()];
    const own = new Set(paths.filter((p) => this.ownWrites.has(p)));
    const foreign = paths.filter((p) => !own.has(p) || heldAt > (this.ownWrites.get(p) ?? 0));
    const ops = planAnnouncements(foreign, (p) => this.known.get(p), (p) => current.get(p)).flatMap((op): AnnounceOp[] => {
      if (!own.has(op.path.slice(1))) return [op];
      return op.kind === 'modify' ? [op] : [];
    });
    // The watchers on the mount will know the new state either way (own writes they saw).
    for (const [p, kind] of current) {
      if (kind === undefined) this.forget(p);
      else this.known.set(p, kind);
    }
    if (ops.length === 0) {
      // Nothing to replay (a directory's mode, a symlink retargeted, a change of type): the
      // kernel may still hold the old names and attributes, so they go (mount.ts, "Kernel caches").
      if (foreign.length > 0) this.gate.namesChanged();
      return;
    }
    for (const op of ops) {
      if (op.kind === 'create' || op.kind === 'mkdir') this.state.hide(op.path);
      else if (op.kind === 'unlink') this.state.ghost(op.path, 'file');
      else if (op.kind === 'rmdir') this.state.ghost(op.path, 'dir');
    }
    // The kernel may have cached these names as they were a moment ago: it must ask again, and
    // hear "hidden" or "ghost", before the notifier replays them (or the replay raises no event).
    this.gate.namesChanged();
    try {
      // New directories first, then a pause: a recursive watcher (inotify) can only watch a new
      // directory after it has heard of it, and would miss creations inside it made at once.
      const mkdirs = ops.filter((op) => op.kind === 'mkdir');
      const rest = ops.filter((op) => op.kind !== 'mkdir');
      const failed = mkdirs.length > 0 ? await this.notifier.replay(this.mountPath, mkdirs) : [];
      if (mkdirs.length > 0 && rest.length > 0) await new Promise((r) => setTimeout(r, NEW_DIR_PAUSE_MS));
      failed.push(...(await this.notifier.replay(this.mountPath, rest)));
      if (failed.length > 0) this.log.info('some announcements failed', { mount: this.mountPath, failed: failed.slice(0, 10) });
    } finally {
      // Whatever a replay did not claim (it failed) is dropped: the notifier sees the truth again.
      for (const op of ops) this.state.settle(op.path);
      // A name looked up while hidden or ghosted must not stay cached that way.
      this.gate.namesChanged();
    }
  }

  private async kindOf(relPath: string): Promise<PathKind | undefined> {
    try {
      const st = await lstat(`${this.backingDir}/${relPath}`);
      return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    } catch {
      return undefined;
    }
  }

  /** Forgets `relPath` and, for a directory, everything below it. */
  private forget(relPath: string): void {
    const kind = this.known.get(relPath);
    this.known.delete(relPath);
    if (kind !== 'dir') return;
    const prefix = `${relPath}/`;
    for (const p of this.known.keys()) if (p.startsWith(prefix)) this.known.delete(p);
  }

  /** Records every path of the workspace: the starting state the mount's watchers see. */
  private async walk(relDir: string): Promise<void> {
    for (const [p, k] of await this.collect(relDir)) this.known.set(p, k);
  }

  /** Every path below `relDir` (workspace-relative; `.jj` left out) with its kind. */
  private async collect(relDir: string, into = new Map<string, PathKind>()): Promise<Map<string, PathKind>> {
    const entries = await readdir(relDir === '' ? this.backingDir : `${this.backingDir}/${relDir}`, { withFileTypes: true });
    await Promise.all(
      entries.map(async (e) => {
        if (relDir === '' && e.name === '.jj') return;
        const rel = relDir === '' ? e.name : `${relDir}/${e.name}`;
        if (e.isDirectory()) {
          into.set(rel, 'dir');
          await this.collect(rel, into);
        } else {
          into.set(rel, e.isFile() ? 'file' : 'other');
        }
      }),
    );
    return into;
  }
}
