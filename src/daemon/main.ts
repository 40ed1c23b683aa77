import { checkPaths, resolvePaths } from '../config/paths.js';
import { JjfsError, messageOf } from '../errors.js';
import { createLogger, type LogLevel } from '../log.js';
import { ExitCode } from '../exit-codes.js';
import { Daemon } from './daemon.js';
import { createFileSink } from './log-file.js';
import { onTerminationSignals } from './signals.js';
import { createServices } from './wire.js';

/**
 * jjfsd's entry point. Fatal start-up errors are printed as one `jjfsd: <message>` line on stderr
 * (the CLI shows it) and turned into the CLI's exit code for their kind.
 */
async function run(): Promise<number> {
  const paths = resolvePaths();
  checkPaths(paths);
  const sink = createFileSink(paths.logFile);
  // JJFS_LOG_LEVEL (for a debugging session) wins over the log_level setting of config.json.
  const forced = process.env['JJFS_LOG_LEVEL'] as LogLevel | undefined;
  let level: LogLevel = forced ?? 'info';
  const log = createLogger(sink, 'daemon', () => level);
  const daemon = new Daemon(paths, log, createServices, (configured) => {
    level = forced ?? configured ?? 'info';
  });
  let exitCode = ExitCode.ok;
  daemon.onFatal = (reason) => {
    exitCode = ExitCode.internal;
    void daemon.shutdown(reason).then(() => process.exit(exitCode));
  };
  onTerminationSignals((signal) => {
    void daemon.shutdown(signal).then(() => process.exit(exitCode));
  });
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { error: messageOf(reason) }));
  process.on('uncaughtException', (error) => {
    // State may be inconsistent: stop cleanly (unmount, release the lock) and let the service restart us.
    log.error('uncaught exception; shutting down', { error: error.message, stack: error.stack });
    exitCode = ExitCode.internal;
    void daemon.shutdown('uncaught exception').then(() => process.exit(exitCode));
  });
  await daemon.start();
  return ExitCode.ok;
}

run().catch((error: unknown) => {
  const kind = error instanceof JjfsError ? error.kind : 'internal';
  process.stderr.write(`jjfsd: ${messageOf(error)}\n`);
  process.exit(ExitCode[kind]);
});
