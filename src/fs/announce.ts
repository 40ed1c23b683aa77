/**
 * Announcing synced changes to watchers on a mount.
 *
 * inotify (and so every editor, dev server and agent watching a mount) only sees operations that
 * go through the mount's VFS. jj brings a workspace up to date by writing its backing directory
 * directly, so a watcher on the mount would never hear of a change synced from another mount, and
 * an editor could later save a stale buffer over it.
 *
 * So after jj (or anything else) changes the backing directory, a notifier process replays each
 * change THROUGH the mount with an operation the pass-through recognises and turns into a no-op on
 * the backing directory, while the kernel still raises the event a real write would have raised:
 *
 * | change in backing | what the notifier is shown until replay | replay (notifier)         | events on the mount          |
 * |-------------------|----------------------------------------|----------------------------|------------------------------|
 * | file created      | path absent ("hidden")                 | open(O_CREAT|O_WRONLY)+close | IN_CREATE, IN_CLOSE_WRITE  |
 * | directory created | path absent ("hidden")                 | mkdir                      | IN_CREATE (IN_ISDIR)         |
 * | file changed      | (nothing)                              | open + ftruncate(ANNOUNCE_SIZE) + close | IN_MODIFY, IN_CLOSE_WRITE |
 * | file deleted      | path present ("ghost", an empty file)  | unlink                     | IN_DELETE                    |
 * | directory deleted | path present ("ghost" directory)       | rmdir                      | IN_DELETE (IN_ISDIR)         |
 *
 * The ftruncate to ANNOUNCE_SIZE is a no-op for the backing file, but the kernel updates its cached
 * attributes from the answer and drops the file's page cache, so a reader holding the file open
 * reads the new bytes (the handle itself is re-pointed at jj's new file by ops-files.ts).
 * None of these replays changes the backing directory, so none of them causes a sync round: no
 * feedback loop. Only the notifier is shown the pretence (the patched fuse-native reports the pid
 * of each request's caller); every other process always sees the backing directory as it is.
 * The kernel's dentry cache is shared. Without name caches (entry_timeout=0) every lookup asks us
 * again. With them (mount.ts, "Kernel caches") "no such name" is never cached, so a hidden
 * name cannot stay absent for others, and every cached name is dropped when a replay is prepared
 * and when it settles; a ghost, though, is cached from the notifier's lookup until its unlink
 * (microseconds to a millisecond in which another process looking up that very name sees it).
 */
import type { WatchEvent } from '../watch/workspace-watcher.js';

/** The length the notifier truncates to: recognised as "announce a modification", never applied. */
export const ANNOUNCE_SIZE = 2 ** 52 + 0x6a6a;

export type AnnounceOp =
  | { kind: 'create'; path: string }
  | { kind: 'mkdir'; path: string }
  | { kind: 'modify'; path: string }
  | { kind: 'unlink'; path: string }
  | { kind: 'rmdir'; path: string };

/**
 * What one mount pretends about paths while their changes are being announced — to the notifier
 * process ONLY (`fromNotifier()` compares the pid of the request being served): everyone else
 * always sees the truth, so no process working in the mount sees a file vanish or a phantom
 * (but for the ghost window above, with name caches).
 * Paths are in FUSE form (`/dir/file`). Lives on the daemon's main thread.
 */
export class AnnounceState {
  private readonly hidden = new Set<string>();
  private readonly ghosts = new Map<string, 'file' | 'dir'>();
  private readonly pendingListeners = new Set<(pending: boolean) => void>();

  constructor(private readonly fromNotifier: () => boolean) {}

  /**
   * Registers `listener`, told synchronously whenever paths start or stop being pretended about
   * (`pending` leaves or reaches 0); returns its removal. The mount answers getattr on the JS
   * thread only while something is pretended (mount.ts, "getattr and readdir without the JS thread").
   */
  onPendingChange(listener: (pending: boolean) => void): () => void {
    this.pendingListeners.add(listener);
    return () => this.pendingListeners.delete(listener);
  }

  /** The path exists in the backing dir but must look absent to the notifier until it creates it. */
  hide(path: string): void {
    this.changing(() => {
      this.ghosts.delete(path);
      this.hidden.add(path);
    });
  }

