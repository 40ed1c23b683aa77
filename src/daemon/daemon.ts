import { chmod, mkdir } from 'node:fs/promises';
import { checkPaths, type Paths } from '../config/paths.js';
import { ConfigStore } from '../config/store.js';
import { JjfsError, messageOf } from '../errors.js';
import type { Logger, LogLevel } from '../log.js';
import { RpcServer } from '../rpc/server.js';
import { VERSION } from '../version.js';
import { createHandlers } from './handlers.js';
import { removeDaemonInfo, writeDaemonInfo } from '../launch/daemon-info.js';
import { acquireInstanceLock, clearStaleSocket } from './instance.js';
import type { Services } from './services.js';

/** Builds the long-lived parts once the lock is held and the config is loaded. */
export type ServicesFactory = (ctx: {
  paths: Paths;
  config: ConfigStore;
  log: Logger;
  warnings: string[];
  /** Sets the log level from config (undefined: the default); `JJFS_LOG_LEVEL` wins over it. */
  setLogLevel: (level: LogLevel | undefined) => void;
}) => Promise<Services>;

type State = { kind: 'new' } | { kind: 'running'; since: Date } | { kind: 'stopping'; done: Promise<void> };

/**
 * One daemon per user: lock, socket, services, and one shutdown routine for every way of stopping
 * (signal, `shutdown` RPC, fatal error).
 */
export class Daemon {
  private state: State = { kind: 'new' };
  private releaseLock: (() => Promise<void>) | undefined;
  private rpc: RpcServer | undefined;
  private services: Services | undefined;
  private readonly warnings: string[] = [];
  /** Called when the daemon must stop on its own (lock lost); main.ts exits afterwards. */
  onFatal: ((reason: string) => void) | undefined;

  constructor(
    private readonly paths: Paths,
    private readonly log: Logger,
    private readonly makeServices: ServicesFactory,
    /** Sets the running log level (see main.ts); a no-op for tests that do not care. */
    private readonly setLogLevel: (level: LogLevel | undefined) => void = () => undefined,
  ) {}

  /** Starts everything; on failure undoes what it did and rethrows. */
  async start(): Promise<void> {
    checkPaths(this.paths);
    try {
      await mkdir(this.paths.home, { recursive: true, mode: 0o700 });
      await chmod(this.paths.home, 0o700);
    } catch (error) {
      throw new JjfsError(
        'environment',
        `Cannot create or use ${this.paths.home} (${messageOf(error)}). ` +
          'Make it writable by you, or set JJFS_HOME to a directory you own.',
      );
    }
    const startedAt = new Date();
    try {
      this.releaseLock = await acquireInstanceLock(this.paths, (error) => {
        // The lock was removed or taken over (its directory deleted, or we stalled past its
        // staleness and another daemon took it). Two daemons on one home would fight over the
        // same workspaces, so this one stops; the service manager or the next CLI restarts one.
        this.log.error('instance lock compromised; stopping', { error: error.message });
        this.releaseLock = undefined;
        this.onFatal?.('instance lock compromised');
      });
      await writeDaemonInfo(this.paths, {
        pid: process.pid,
        socket: this.paths.socket,
        version: VERSION,
        startedAt: startedAt.toISOString(),
      });
      const config = new ConfigStore(this.paths.configFile);
      const loaded = await config.load();
      if (loaded.quarantined) {
        const warning =
          `config.json was invalid (${loaded.quarantined.problem}); it was kept as ` +
          `${loaded.quarantined.file} and the daemon started with an empty config. ` +
          'Fix that file and move it back to config.json (with the daemon stopped) to restore it.';
        this.warnings.push(warning);
        this.log.error(warning);
      }
      this.services = await this.makeServices({ paths: this.paths, config, log: this.log, warnings: this.warnings, setLogLevel: this.setLogLevel });
      this.rpc = new RpcServer({
        handlers: createHandlers({
          services: this.services,
          startedAt,
          warnings: this.warnings,
          requestShutdown: () => {
            // Answer the shutdown request first, then stop: the timer runs after the response is sent.
            setTimeout(() => void this.shutdown('rpc'), 10);
          },
        }),
        subscribe: (params, push) => this.services!.subscribe(params, push),
        log: this.log.child('rpc'),
      });
      // Remount before listening: a CLI that sees the socket answer must also see every mount back.
      await this.services.start();
      await clearStaleSocket(this.paths.socket);
      await this.rpc.listen(this.paths.socket);
      await chmod(this.paths.socket, 0o600);
      this.state = { kind: 'running', since: startedAt };
      this.log.info('jjfsd started', { pid: process.pid, version: VERSION, socket: this.paths.socket });
    } catch (error) {
      await this.teardown();
      throw error;
    }
  }

  /** Stops accepting, finishes in-flight requests, unmounts, removes the socket, releases the lock. */
  shutdown(reason: string): Promise<void> {
    if (this.state.kind === 'stopping') return this.state.done;
    this.log.info('shutting down', { reason });
    const done = this.teardown();
    this.state = { kind: 'stopping', done };
    return done;
  }

  private async teardown(): Promise<void> {
    await this.rpc?.close().catch((e: unknown) => this.log.error('closing rpc', { error: messageOf(e) }));
    await this.services?.stop().catch((e: unknown) => this.log.error('closing services', { error: messageOf(e) }));
    if (this.rpc) {
      const { rm } = await import('node:fs/promises');
      await rm(this.paths.socket, { force: true });
    }
    if (this.releaseLock) {
      await removeDaemonInfo(this.paths).catch(() => undefined);
      await this.releaseLock().catch(() => undefined);
      this.releaseLock = undefined;
    }
  }
}
