import { constants } from 'node:fs';
import { access, chmod } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { execa } from 'execa';

/** The oldest jj release jjfs is tested against. */
export const MIN_JJ_VERSION = '0.42.0';

/** The npm package that vendors a jj binary (optional dependency of jjfs). */
export const JJ_NPM_PACKAGE = '@smithers-orchestrator/jj-linux-x64';

/** A usable jj binary. */
export interface LocatedJj {
  path: string;
  /** e.g. `0.42.0` */
  version: string;
  source: 'JJFS_JJ' | 'PATH' | 'npm';
}

/** No usable jj was found; `message` says what was tried and how to install one. */
export class JjUnavailableError extends Error {
  readonly tried: readonly string[];
  constructor(reason: string, tried: readonly string[]) {
    super(
      `${reason}. jjfs needs jj >= ${MIN_JJ_VERSION}. Tried: ${tried.length > 0 ? tried.join('; ') : 'nothing'}. ` +
        `Install one with \`npm i ${JJ_NPM_PACKAGE}@0.32.0\` (bundles jj 0.42), a release from ` +
        'https://github.com/jj-vcs/jj/releases, or `cargo install --locked jj-cli`; ' +
        'or point JJFS_JJ at a jj binary.',
    );
    this.name = 'JjUnavailableError';
    this.tried = tried;
  }
}

/** Compares dotted versions numerically: negative if a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Parses `jj 0.42.0-b8f7c455…` into `0.42.0`; undefined if unrecognised. */
export function parseJjVersion(output: string): string | undefined {
  return /\bjj\s+(\d+\.\d+\.\d+)/.exec(output)?.[1];
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function probe(path: string): Promise<string | undefined> {
  try {
    const r = await execa(path, ['--version'], { timeout: 10_000, stdin: 'ignore', env: { JJ_CONFIG: '' } });
    return parseJjVersion(r.stdout);
  } catch {
    return undefined;
  }
}

/**
 * Finds jj: `JJFS_JJ` if set (used as is, must satisfy {@link MIN_JJ_VERSION}), else the first `jj`
 * on PATH that is new enough, else the binary of the npm package {@link JJ_NPM_PACKAGE}.
 * @throws JjUnavailableError when none is usable.
 */
export async function locateJj(env: NodeJS.ProcessEnv = process.env): Promise<LocatedJj> {
  const tried: string[] = [];
  const check = async (path: string, source: LocatedJj['source']): Promise<LocatedJj | undefined> => {
    if (!(await isExecutable(path))) {
      tried.push(`${path} (${source}): not executable`);
      return undefined;
    }
    const version = await probe(path);
    if (version === undefined) {
      tried.push(`${path} (${source}): \`--version\` failed`);
      return undefined;
    }
    if (compareVersions(version, MIN_JJ_VERSION) < 0) {
      tried.push(`${path} (${source}): version ${version} is too old`);
      return undefined;
    }
    return { path, version, source };
  };

  const explicit = env.JJFS_JJ;
  if (explicit !== undefined && explicit !== '') {
    const found = await check(explicit, 'JJFS_JJ');
    if (found) return found;
    throw new JjUnavailableError('JJFS_JJ does not name a usable jj', tried);
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'jj');
    if (!(await isExecutable(candidate))) continue;
    const found = await check(candidate, 'PATH');
    if (found) return found;
  }
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve(`${JJ_NPM_PACKAGE}/package.json`);
    const bin = join(dirname(pkg), 'bin', 'jj');
    // The package's postinstall only marks its binary executable; npm 11 blocks install scripts
    // by default, so do that one step here (the file is part of this installation).
    if (!(await isExecutable(bin))) await chmod(bin, 0o755).catch(() => undefined);
    const found = await check(bin, 'npm');
    if (found) return found;
  } catch {
    tried.push(`${JJ_NPM_PACKAGE}: not installed`);
  }
  throw new JjUnavailableError('No usable jj found', tried);
}
