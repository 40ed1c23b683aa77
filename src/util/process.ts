/**
 * True while process `pid` exists. Signal 0 checks without signalling; EPERM means it exists but
 * belongs to someone else, so it counts as alive.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
