/** Tags name the part of jjfs a log line comes from. */
export type LogTag = 'daemon' | 'rpc' | 'fuse' | 'sync' | 'watch' | 'jj' | 'remote' | 'cli' | 'service' | 'history';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured, tagged logger. Every module receives one; nothing in src/ writes to the console directly. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger for another part of the program, writing to the same sink. */
  child(tag: LogTag): Logger;
}

/** A sink receives finished lines; the daemon's sink is the rotating sync.log. */
export type LogSink = (line: string) => void;

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Levels from the most to the least verbose. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/**
 * Creates a logger writing `ISO-time LEVEL [tag] message {json fields}` lines to `sink`. A function
 * for `minLevel` is asked at every line, so the level can change while the daemon runs.
 */
export function createLogger(sink: LogSink, tag: LogTag = 'daemon', minLevel: LogLevel | (() => LogLevel) = 'info'): Logger {
  const threshold = typeof minLevel === 'function' ? minLevel : () => minLevel;
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (order[level] < order[threshold()]) return;
    const extra = fields && Object.keys(fields).length > 0 ? ` ${safeJson(fields)}` : '';
    sink(`${new Date().toISOString()} ${level.toUpperCase()} [${tag}] ${message}${extra}`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (t) => createLogger(sink, t, minLevel),
  };
}

/** A logger that drops everything; for unit tests. */
export const silentLogger: Logger = createLogger(() => undefined, 'daemon', 'error');

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? { message: v.message } : v));
  } catch {
    return '"<unserialisable>"';
  }
}
