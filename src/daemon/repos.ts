import { mkdir } from 'node:fs/promises';
import { repoHome, type Paths } from '../config/paths.js';
import { newRepoConfig } from '../config/schema.js';
import type { ConfigStore } from '../config/store.js';
import { redactUrl, validateRemoteUrl, validateRepoName } from '../config/validate.js';
import { JjfsError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RepoInfo } from '../rpc/protocol.js';
import { KeyedMutex } from '../util/mutex.js';

/** What the repo service needs from the jj layer. */
export interface RepoCreator {
  /** Creates (or completes) the private jj repo under `home`; harmless when it exists. */
  initRepo(home: string): Promise<{ created: boolean }>;
}

/** Live per-repo facts supplied by the sync engine (absent before it exists). */
export type RepoLiveInfo = (name: string) => Partial<Pick<RepoInfo, 'conflicts' | 'lastRound' | 'refusedFiles' | 'remote'>>;

/** Creates and describes repos; every config change goes through the ConfigStore. */
export class RepoService {
  private readonly perRepo = new KeyedMutex();

  constructor(
    private readonly paths: Paths,
    private readonly config: ConfigStore,
    private readonly creator: RepoCreator,
    private readonly log: Logger,
    private readonly live: RepoLiveInfo = () => ({}),
  ) {}

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

  list(): RepoInfo[] {
    const config = this.config.snapshot();
    return Object.entries(config.repos)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, repo]) => {
        const live = this.live(name);
        return {
          name,
          path: repoHome(this.paths, name),
          remote: live.remote ?? (repo.remote ? { url: redactUrl(repo.remote), delayed: false } : null),
          mounts: config.mounts.filter((m) => m.repo === name).length,
          conflicts: live.conflicts ?? [],
          refusedFiles: live.refusedFiles ?? [],
          ...(live.lastRound ? { lastRound: live.lastRound } : {}),
        };
      });
  }

  /** Sets the remote of `repo`; a second `remote add` is refused until `remote remove`. */
  async addRemote(repo: string, rawUrl: string): Promise<{ repo: string; url: string }> {
    const url = validateRemoteUrl(rawUrl);
    this.require(repo);
    await this.config.update((draft) => {
      const current = draft.repos[repo];
      if (!current) throw new JjfsError('not-found', `No repo named "${repo}".`);
      if (current.remote !== null) {
        throw new JjfsError(
          'already-exists',
          `Repo "${repo}" already has a remote (${redactUrl(current.remote)}). ` +
            `Remove it first: jjfs remote remove --repo ${repo}`,
        );
      }
      current.remote = url;
    });
    this.log.info('remote set', { repo, url: redactUrl(url) });
    return { repo, url: redactUrl(url) };
  }

  async removeRemote(repo: string): Promise<{ repo: string }> {
    this.require(repo);
    await this.config.update((draft) => {
      const current = draft.repos[repo];
      if (!current || current.remote === null) {
        throw new JjfsError('not-found', `Repo "${repo}" has no remote.`);
      }
      current.remote = null;
    });
    return { repo };
  }
}
