import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import type { AnnounceOp } from './announce.js';

const CHILD = fileURLToPath(new URL('./notifier-child.js', import.meta.url));

/** Longest a batch may take before it is given up (the marks are then cleared by the caller). */
const BATCH_TIMEOUT_MS = 10_000;

interface Pending {
  resolve: (failed: Array<{ path: string; kind: string; code: string }>) => void;
  timer: NodeJS.Timeout;
}

/**
 * Owns the notifier child process (notifier-child.ts): starts it on first use, restarts it if it
 * dies, sends batches and waits for their answers WITHOUT blocking — the daemon's main thread has
 * to serve the very FUSE requests the child's operations cause.
 */
export class Notifier {
  private child: ChildProcessWithoutNullStreams | undefined;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  constructor(
    private readonly log: Logger,
    private readonly cwd: string,
    /** The pid of the process whose FUSE request is being served (patched fuse-native). */
    private readonly callerPid: () => number,
  ) {}

  /**
   * True when the FUSE request being served comes from the notifier process. Call synchronously
   * at the start of a handler (see FuseBinding.callerPid).
   */
  isCaller(): boolean {
    const pid = this.child?.pid;
    return pid !== undefined && this.callerPid() === pid;
  }

  /** Replays `ops` through the mount at `mount`; resolves with the operations that failed. */
  replay(mount: string, ops: AnnounceOp[]): Promise<Array<{ path: string; kind: string; code: string }>> {
    if (this.closed || ops.length === 0) return Promise.resolve([]);
    const child = this.ensureChild();
    const seq = ++this.seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        this.log.warn('notifier batch timed out', { mount, ops: ops.length });
        resolve(ops.map((o) => ({ path: o.path, kind: o.kind, code: 'ETIMEDOUT' })));
      }, BATCH_TIMEOUT_MS);
      this.pending.set(seq, { resolve, timer });
      child.stdin.write(`${JSON.stringify({ seq, mount, ops })}\n`);
    });
  }

  /** Stops the child; pending batches resolve as failed. */
  close(): void {
    this.closed = true;
    this.child?.stdin.end();
    this.child?.kill('SIGTERM');
    this.failAll('closed');
  }

  private ensureChild(): ChildProcessWithoutNullStreams {
    if (this.child && this.child.exitCode === null && !this.child.killed) return this.child;
    // cwd is never a mount: spawn() would chdir the child into it while we wait (deadlock).
    const child = spawn(process.execPath, [CHILD], { cwd: this.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const answer = JSON.parse(line) as { seq: number; failed: Array<{ path: string; kind: string; code: string }> };
        const p = this.pending.get(answer.seq);
        if (!p) return;
        clearTimeout(p.timer);
        this.pending.delete(answer.seq);
        p.resolve(answer.failed);
      } catch {
        // not ours
      }
    });
    child.stderr.on('data', (d: Buffer) => this.log.warn('notifier stderr', { text: d.toString().slice(0, 500) }));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (!this.closed) this.log.warn('notifier exited', { code, signal });
      this.failAll('notifier exited');
    });
    child.on('error', (error) => this.log.error('notifier failed to start', { error: error.message }));
    this.child = child;
    return child;
  }

  private failAll(code: string): void {
    for (const [seq, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(seq);
      p.resolve([{ path: '*', kind: 'batch', code }]);
    }
  }
}
