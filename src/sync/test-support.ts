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
