import { JjfsError } from '../errors.js';
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
    status: async () => ({
      pid: process.pid,
      version: VERSION,
      startedAt: ctx.startedAt.toISOString(),
      home: services.repos.homeDir(),
      jj: services.jj,
      fuse: services.fuse(),
      repos: services.repos.list(),
      mounts: await services.mounts(),
      warnings: [...ctx.warnings],
      stats: services.stats(),
    }),

    /** Every mount with its state. */
    list: async () => ({ mounts: await services.mounts() }),

    /** Every repo with its remote and counts. */
    repos: async () => ({ repos: services.repos.list() }),

    /** Creates a repo (idempotent); `from` clones an existing git repository (remote issue). */
    init: async ({ name, from }) => {
      if (from !== undefined) {
        throw new JjfsError('invalid-input', '`init --from` is not available in this version of jjfsd.');
      }
      return services.repos.init(name);
    },

    /** Stores a validated remote URL for a repo. */
    'remote.add': ({ repo, url }) => services.repos.addRemote(repo, url),

    /** Forgets a repo's remote. */
    'remote.remove': ({ repo }) => services.repos.removeRemote(repo),

    /** Mounts a repo at an absolute path. */
    open: (params) => services.open(params),

    /** Unmounts after recording the mount's last changes. */
    close: async ({ path }) => ({ mount: await services.closeMount(path) }),

    /** Forces a round and waits for convergence. */
    sync: async ({ repo, remote }) => ({ rounds: await services.sync(repo, remote ?? false) }),

    /** Lists conflicted paths. */
    conflicts: async ({ repo }) => ({ repos: await services.conflicts(repo) }),

    /** Answers, then runs the same shutdown routine as SIGTERM. */
    shutdown: async () => {
      ctx.requestShutdown();
      return { stopping: true as const };
    },
  };
}
