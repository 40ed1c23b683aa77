import { execa } from 'execa';
import { redactText } from '../config/validate.js';
import type { Logger } from '../log.js';

/** How a git failure is classified, so callers can react (retry, report, refuse). */
export type GitErrorKind = 'timeout' | 'cancelled' | 'spawn' | 'failed';

/**
 * A git invocation that did not exit 0. Its message and `stderr` are already redacted: a URL with
 * `user:password@` never appears in them (they end up in logs and `jjfs status`).
 */
export class GitError extends Error {
  readonly kind: GitErrorKind;
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly stdout: string;

  constructor(init: { summary: string; kind: GitErrorKind; exitCode: number | undefined; stderr: string; stdout: string; fallback?: string }) {
    const firstLine =
      init.stderr.split('\n').find((l) => l.trim() !== '' && !l.startsWith('hint:')) ?? init.fallback ?? `exit ${String(init.exitCode)}`;
    const why = init.kind === 'timeout' ? 'timed out' : init.kind === 'cancelled' ? 'was cancelled' : `failed: ${firstLine.trim()}`;
    super(`${init.summary} ${why}`);
    this.name = 'GitError';
    this.kind = init.kind;
    this.exitCode = init.exitCode;
    this.stderr = init.stderr;
    this.stdout = init.stdout;
  }
}

/** Options of one git call. */
export interface GitRunOptions {
  /** `--git-dir` to operate on (the jj repo's git store); omitted for `ls-remote`. */
  gitDir?: string;
  /** Kill git (and everything it started: ssh, remote helpers) after this long. */
  timeoutMs?: number;
  /** Bytes for git's stdin. */
  input?: string | Buffer;
  /** Extra environment (e.g. `GIT_INDEX_FILE`, author identity). */
  env?: Record<string, string>;
  /** The URL involved, so its credentials are scrubbed from messages even when git quotes it. */
  url?: string;
  /** Aborting kills git at once (daemon shutdown). */
  signal?: AbortSignal;
  /** A short human name of what this call does, for messages (default `git <first arg>`). */
  summary?: string;
  /** Keep stdout as raw bytes in {@link GitResult.bytes} (object contents); `stdout` is then empty. */
  binary?: boolean;
}

/** What a successful git call printed. */
export interface GitResult {
  stdout: string;
  /** stdout as bytes, with {@link GitRunOptions.binary} */
  bytes?: Buffer;
  stderr: string;
  durationMs: number;
}

/** Runs git. Exit 0 resolves; anything else rejects with a {@link GitError}. */
export interface GitRunner {
  run(args: readonly string[], options?: GitRunOptions): Promise<GitResult>;
}

/** Options of {@link ExecaGitRunner}. */
export interface ExecaGitRunnerOptions {
  /** git binary (default `git` on PATH). */
  gitPath?: string;
  /** Default timeout per call (default 60 s). */
  timeoutMs?: number;
  log?: Logger;
}

/**
 * Config that makes every call safe and quiet whatever the user configured: no helper transport
 * can run a command, no hook runs in the jj store, git never garbage-collects jj's store behind
 * jj's back, and nothing asks a question (there is nobody to answer).
 */
const SAFE_CONFIG: readonly string[] = [
  // Exactly the transports validateRemoteUrl accepts; ext::, fd:: and every other helper are off.
  '-c', 'protocol.allow=never',
  '-c', 'protocol.https.allow=always',
  '-c', 'protocol.http.allow=always',
  '-c', 'protocol.ssh.allow=always',
  '-c', 'protocol.git.allow=always',
  '-c', 'protocol.file.allow=always',
  '-c', 'core.hooksPath=/dev/null',
  '-c', 'gc.auto=0',
  '-c', 'maintenance.auto=false',
  '-c', 'fetch.recurseSubmodules=false',
  '-c', 'advice.pushNonFFCurrent=false',
];

/**
 * The git runner used by the daemon. Each call runs in its own process group (a new session, so
 * ssh cannot open a terminal to ask for a password) and the whole group is killed on timeout or
 * cancellation: a remote that hangs cannot hang the daemon.
 */
export class ExecaGitRunner implements GitRunner {
  readonly #opts: ExecaGitRunnerOptions;

  constructor(options: ExecaGitRunnerOptions = {}) {
    this.#opts = options;
  }

  async run(args: readonly string[], options: GitRunOptions = {}): Promise<GitResult> {
    const fullArgs = [...SAFE_CONFIG, ...(options.gitDir === undefined ? [] : ['--git-dir', options.gitDir]), ...args];
    const summary = redactText(options.summary ?? `git ${args[0] ?? ''}`, options.url);
    const timeoutMs = options.timeoutMs ?? this.#opts.timeoutMs ?? 60_000;
    const started = performance.now();
    const child = execa(this.#opts.gitPath ?? 'git', fullArgs, {
      cwd: options.gitDir ?? '/',
      reject: false,
      detached: true,
      stdin: options.input === undefined ? 'ignore' : 'pipe',
      ...(options.input === undefined ? {} : { input: options.input }),
      env: {
        // Inherited repository overrides (a daemon started from inside a git hook has them) would
        // point git at the wrong repository or index.
        GIT_DIR: undefined,
        GIT_WORK_TREE: undefined,
        GIT_INDEX_FILE: undefined,
        GIT_OBJECT_DIRECTORY: undefined,
        GIT_ALTERNATE_OBJECT_DIRECTORIES: undefined,
        GIT_NAMESPACE: undefined,
        GIT_TERMINAL_PROMPT: '0',
        LANG: 'C',
        LC_ALL: 'C',
        ...options.env,
      },
      stripFinalNewline: false,
      ...(options.binary ? { encoding: 'buffer' as const } : {}),
    });
    let ended: 'timeout' | 'cancelled' | undefined;
    // Kill the whole process group: git's children (ssh, git-remote-https) must die too.
    const killGroup = (why: 'timeout' | 'cancelled'): void => {
      ended ??= why;
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => killGroup('timeout'), timeoutMs);
    const onAbort = (): void => killGroup('cancelled');
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const result = await child;
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    const durationMs = performance.now() - started;
    const stdout = typeof result.stdout === 'string' ? result.stdout : '';
    const rawErr: unknown = result.stderr;
    const stderr = redactText(typeof rawErr === 'string' ? rawErr : rawErr instanceof Uint8Array ? Buffer.from(rawErr).toString('utf8') : '', options.url);
    this.#opts.log?.debug('git', { args: args.map((a) => redactText(a, options.url)), ms: Math.round(durationMs), exit: result.exitCode });
    if (ended === undefined && result.exitCode === 0 && !result.failed) {
      const rawOut: unknown = result.stdout;
      return { stdout, stderr, durationMs, ...(rawOut instanceof Uint8Array ? { bytes: Buffer.from(rawOut) } : {}) };
    }
    const kind: GitErrorKind = ended ?? (result.exitCode === undefined ? 'spawn' : 'failed');
    throw new GitError({
      summary,
      kind,
      exitCode: result.exitCode,
      stderr,
      stdout: redactText(stdout, options.url),
      ...(kind === 'spawn' ? { fallback: redactText(result.originalMessage ?? result.message ?? '', options.url) } : {}),
    });
  }
}
