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
