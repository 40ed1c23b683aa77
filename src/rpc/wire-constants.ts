// The protocol's plain values, apart from protocol.ts (types and the param readers built at load):
// the CLI's client needs only these, and every module it loads adds to `jjfs list`'s start-up.

/**
 * Bumped whenever a method's params or result change incompatibly. The CLI checks it in `hello`
 * and tells the user to restart the daemon when it differs.
 */
export const PROTOCOL_VERSION = 1;

/** Largest request line the daemon accepts; a longer one is refused and the connection closed. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** The notification method that carries `MonitorEvent`s (protocol.ts) to a `monitor` connection. */
export const MONITOR_NOTIFICATION = 'event';
