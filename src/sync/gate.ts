/**
 * The write gate: the contract between the sync engine and the FUSE layer.
 *
 * jj rewrites a file by unlink + recreate. A write that lands in workspace W between jj's snapshot
 * and its checkout of the new tree is lost (measured: 446 of 2,857 lines). Writes through a mount
 * pass through the daemon, so the engine closes W's gate around every jj command that rewrites W's
 * files, and the FUSE layer holds mutating operations on W's mount while the gate is closed.
 */
export interface WorkspaceGate {
  /**
   * Closes the gate of workspace `workspaceId` and resolves once every mutating operation already
   * in flight on its mount has finished. Further mutating operations wait (bounded) until the
   * returned release function is called. Releasing also bumps the workspace's generation so that
   * open file handles notice that files may have been replaced underneath them.
   */
  hold(workspaceId: string): Promise<() => void>;
}

/** A gate that holds nothing; for workspaces with no mount (tests, read-only tools). */
export const openGate: WorkspaceGate = {
  hold: () => Promise.resolve(() => undefined),
};
