import { ConflictList } from './conflict-list.js';
import type { GitRunner } from './git.js';
import type { ConflictNote } from './merge-paths.js';
import type { RepoJj } from './repo-jj.js';
import { listConflicts, type RepoState } from './workspace-ops.js';

/**
 * Every unresolved conflict at one repo's `main`, in one place: files jjfs merged with markers or
 * kept beside each other (see ConflictList), plus jj's own conflicts in a `main` that holds some
 * (repos from before jjfs resolved conflicts itself; listing those costs a jj process, so they are
 * cached per `main`).
 */
export class MainConflicts {
  readonly #rj: RepoJj;
  readonly #list: ConflictList;
  #jj: { main: string; paths: string[] } | undefined;

  constructor(rj: RepoJj, git: GitRunner) {
    this.#rj = rj;
    this.#list = new ConflictList(rj, git);
  }

  /** Remembers conflicts just recorded in a commit (see ConflictList.add). */
  add(notes: readonly ConflictNote[]): void {
    this.#list.add(notes);
  }

  /** The conflicts at `state.main`, sorted. */
  async list(state: RepoState): Promise<string[]> {
    const listed = await this.#list.list(state.main);
    if (!state.mainConflicted) return listed;
    return [...new Set([...(await this.#jjConflicts(state)), ...listed])].sort();
  }

  /** After a round: lists jj's own conflicts of a conflicted `main` that moved, so status has them. */
  async noteMain(state: RepoState): Promise<void> {
    if (state.mainConflicted) await this.#jjConflicts(state);
  }

  /** What {@link list} last found for `state.main`; spawns nothing (status). */
  cached(state: RepoState | undefined): string[] {
    const own = state?.mainConflicted === true && this.#jj?.main === state.main ? this.#jj.paths : [];
    return [...new Set([...own, ...this.#list.cached(state?.main)])].sort();
  }

  async #jjConflicts(state: RepoState): Promise<string[]> {
    if (this.#jj?.main !== state.main) this.#jj = { main: state.main, paths: await listConflicts(this.#rj) };
    return this.#jj.paths;
  }
}
