import { hostname } from 'node:os';
import { execa } from 'execa';
import type { Logger } from '../log.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/** Options for one jj invocation. */
export interface JjRunOptions {
  /** Working directory: always a backing workspace or the private repo dir, never anything else. */
  cwd: string;
  /** Kill jj after this many milliseconds (default: the runner's default timeout). */
  timeoutMs?: number;
  /**
   * Return stdout as raw bytes in {@link JjResult.stdoutBytes} (file contents: never decode them
   * as text). jj is stopped and the call fails once stdout exceeds `maxBytes`.
   */
  binary?: { maxBytes: number };
}

/** A finished jj invocation that exited 0. Warnings (e.g. refused files) are in `stderr`. */
export interface JjResult {
  args: readonly string[];
  cwd: string;
  stdout: string;
  /** Raw stdout, only for calls made with `binary` (then `stdout` is empty). */
  stdoutBytes?: Uint8Array;
  stderr: string;
  durationMs: number;
}

/** How a jj fault is classified, so callers can react (e.g. recover a stale workspace). */
export type JjErrorKind = 'stale' | 'timeout' | 'spawn' | 'failed' | 'too-large';

/** A jj invocation that did not exit 0 (or could not run): a fault, carrying what is needed to debug it. */
export class JjError extends Error {
  readonly args: readonly string[];
  readonly cwd: string;
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly kind: JjErrorKind;

  constructor(init: { args: readonly string[]; cwd: string; exitCode: number | undefined; stderr: string; kind: JjErrorKind }) {
    const firstLine = init.stderr.split('\n').find((l) => l.trim() !== '') ?? '(no output)';
    // A full disk hides under "Internal error: Failed to snapshot…" with the OS error in a
    // "Caused by" line: say it first, with the fix (status shows this message).
    const diskFull = /No space left on device|os error 28/.test(init.stderr);
    const cause = diskFull ? 'the filesystem holding JJFS_HOME is full (No space left on device); free space there and syncing resumes by itself — ' : '';
    super(`${cause}jj ${init.args.join(' ')} (in ${init.cwd}) failed [${init.kind}, exit ${String(init.exitCode)}]: ${firstLine}`);
    this.name = 'JjError';
    this.args = init.args;
    this.cwd = init.cwd;
    this.exitCode = init.exitCode;
    this.stderr = init.stderr;
    this.kind = init.kind;
  }
}

/**
 * Runs jj. Implementations add the global flags that make output machine-stable and isolate jj from
 * the user's own configuration. Exit 0 resolves; anything else rejects with a {@link JjError}.
 */
export interface JjRunner {
  run(args: readonly string[], options: JjRunOptions): Promise<JjResult>;
}

/** Options for {@link ExecaJjRunner}. */
export interface ExecaJjRunnerOptions {
  /** Absolute path of the jj binary (see `locateJj`). */
  jjPath: string;
  /** The daemon-owned base config file, passed as `JJ_CONFIG` so the user's config cannot break us. */
  configFile: string;
  /** Default per-call timeout in milliseconds (default 120 000). */
  timeoutMs?: number;
  /** Logger tagged `jj`; every call is logged at debug level, every failure with its stderr at warn. */
  log?: Logger;
}

/** The jj runner used by the daemon: execa, explicit cwd, `--no-pager --color never`, isolated config. */
export class ExecaJjRunner implements JjRunner {
  readonly #opts: ExecaJjRunnerOptions;

  constructor(options: ExecaJjRunnerOptions) {
    this.#opts = options;
  }