  /** The path is gone from the backing dir but must look present to the notifier until it deletes it. */
  ghost(path: string, kind: 'file' | 'dir'): void {
    this.changing(() => {
      this.hidden.delete(path);
      this.ghosts.set(path, kind);
    });
  }

  /** True when the current request comes from the notifier (its replays). */
  isNotifier(): boolean {
    return this.fromNotifier();
  }

  /** True if `path` must look absent to the current caller. */
  isHidden(path: string): boolean {
    return this.hidden.size > 0 && this.hidden.has(path) && this.fromNotifier();
  }

  /** The kind `path` must seem to have for the current caller, if it is a ghost to it. */
  ghostKind(path: string): 'file' | 'dir' | undefined {
    return this.ghosts.size > 0 && this.fromNotifier() ? this.ghosts.get(path) : undefined;
  }

  /** Takes the hidden mark of `path` when the caller is the notifier replaying its creation. */
  claimHidden(path: string): boolean {
    if (this.hidden.size === 0 || !this.hidden.has(path) || !this.fromNotifier()) return false;
    this.changing(() => this.hidden.delete(path));
    return true;
  }

  /** Takes the ghost mark of `path` (of `kind`) when the caller is the notifier replaying its deletion. */
  claimGhost(path: string, kind: 'file' | 'dir'): boolean {
    if (this.ghosts.get(path) !== kind || !this.fromNotifier()) return false;
    this.changing(() => this.ghosts.delete(path));
    return true;
  }

  /** Drops the marks of `path` (its replay is over, claimed or not). */
  settle(path: string): void {
    this.changing(() => {
      this.hidden.delete(path);
      this.ghosts.delete(path);
    });
  }

  /** Runs `change` and tells the listeners if `pending` left or reached 0. */
  private changing(change: () => void): void {
    const before = this.pending > 0;
    change();
    const after = this.pending > 0;
    if (before === after) return;
    for (const listener of this.pendingListeners) listener(after);
  }

  get pending(): number {
    return this.hidden.size + this.ghosts.size;
  }
}

/** A change seen in the backing directory: a workspace-relative path and what happened to it. */
export type BackingChange = WatchEvent;

/** What a path is in the backing directory (`other`: symlinks and the like, never replayed). */
export type PathKind = 'file' | 'dir' | 'other';

/**
 * Turns changed paths into replay operations from what each path WAS (as far as the mount's
 * watchers know: `before`) and what it IS now in the backing dir (`now`). Watchers' own event
 * types are not trusted for this: jj replaces a file by unlink + re-create, which a watcher may
 * report as a creation of a file the mount already had. Order matters for watchers and the kernel:
 * directories are created parents first, files after them; files are deleted before their
 * directories, deepest first. A path that changed type, or is not a regular file or directory, is
 * not replayed.
 */
export function planAnnouncements(
  paths: Iterable<string>,
  before: (path: string) => PathKind | undefined,
  now: (path: string) => PathKind | undefined,
): AnnounceOp[] {
  const mkdirs: string[] = [];
  const creates: string[] = [];
  const modifies: string[] = [];
  const unlinks: string[] = [];
  const rmdirs: string[] = [];
  for (const p of new Set(paths)) {
    if (!p || p === '.jj' || p.startsWith('.jj/')) continue;
    const was = before(p);
    const is = now(p);
    if (was === undefined && is === 'dir') mkdirs.push(p);
    else if (was === undefined && is === 'file') creates.push(p);
    else if (was === 'file' && is === 'file') modifies.push(p);
    else if (was === 'dir' && is === undefined) rmdirs.push(p);
    else if (was !== undefined && was !== 'dir' && is === undefined) unlinks.push(p);
  }
  const depth = (p: string): number => p.split('/').length;
  mkdirs.sort((a, b) => depth(a) - depth(b));
  rmdirs.sort((a, b) => depth(b) - depth(a));
  const fuse = (p: string): string => `/${p}`;
  return [
    ...mkdirs.map((p) => ({ kind: 'mkdir' as const, path: fuse(p) })),
    ...creates.map((p) => ({ kind: 'create' as const, path: fuse(p) })),
    ...modifies.map((p) => ({ kind: 'modify' as const, path: fuse(p) })),
    ...unlinks.map((p) => ({ kind: 'unlink' as const, path: fuse(p) })),
    ...rmdirs.map((p) => ({ kind: 'rmdir' as const, path: fuse(p) })),
  ];
}
