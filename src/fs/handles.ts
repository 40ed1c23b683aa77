/**
 * Open-file table of one mount: FUSE file handle number → backing file descriptor.
 *
 * fuse-native stores the number we return from open/create in `fuse_file_info.fh` only when it
 * is non-zero, and passes it back as a uint32, so handle numbers start at 1 and stay below 2^31:
 * numbers from 2^31 up belong to the files the patched addon opens on the FUSE thread (mount.ts,
 * "Open files on the FUSE thread"), whose requests never reach this table.
 */

/** One open file of the mount. */
export interface Handle {
  /** Descriptor of the backing file. Replaced when the file was rewritten underneath (`ensureCurrent`, ops-files.ts). */
  fd: number;
  /** Open flags as given to open(2) on the backing file (without O_CREAT/O_EXCL/O_TRUNC after a reopen). */
  flags: number;
  /** Gate generation at which `fd` was known to name the file at the handle's path. */
  generation: number;
  /** A reopen in progress; concurrent operations on the handle wait for it instead of racing. */
  reopening: Promise<void> | null;
}

const MAX_HANDLE = 0x7fffffff;

/** The open-file table. Not shared between mounts. */
export class HandleTable {
  private readonly handles = new Map<number, Handle>();
  private next = 1;

  /** Registers a new handle and returns its number (never 0). */
  add(fd: number, flags: number, generation: number): number {
    // Skip numbers still in use after a wrap-around (needs 2^31 opens, but costs nothing).
    while (this.handles.has(this.next)) this.advance();
    const id = this.next;
    this.advance();
    this.handles.set(id, { fd, flags, generation, reopening: null });
    return id;
  }

  /** The open handle numbered `id`, if any. */
  get(id: number): Handle | undefined {
    return this.handles.get(id);
  }

  /** Removes a handle and returns it (the caller closes its fd). */
  remove(id: number): Handle | undefined {
    const h = this.handles.get(id);
    if (h) this.handles.delete(id);
    return h;
  }

  /** How many handles are open. */
  get size(): number {
    return this.handles.size;
  }

  private advance(): void {
    this.next = this.next >= MAX_HANDLE ? 1 : this.next + 1;
  }
}
