import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateJj } from './jj-locate.js';
import { CountingJjRunner, createJjRunner } from './jj-runner.js';

/** A temp home with a real jj runner (counting calls); for tests. Call `cleanup` in afterEach. */
export interface TestEnv {
  root: string;
  repoHome: string;
  jj: CountingJjRunner;
  cleanup(): Promise<void>;
}

/** Creates a {@link TestEnv} under the OS temp dir. */
export async function makeTestEnv(prefix = 'jjfs-sync-'): Promise<TestEnv> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const located = await locateJj();
  const inner = await createJjRunner({ jjPath: located.path, configFile: join(root, 'jj-base.toml'), timeoutMs: 60_000 });
  return {
    root,
    repoHome: join(root, 'repos', 'notes'),
    jj: new CountingJjRunner(inner),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/**
 * A write gate for tests that stand in for the FUSE layer: writers call `enter(id)` before touching
 * workspace `id` and the returned function after; `hold` (the engine side) waits for writers in
 * flight and blocks new ones until released. Direct writes to a backing dir are NOT gated in the
 * real daemon (only mount writes are), so tests that write concurrently with fan-out must use this.
 */
export class TestGate {
  readonly #inflight = new Map<string, number>();
  readonly #held = new Map<string, Promise<void>>();
  readonly #drained = new Map<string, (() => void)[]>();
  holds = 0;

  async enter(id: string): Promise<() => void> {
    for (;;) {
      const held = this.#held.get(id);
      if (!held) break;
      await held;
    }
    this.#inflight.set(id, (this.#inflight.get(id) ?? 0) + 1);
    return () => {
      const n = (this.#inflight.get(id) ?? 1) - 1;
      this.#inflight.set(id, n);
      if (n === 0) for (const r of this.#drained.get(id)?.splice(0) ?? []) r();
    };
  }

  async hold(id: string): Promise<() => void> {
    // Serialise holders of the same workspace (the engine never overlaps them, but be safe).
    while (this.#held.has(id)) await this.#held.get(id);
    let open!: () => void;
    this.#held.set(id, new Promise<void>((r) => (open = r)));
    this.holds++;
    if ((this.#inflight.get(id) ?? 0) > 0) {
      await new Promise<void>((r) => {
        const list = this.#drained.get(id) ?? [];
        list.push(r);
        this.#drained.set(id, list);
      });
    }
    return () => {
      this.#held.delete(id);
      open();
    };
  }
}

/** What {@link auditLines} found in a file that should hold every written line exactly once. */
export interface LineAudit {
  missing: number;
  duplicated: number;
  /** Lines present that nobody wrote (conflict markers among them). */
  unexpected: number;
  markers: number;
  /** `text`'s size minus the bytes written. */
  extraBytes: number;
}

/**
 * Counts, not `includes`: every line of `written` must appear in `text` exactly as often as it was
 * written, nothing else may be there, and the size must equal the bytes written. All zero = exact.
 */
export function auditLines(text: string, written: readonly string[]): LineAudit {
  const want = new Map<string, number>();
  for (const line of written) want.set(line, (want.get(line) ?? 0) + 1);
  const have = new Map<string, number>();
  const lines = text.split(/(?<=\n)/).filter((l) => l !== '');
  for (const line of lines) have.set(line, (have.get(line) ?? 0) + 1);
  let missing = 0;
  let duplicated = 0;
  let unexpected = 0;
  for (const [line, n] of want) {
    const got = have.get(line) ?? 0;
    if (got < n) missing += n - got;
    if (got > n) duplicated += got - n;
  }
  for (const [line, n] of have) if (!want.has(line)) unexpected += n;
  const markers = lines.filter((l) => /^(<{7}|={7}|>{7}|\|{7}|%{7}|\+{7})( |\n|$)/.test(l)).length;
  const extraBytes = Buffer.byteLength(text) - written.reduce((n, l) => n + Buffer.byteLength(l), 0);
  return { missing, duplicated, unexpected, markers, extraBytes };
}

/** The audit of a file that holds exactly what was written. */
export const EXACT: LineAudit = { missing: 0, duplicated: 0, unexpected: 0, markers: 0, extraBytes: 0 };
