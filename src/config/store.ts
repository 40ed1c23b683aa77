import { mkdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { isErrnoException, JjfsError } from '../errors.js';
import { SerialQueue } from '../util/serial-queue.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { type Config, emptyConfig, parseConfig } from './schema.js';

/** What loading found; `quarantined` is set when a broken file was moved aside. */
export interface LoadResult {
  config: Config;
  quarantined?: { file: string; problem: string };
}

/**
 * Owns config.json. All changes go through `update`, which serialises them (many CLIs can call
 * the daemon at once) and writes atomically.
 */
export class ConfigStore {
  private current: Config = emptyConfig();
  private readonly queue = new SerialQueue();

  constructor(readonly file: string) {}

  /**
   * Loads config.json. A missing file is an empty config. A file that is not valid JSON or not a
   * valid config is never overwritten: it is renamed to `config.json.corrupt-<time>` and the problem
   * is returned so the daemon can start and say loudly what happened.
   */
  async load(): Promise<LoadResult> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if (isErrnoException(error) && error.code === 'ENOENT') {
        this.current = emptyConfig();
        return { config: this.snapshot() };
      }
      throw new JjfsError('environment', `Cannot read ${this.file}: ${(error as Error).message}.`);
    }
    const problem = describeProblem(text);
    if (problem.ok) {
      this.current = problem.config;
      return { config: this.snapshot() };
    }
    const aside = `${this.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(this.file, aside);
    this.current = emptyConfig();
    return { config: this.snapshot(), quarantined: { file: aside, problem: problem.message } };
  }

  /** A deep copy of the current config. */
  snapshot(): Config {
    return structuredClone(this.current);
  }

  /**
   * Applies `change` to a copy of the config and persists it; the in-memory config changes only
   * once the file is written. Changes run one at a time in call order.
   */
  update<T>(change: (draft: Config) => T | Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const draft = this.snapshot();
      const result = await change(draft);
      await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.file, `${JSON.stringify(draft, null, 2)}\n`);
      this.current = draft;
      return result;
    };
    return this.queue.run(run);
  }
}

function describeProblem(text: string): { ok: true; config: Config } | { ok: false; message: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `not valid JSON (${(error as Error).message})` };
  }
  const parsed = parseConfig(raw);
  if ('problems' in parsed) return { ok: false, message: parsed.problems.join('; ') };
  return { ok: true, config: parsed.config };
}
