import type { GitRunner } from './git.js';
import { isRegularFile, readBlobs, readEntries } from './git-objects.js';
import { MARKERS_TRAILER, parseConflictTrailers, type ConflictNote } from './merge-paths.js';
import { hasConflictMarkers } from './merge-text.js';
import type { RepoJj } from './repo-jj.js';

/** Conflicts recorded by the commits of `revset` (e.g. what a fetch brought in). One jj process. */
export async function conflictNotesIn(rj: RepoJj, revset: string): Promise<ConflictNote[]> {
  const r = await rj.repo(['log', '--no-graph', '-r', `(${revset}) & description(substring:${JSON.stringify(MARKERS_TRAILER.slice(0, -1))})`, '-T', 'description ++ "\\0"']);
  return r.stdout.split('\0').flatMap(parseConflictTrailers);
}

/**
 * The conflicts of one repo that a person should look at. jjfs never lets jj's own conflicts into
 * `main` (see conflict-repair.ts), so these are ordinary files, recorded by trailers in the commit
 * that made them (see {@link conflictTrailers}) — history is the persistent record — and listed
 * while they are unresolved: a text file while it still holds conflict markers, a kept-beside copy
 * while the copy exists. A resolution saved in any mount therefore clears it everywhere.
 */
export class ConflictList {
  readonly #rj: RepoJj;
  readonly #git: GitRunner;
  /** Candidates by the path that identifies them (the copy for a kept-beside pair). */
  readonly #notes = new Map<string, ConflictNote>();
  #seeded = false;
  #cache: { main: string; paths: string[] } | undefined;

  constructor(rj: RepoJj, git: GitRunner) {
    this.#rj = rj;
    this.#git = git;
  }

  /** Remembers conflicts just recorded in a commit (they are in its message too). */
  add(notes: readonly ConflictNote[]): void {
    for (const n of notes) this.#notes.set(n.kind === 'copy' ? n.copy : n.path, n);
    if (notes.length > 0) this.#cache = undefined;
  }

  /** Unresolved conflicts at `main`, sorted (both paths of a kept-beside pair). Spawns at most 3 processes, none when cached. */
  async list(main: string): Promise<string[]> {
    if (this.#cache?.main === main) return this.#cache.paths;
    if (!this.#seeded) {
      // Once per daemon: conflicts recorded before it started, from the latest commits that carry one.
      const revset = `latest(::main & description(substring:${JSON.stringify(MARKERS_TRAILER.slice(0, -1))}), 20)`;
      for (const n of await conflictNotesIn(this.#rj, revset)) this.#notes.set(n.kind === 'copy' ? n.copy : n.path, n);
      this.#seeded = true;
    }
    const paths = await this.#unresolved(main);
    this.#cache = { main, paths };
    return paths;
  }

  /** The last {@link list} result if `main` has not moved since; spawns nothing. */
  cached(main: string | undefined): string[] {
    return main !== undefined && this.#cache?.main === main ? this.#cache.paths : [];
  }

  async #unresolved(main: string): Promise<string[]> {
    if (this.#notes.size === 0) return [];
    const gitDir = this.#rj.paths.gitDir;
    const entries = await readEntries(this.#git, gitDir, main, [...this.#notes.keys()]);
    const marked = [...this.#notes.values()].flatMap((n) => {
      const e = n.kind === 'markers' ? entries.get(n.path) : undefined;
      return isRegularFile(e) ? [e.oid] : [];
    });
    const blobs = await readBlobs(this.#git, gitDir, marked);
    const out = new Set<string>();
    for (const [key, n] of this.#notes) {
      const e = entries.get(key);
      const open = n.kind === 'copy' ? e !== undefined : isRegularFile(e) && hasConflictMarkers(blobs.get(e.oid)?.toString('latin1') ?? '');
      if (!open) {
        // Resolved (or deleted): it never comes back by itself, so stop checking it.
        this.#notes.delete(key);
        continue;
      }
      out.add(n.path);
      if (n.kind === 'copy') out.add(n.copy);
    }
    return [...out].sort();
  }
}