  async run(args: readonly string[], options: JjRunOptions): Promise<JjResult> {
    const fullArgs = ['--no-pager', '--color', 'never', ...args];
    const started = performance.now();
    const result = await execa(this.#opts.jjPath, fullArgs, {
      cwd: options.cwd,
      reject: false,
      timeout: options.timeoutMs ?? this.#opts.timeoutMs ?? 120_000,
      stdin: 'ignore',
      // Isolation: JJ_CONFIG replaces every user/system config file; JJ_USER/JJ_EMAIL/JJ_EDITOR would
      // otherwise override even that.
      env: {
        JJ_CONFIG: this.#opts.configFile,
        JJ_USER: undefined,
        JJ_EMAIL: undefined,
        JJ_EDITOR: 'false',
        JJ_OP_HOSTNAME: undefined,
        JJ_OP_USERNAME: undefined,
        JJ_TIMESTAMP: undefined,
        LANG: 'C.UTF-8',
      },
      stripFinalNewline: false,
      ...(options.binary ? { encoding: 'buffer' as const, maxBuffer: options.binary.maxBytes } : {}),
    });
    const durationMs = performance.now() - started;
    const text = (v: unknown): string => (typeof v === 'string' ? v : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : '');
    const stdoutBytes = options.binary && result.stdout instanceof Uint8Array ? result.stdout : undefined;
    const stdout = stdoutBytes ? '' : text(result.stdout);
    const stderr = text(result.stderr);
    this.#opts.log?.debug('jj', { args, cwd: options.cwd, ms: Math.round(durationMs), exit: result.exitCode });
    if (result.exitCode === 0 && !result.failed) {
      return { args, cwd: options.cwd, stdout, ...(stdoutBytes ? { stdoutBytes } : {}), stderr, durationMs };
    }
    if (result.isMaxBuffer) {
      const error = new JjError({ args, cwd: options.cwd, exitCode: result.exitCode, stderr: `output larger than ${options.binary?.maxBytes ?? 0} bytes`, kind: 'too-large' });
      this.#opts.log?.warn('jj output too large', { args, cwd: options.cwd });
      throw error;
    }
    const kind: JjErrorKind = result.timedOut
      ? 'timeout'
      : result.exitCode === undefined
        ? 'spawn'
        : // A working copy behind the repo (another process rewrote W@), or left on an operation the
          // op-log trim rewrote (a sibling of the head) or deleted: `workspace update-stale` recovers it.
          /working copy is stale|sibling of the working copy's operation|Could not read working copy's operation/i.test(stderr)
          ? 'stale'
          : 'failed';
    const error = new JjError({
      args,
      cwd: options.cwd,
      exitCode: result.exitCode,
      stderr: stderr || (result.originalMessage ?? result.message ?? ''),
      kind,
    });
    this.#opts.log?.warn('jj failed', { args, cwd: options.cwd, exit: result.exitCode, kind, stderr: error.stderr });
    throw error;
  }
}

/** Identity written into every commit the daemon makes. */
export interface JjIdentity {
  name: string;
  email: string;
}

/** `jjfs <hostname>` / `jjfs@<hostname>`: which machine's daemon made a commit. */
export function defaultIdentity(host: string = hostname()): JjIdentity {
  const clean = host.replace(/[^A-Za-z0-9.-]/g, '-') || 'localhost';
  return { name: `jjfs ${clean}`, email: `jjfs@${clean}` };
}

/**
 * The daemon's base jj config: identity and everything that keeps output and behaviour stable no
 * matter what the user configured (their config files are never read, see `JJ_CONFIG`).
 * Repo-specific settings live in a per-repo file passed with `--config-file` (see repo-init).
 */
export function renderBaseConfig(identity: JjIdentity): string {
  return [
    '# Written by jjfs; regenerated at every daemon start. Do not edit.',
    '[user]',
    `name = ${JSON.stringify(identity.name)}`,
    `email = ${JSON.stringify(identity.email)}`,
    '',
    '[ui]',
    'paginate = "never"',
    'color = "never"',
    'editor = "false"',
    '',
    '[fsmonitor]',
    'backend = "none"',
    '',
    '[signing]',
    'behavior = "drop"',
    '',
  ].join('\n');
}

/** Writes the base config atomically and returns its path. */
export async function writeBaseConfig(configFile: string, identity: JjIdentity = defaultIdentity()): Promise<string> {
  await writeFileAtomic(configFile, renderBaseConfig(identity));
  return configFile;
}

/**
 * Convenience for the daemon: writes the base config to `configFile` and returns a runner using it.
 */
export async function createJjRunner(options: ExecaJjRunnerOptions & { identity?: JjIdentity }): Promise<ExecaJjRunner> {
  await writeBaseConfig(options.configFile, options.identity);
  return new ExecaJjRunner(options);
}

/** A runner that counts calls (and in-flight calls); for tests and metrics. */
export class CountingJjRunner implements JjRunner {
  calls = 0;
  inFlight = 0;
  /** Every call with its timing (tests); empty when built with `keepLog: false` (the daemon). */
  readonly log: { args: readonly string[]; cwd: string; startMs: number; ms?: number }[] = [];
  readonly #inner: JjRunner;
  readonly #keepLog: boolean;

  constructor(inner: JjRunner, opts: { keepLog?: boolean } = {}) {
    this.#inner = inner;
    this.#keepLog = opts.keepLog ?? true;
  }

  async run(args: readonly string[], options: JjRunOptions): Promise<JjResult> {
    this.calls++;
    this.inFlight++;
    const entry: { args: readonly string[]; cwd: string; startMs: number; ms?: number } = { args, cwd: options.cwd, startMs: performance.now() };
    if (this.#keepLog) this.log.push(entry);
    try {
      return await this.#inner.run(args, options);
    } finally {
      this.inFlight--;
      entry.ms = performance.now() - entry.startMs;
    }
  }
}
