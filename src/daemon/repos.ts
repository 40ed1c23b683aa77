import { mkdir, rm, stat } from 'node:fs/promises';
import { repoHome, type Paths } from '../config/paths.js';
import { newRepoConfig } from '../config/schema.js';
import type { ConfigStore } from '../config/store.js';
import { redactUrl, requireAbsoluteRemote, validateBranchName, validateRepoName } from '../config/validate.js';
import { JjfsError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RepoInfo } from '../rpc/protocol.js';
import { KeyedMutex } from '../util/mutex.js';

/** What the repo service needs from the jj layer. */
export interface RepoCreator {
  /** Creates (or completes) the private jj repo under `home`; harmless when it exists. */
  initRepo(home: string): Promise<{ created: boolean }>;
}

/** Live per-repo facts supplied by the sync engine and remote sync (absent before they exist). */
export type RepoLiveInfo = (
  name: string,
) => Promise<Partial<Pick<RepoInfo, 'conflicts' | 'lastRound' | 'refusedFiles' | 'remote' | 'history'>>>;

/** What the repo service needs from remote sync (see RemoteService). */
export interface RemoteHooks {
  /** Refuses a URL that is unreachable, not a git repo, or whose branch has unrelated history. */
  check(repo: string, url: string): Promise<{ branch: string }>;
  /** Refuses a URL that is unreachable or not a git repo; names the branch `main` will follow. */
  probe(url: string): Promise<{ branch: string }>;
  /** Points the new repo's `main` at the remote branch (`init --from`). */
  adopt(repo: string, url: string, branch: string): Promise<void>;
  /** The repo's remote changed in config: start, restart or stop its rounds. */
  changed(repo: string): void;
}

/** Remote hooks that refuse everything (a daemon built without remote support, tests). */
const noRemotes: RemoteHooks = {
  check: () => Promise.reject(new JjfsError('invalid-input', 'Remotes are not available in this daemon.')),
  probe: () => Promise.reject(new JjfsError('invalid-input', 'Remotes are not available in this daemon.')),
  adopt: () => Promise.reject(new JjfsError('invalid-input', 'Remotes are not available in this daemon.')),
  changed: () => undefined,
};

/** Constructor argument of {@link RepoService}. */
export interface RepoServiceInit {
  paths: Paths;
  config: ConfigStore;
  creator: RepoCreator;
  log: Logger;
  /** Live facts of a repo for `list` (default: none). */
  live?: RepoLiveInfo;
  /** Remote checks and scheduling (default: remotes refused). */
  remotes?: RemoteHooks;
}

/** Creates and describes repos; every config change goes through the ConfigStore. */
export class RepoService {
  private readonly perRepo = new KeyedMutex();
  private readonly paths: Paths;
  private readonly config: ConfigStore;
  private readonly creator: RepoCreator;
  private readonly log: Logger;
  private readonly live: RepoLiveInfo;
  private readonly remotes: RemoteHooks;

  constructor(init: RepoServiceInit) {
    this.paths = init.paths;
    this.config = init.config;
    this.creator = init.creator;
    this.log = init.log;
    this.live = init.live ?? (() => Promise.resolve({}));
    this.remotes = init.remotes ?? noRemotes;
  }

  /**
   * Creates repo `name` if needed. Re-running is harmless; two calls for the same name run one
   * after the other, different names in parallel.
   */
  init(rawName: string): Promise<{ name: string; path: string; created: boolean }> {
    const name = validateRepoName(rawName);
    return this.perRepo.run(name, async () => {
      const home = repoHome(this.paths, name);
      await mkdir(home, { recursive: true, mode: 0o700 });
      const { created } = await this.creator.initRepo(home);
      const known = this.config.snapshot().repos[name] !== undefined;
      if (!known) {
        await this.config.update((draft) => {
          draft.repos[name] ??= newRepoConfig();
        });
      }
      if (created || !known) this.log.info('repo ready', { repo: name, created });
      return { name, path: home, created: created || !known };
    });
  }

  /** Throws invalid-input when `name` cannot be a repo name. */
  validateName(name: string): void {
    validateRepoName(name);
  }

  /** The directory holding every repo. */
  homeDir(): string {
    return this.paths.home;
  }

  /** Throws not-found with the fix when `name` is not a repo. */
  require(name: string): void {
    validateRepoName(name);
    if (this.config.snapshot().repos[name] === undefined) {
      throw new JjfsError('not-found', `No repo named "${name}". Create it with: jjfs init ${name}`);
    }
  }

