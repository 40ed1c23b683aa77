import { PROTOCOL_VERSION } from '../rpc/protocol.js';
import type { Handlers } from '../rpc/server.js';
import { VERSION } from '../version.js';
import type { Services } from './services.js';

export interface HandlerContext {
  services: Services;
  startedAt: Date;
  warnings: readonly string[];
  requestShutdown: () => void;
}

/** The daemon's side of every RPC method (see rpc/protocol.ts for params and results). */
export function createHandlers(ctx: HandlerContext): Handlers {
  const { services } = ctx;
  return {
    /** Reports our version; the client compares protocols and tells the user to restart on mismatch. */
    hello: async () => ({ version: VERSION, protocol: PROTOCOL_VERSION, pid: process.pid }),

    /** Daemon facts, every repo and every mount, plus warnings (e.g. a quarantined config). */
    status: async () => {
      // Repos first: their live facts may spawn jj (conflict markers), counted in stats below.
      const repos = await services.repos.list();
      return {
        pid: process.pid,
        version: VERSION,
        startedAt: ctx.startedAt.toISOString(),
        home: services.repos.homeDir(),
        jj: services.jj,
        fuse: services.fuse(),
        repos,
        mounts: await services.mounts({ unsynced: true }),
        warnings: [...ctx.warnings],
        stats: services.stats(),
      };
    },

    /** Every mount with its state. */
    list: async () => ({ mounts: await services.mounts() }),

    /** Every repo with its remote and counts. */
    repos: async () => ({ repos: await services.repos.list() }),

    /**
     * Creates a repo (idempotent). With `from` (an absolute path or URL), the repo starts from that
     * git repository: `main` is its default branch and it becomes the repo's remote.
     */
    init: async ({ name, from }) => (from === undefined ? services.repos.init(name) : services.repos.initFrom(name, from)),

    /**
     * Sets a repo's remote after checking it (reachable git repository, related history); remote
     * sync starts at once. A second add is refused.
     */
    'remote.add': ({ repo, url }) => services.repos.addRemote(repo, url),

    /** Forgets a repo's remote and stops its remote sync (nothing is deleted anywhere). */
    'remote.remove': ({ repo }) => services.repos.removeRemote(repo),

    /** Mounts a repo at an absolute path. */
    open: (params) => services.open(params),

    /** Unmounts after recording the mount's last changes. */
    close: async ({ path, force }) => services.closeMount(path, force === true),

    /** Every setting of a repo with its value and default. */
    'config.list': async ({ repo }) => services.settings.list(repo),
    /** Validates, writes atomically and applies a setting; nothing changes on a bad value. */
    'config.set': async ({ repo, key, value }) => services.settings.set(repo, key, value),
    /** Puts a setting back to its default. */
    'config.unset': async ({ repo, key }) => services.settings.set(repo, key, undefined),

    /** What live mounts hold that history does not (nested repositories, refused, special, ignored files). */
    unsynced: async ({ repo, path }) => ({ mounts: await services.unsynced({ ...(repo === undefined ? {} : { repo }), ...(path === undefined ? {} : { path }) }) }),

    /** Forces a round and waits for convergence; `remote` adds a remote round (fetch, integrate, push). */
    sync: async ({ repo, remote }) => ({ rounds: await services.sync(repo, remote ?? false) }),

    /** Lists conflicted paths. */
    conflicts: async ({ repo }) => ({ repos: await services.conflicts(repo) }),

    /** Compacts a repo's history now (between rounds). */
    compact: async ({ repo }) => ({ repos: await services.compact(repo) }),

    /**
     * Versions of a path (or of the whole repo), newest first, each with its time, the mount (or
     * jjfs command) that made it and a short summary. Commits what is waiting for its debounce
     * first, so a save made just before is listed.
     */
    log: (params) => services.history.log(params),

    /**
     * The content of a path at a version (base64; a directory lists its files), or with no path the
     * version's change and diff. `at` is a jj revision or an ISO 8601 instant (state of main then).
     */
    show: (params) => services.history.show(params),

    /** Differences from version `from` to now, or what the last change (to `path`) did. */
    diff: (params) => services.history.diff(params),

    /**
     * Puts a path (or the whole tree) back as it was, in place or beside it (`to`), as a new change:
     * every mount's pending edits are recorded first, the change reaches every mount before the
     * answer, and the result is verified against the version it came from.
     */
    restore: (params) => services.history.restore(params),

    /** Reverses the last change that is not undone yet, as a new change every mount receives. */
    undo: (params) => services.history.undo(params),

    /** Answers, then runs the same shutdown routine as SIGTERM. */
    shutdown: async () => {
      ctx.requestShutdown();
      return { stopping: true as const };
    },
  };
}
