import { execFile } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger, silentLogger, type Logger } from '../log.js';
import type { WorkspaceGate } from './gate.js';
import { openGate } from './gate.js';
import { ExecaGitRunner } from './git.js';
import { initRepo } from './repo-init.js';
import { RepoJj, repoPaths } from './repo-jj.js';
import { RepoSync, type ChangeSuppressor, type RepoSyncOptions, type WorkspaceSpec } from './repo-sync.js';
import { makeTestEnv, type TestEnv } from './fixtures.test-support.js';
import { addWorkspace } from './workspace-ops.js';

/** A real repo with `n` workspaces and an engine; for tests (not built into dist/). */
export interface Harness {
  env: TestEnv;
  rj: RepoJj;
  engine: RepoSync;
  ws: WorkspaceSpec[];
  /** Adds (but does not attach) another workspace. */
  addWs(id: string): Promise<WorkspaceSpec>;
  /** Number of commits in `::main`. */
  commitCount(): Promise<number>;
  read(ws: WorkspaceSpec, path: string): Promise<string>;
  close(): Promise<void>;
}

/** Options for {@link makeHarness}. */
export interface HarnessOptions {
  options?: Partial<RepoSyncOptions>;
  gate?: WorkspaceGate;
  suppressor?: ChangeSuppressor;
  attach?: boolean;
  verbose?: boolean;
  maxNewFileSize?: string;
}

/** Creates a temp repo with workspaces w0..w(n-1), attached to a fresh engine. */
export async function makeHarness(n: number, opts: HarnessOptions = {}): Promise<Harness> {
  const env = await makeTestEnv();
  try {
    await initRepo(env.jj, env.repoHome, opts.maxNewFileSize ? { maxNewFileSize: opts.maxNewFileSize } : {});
    const rj = new RepoJj(env.jj, repoPaths(env.repoHome));
    const log: Logger = opts.verbose ? createLogger((l) => process.stderr.write(`${l}\n`), 'sync', 'debug') : silentLogger;
    const engine = new RepoSync({
      name: 'notes',
      repoHome: env.repoHome,
      jj: env.jj,
      git: new ExecaGitRunner(),
      gate: opts.gate ?? openGate,
      log,
      options: { debounceMs: 30, maxWaitMs: 300, ...opts.options },
      ...(opts.suppressor ? { suppressor: opts.suppressor } : {}),
    });
    const addWs = async (id: string): Promise<WorkspaceSpec> => {
      const dir = await addWorkspace(rj, id);
      return { id, dir, label: `/mnt/${id}` };
    };
    const ws: WorkspaceSpec[] = [];
    for (let i = 0; i < n; i++) ws.push(await addWs(`w${i}`));
    if (opts.attach ?? true) for (const w of ws) await engine.attach(w);
    return {
      env,
      rj,
      engine,
      ws,
      addWs,
      commitCount: async () =>
        (await rj.repo(['log', '--no-graph', '-r', '::main', '-T', 'commit_id ++ "\\n"'])).stdout.trim().split('\n').length,
      read: (w, path) => readFile(join(w.dir, path), 'utf8'),
      close: async () => {
        await engine.close();
        await env.cleanup();
      },
    };
  } catch (err) {
    await env.cleanup();
    throw err;
  }
}

/**
 * Appends line `n` of workspace `i` to its own log (`log-<i>.md`), for `count` rounds, each
 * recorded with a forced round (commits and jj operations pile up); `lines[i]` gets every line.
 */
export async function appendRounds(harness: Harness, count: number, lines: string[][]): Promise<void> {
  for (let n = 0; n < count; n++) {
    for (const [i, w] of harness.ws.entries()) {
      const line = `w${i} line ${n}\n`;
      await appendFile(join(w.dir, `log-${i}.md`), line);
      lines[i]!.push(line);
    }
    await harness.engine.syncNow();
  }
}

/** `git fsck` of jj's store (0: every object reachable from a ref is there and intact). */
export function fsckStore(gitDir: string): Promise<number> {
  return new Promise((resolve) => execFile('git', ['--git-dir', gitDir, 'fsck', '--no-dangling', '--no-progress'], (err) => resolve(err ? 1 : 0)));
}