  /** Every repo with its remote, mount count, conflicts and refused files. */
  async list(): Promise<RepoInfo[]> {
    const config = this.config.snapshot();
    return Promise.all(
      Object.entries(config.repos)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(async ([name, repo]) => {
        const live = await this.live(name);
        return {
          name,
          path: repoHome(this.paths, name),
          remote: live.remote ?? (repo.remote ? { url: redactUrl(repo.remote), delayed: false, unpushed: 0 } : null),
          mounts: config.mounts.filter((m) => m.repo === name).length,
          conflicts: live.conflicts ?? [],
          refusedFiles: live.refusedFiles ?? [],
          ...(live.lastRound ? { lastRound: live.lastRound } : {}),
          ...(live.history ? { history: live.history } : {}),
        };
      }),
    );
  }

  /**
   * Sets the remote of `repo` after checking it: a reachable git repository whose branch shares
   * history with the repo (or the repo has no content yet). A second `remote add` is refused until
   * `remote remove`. Nothing changes when a check fails.
   */
  addRemote(repo: string, rawUrl: string): Promise<{ repo: string; url: string }> {
    const url = requireAbsoluteRemote(rawUrl);
    this.require(repo);
    return this.perRepo.run(repo, async () => {
      this.refuseSecondRemote(repo, this.config.snapshot().repos[repo]?.remote ?? null);
      const { branch } = await this.remotes.check(repo, url);
      validateBranchName(branch);
      await this.config.update((draft) => {
        const current = draft.repos[repo];
        if (!current) throw new JjfsError('not-found', `No repo named "${repo}".`);
        this.refuseSecondRemote(repo, current.remote);
        current.remote = url;
        current.remote_branch = branch;
      });
      this.log.info('remote set', { repo, url: redactUrl(url), branch });
      this.remotes.changed(repo);
      return { repo, url: redactUrl(url) };
    });
  }

  /** Forgets the remote of `repo` (nothing is deleted on the remote or locally). */
  removeRemote(repo: string): Promise<{ repo: string }> {
    this.require(repo);
    return this.perRepo.run(repo, async () => {
      await this.config.update((draft) => {
        const current = draft.repos[repo];
        if (!current || current.remote === null) {
          throw new JjfsError('not-found', `Repo "${repo}" has no remote. Add one with: jjfs remote add URL --repo ${repo}`);
        }
        current.remote = null;
        delete current.remote_branch;
      });
      this.log.info('remote removed', { repo });
      this.remotes.changed(repo);
      return { repo };
    });
  }

  /**
   * `init NAME --from URL`: creates repo NAME whose `main` is the remote's default branch, with the
   * remote set. The remote is checked before anything is created; if a later step fails, the repo
   * directory is removed again. Repeating it with the same URL is harmless.
   */
  initFrom(rawName: string, rawUrl: string): Promise<{ name: string; path: string; created: boolean }> {
    const name = validateRepoName(rawName);
    const url = requireAbsoluteRemote(rawUrl);
    return this.perRepo.run(name, async () => {
      const home = repoHome(this.paths, name);
      const existing = this.config.snapshot().repos[name];
      if (existing) {
        if (existing.remote === url) return { name, path: home, created: false };
        throw new JjfsError(
          'already-exists',
          `Repo "${name}" already exists. Choose another name, or back it up to this remote: jjfs remote add ${redactUrl(url)} --repo ${name}`,
        );
      }
      const { branch } = await this.remotes.probe(url);
      validateBranchName(branch);
      const existed = await stat(home).then(() => true, () => false);
      try {
        await mkdir(home, { recursive: true, mode: 0o700 });
        await this.creator.initRepo(home);
        await this.remotes.adopt(name, url, branch);
        await this.config.update((draft) => {
          draft.repos[name] = { ...newRepoConfig(), remote: url, remote_branch: branch };
        });
      } catch (error) {
        // Nothing created: a directory we made goes away again (one that existed is left alone).
        if (!existed) await rm(home, { recursive: true, force: true }).catch(() => undefined);
        throw error;
      }
      this.log.info('repo created from remote', { repo: name, url: redactUrl(url), branch });
      this.remotes.changed(name);
      return { name, path: home, created: true };
    });
  }

  private refuseSecondRemote(repo: string, current: string | null): void {
    if (current === null) return;
    throw new JjfsError(
      'already-exists',
      `Repo "${repo}" already has a remote (${redactUrl(current)}). Remove it first: jjfs remote remove --repo ${repo}`,
    );
  }
}
