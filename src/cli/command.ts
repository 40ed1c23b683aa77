import type { ParseArgsConfig } from 'node:util';
import type { Paths } from '../config/paths.js';
import { JjfsError } from '../errors.js';
import type { RpcClient } from '../rpc/client.js';
import type { Output } from './output.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | undefined>;

export interface CommandContext {
  positionals: string[];
  values: OptionValues;
  paths: Paths;
  out: Output;
  cwd: string;
  /** Connects to the daemon, starting it when `autoStart` (the default). */
  daemon: (opts?: { autoStart?: boolean }) => Promise<RpcClient>;
}

/**
 * One CLI command: its help text, its flags, and what it does. Returns the exit code (default 0).
 * Its name and summary are in command-table.ts, so that dispatch and `--help` need no command module.
 */
export interface Command {
  /** e.g. "jjfs open REPO [PATH]" */
  usage: string;
  /** Longer help shown by `jjfs help CMD`. */
  details?: string;
  options?: OptionSpec;
  /** Allowed number of positionals [min, max]. */
  positionals: [number, number];
  run(ctx: CommandContext): Promise<number | void>;
}

/** Runs `fn` with a daemon connection (started if needed) and always closes it. */
export async function withClient<T>(daemon: CommandContext['daemon'], fn: (client: RpcClient) => Promise<T>): Promise<T> {
  const client = await daemon();
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** A connection to the daemon if one is running, else undefined; never starts one. */
export async function runningDaemon(daemon: CommandContext['daemon']): Promise<RpcClient | undefined> {
  try {
    return await daemon({ autoStart: false });
  } catch (error) {
    if (error instanceof JjfsError && error.kind === 'daemon-unavailable') return undefined;
    throw error;
  }
}
