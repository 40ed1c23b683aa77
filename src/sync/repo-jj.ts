import { join } from 'node:path';
import type { JjResult, JjRunner } from './jj-runner.js';

/** The jj fileset naming exactly the file `path` (repo-relative), whatever characters it holds. */
export function fileFileset(path: string): string {
  return `root-file:${JSON.stringify(path)}`;
}

/** Where the pieces of one repo live under `<home>/repos/NAME/`. */
export interface RepoPaths {
  /** `<home>/repos/NAME` */
  home: string;
  /** The private, non-colocated jj repo (`<home>/repos/NAME/repo`); holds only `.jj`. */
  repoDir: string;
  /** Parent of the per-mount backing workspaces. */
  workspacesDir: string;
  /** Daemon-owned repo-level jj config, passed with `--config-file` on every call for this repo. */
  configFile: string;
  /** Daemon-owned ignore list that applies to every workspace and is invisible to users. */
  excludeFile: string;
  /** jj's git backend store: the git directory git plumbing reads and writes. */
  gitDir: string;
}

/** Computes {@link RepoPaths} for a repo home. */
export function repoPaths(repoHome: string): RepoPaths {
  const repoDir = join(repoHome, 'repo');
  const gitDir = join(repoDir, '.jj', 'repo', 'store', 'git');
  return {
    home: repoHome,
    repoDir,
    workspacesDir: join(repoHome, 'workspaces'),
    configFile: join(repoHome, 'jj-config.toml'),
    excludeFile: join(gitDir, 'info', 'exclude'),
    gitDir,
  };
}

/**
 * jj calls scoped to one repo. Every call carries the repo config file; calls on the repo never
 * touch any working copy (`--ignore-working-copy`), calls in a workspace run with cwd = that
 * workspace (so only W's own process ever snapshots or rewrites W).
 */
export class RepoJj {
  readonly runner: JjRunner;
  readonly paths: RepoPaths;

  constructor(runner: JjRunner, paths: RepoPaths) {
    this.runner = runner;
    this.paths = paths;
  }

  /** Runs jj on the private repo without touching any working copy. */
  repo(args: readonly string[], timeoutMs?: number): Promise<JjResult> {
    return this.runner.run(['--config-file', this.paths.configFile, '--ignore-working-copy', ...args], {
      cwd: this.paths.repoDir,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  }

  /** Like {@link repo}, with stdout as raw bytes (file contents); fails past `maxBytes`. */
  repoBytes(args: readonly string[], maxBytes: number): Promise<JjResult> {
    return this.runner.run(['--config-file', this.paths.configFile, '--ignore-working-copy', ...args], {
      cwd: this.paths.repoDir,
      binary: { maxBytes },
    });
  }

  /** The names of the repo's jj workspaces (one jj process). */
  async workspaceNames(): Promise<string[]> {
    return (await this.repo(['workspace', 'list', '-T', 'name ++ "\\n"'])).stdout.split('\n').filter((n) => n !== '');
  }

  /** Runs jj on the private repo with working-copy handling (only for `workspace add`, `git init`). */
  repoWithWorkingCopy(args: readonly string[], timeoutMs?: number): Promise<JjResult> {
    return this.runner.run(['--config-file', this.paths.configFile, ...args], {
      cwd: this.paths.repoDir,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  }

  /** Runs jj inside workspace directory `dir` (snapshots it first, as jj does). */
  workspace(dir: string, args: readonly string[], timeoutMs?: number): Promise<JjResult> {
    return this.runner.run(['--config-file', this.paths.configFile, ...args], {
      cwd: dir,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  }
}

/** One file jj refused to snapshot (e.g. a new file over `snapshot.max-new-file-size`). */
export interface RefusedFile {
  path: string;
  /** jj's explanation, e.g. `2.0KiB (2000 bytes); the maximum size allowed is 1.0KiB (1024 bytes)` */
  reason: string;
}

/**
 * Parses jj's "Refused to snapshot some files:" warning (exit status stays 0). Paths are relative
 * to the cwd of the call, which for workspace calls is the workspace root.
 */
export function parseRefusedFiles(stderr: string): RefusedFile[] {
  const lines = stderr.split('\n');
  const start = lines.findIndex((l) => /Refused to snapshot some files/.test(l));
  if (start < 0) return [];
  const out: RefusedFile[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^ {2}(\S.*?): (.+)$/.exec(line);
    if (!m || !m[1] || !m[2]) break;
    out.push({ path: m[1], reason: m[2] });
  }
  return out;
}

/** Quotes a path as a jj root-relative fileset. */
export function rootFileset(path: string): string {
  return `root:${JSON.stringify(path)}`;
}
