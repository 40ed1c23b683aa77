/**
 * Routes SIGTERM, SIGINT and SIGHUP to one shutdown routine. A second signal while shutting down
 * is logged and ignored: the routine is already running and must finish unmounting.
 */
export function onTerminationSignals(shutdown: (signal: NodeJS.Signals) => void): void {
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => shutdown(signal));
  }
}
