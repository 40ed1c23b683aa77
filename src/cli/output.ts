/** The CLI's only way to the terminal: human text by default, JSON for scripts, NO_COLOR honoured. */
export interface Output {
  readonly json: boolean;
  /** Prints a result: `value` as JSON in --json mode, else the human `text` (lines). */
  result(value: unknown, text: () => string | string[]): void;
  /** One line of a stream (`monitor`): compact JSON in --json mode (a line per value), else `text`. */
  line(value: unknown, text: () => string): void;
  /** Raw bytes to stdout, unchanged (`show` of a file's content). */
  raw(bytes: Uint8Array): void;
  /** A line of human progress on stderr (suppressed in --json mode). */
  note(message: string): void;
  error(message: string): void;
  /**
   * Shows `label` with the seconds elapsed while `work` runs (rewritten in place every 200 ms), on
   * a terminal only: piped output and --json get nothing extra. The line is cleared at the end.
   */
  progress<T>(label: string, work: Promise<T>): Promise<T>;
  /** A line on stderr in both modes (a stream's "subscribed" or "ended", which scripts wait for too). */
  status(message: string): void;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
}

export function createOutput(opts: { json: boolean; stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream }): Output {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const color = !('NO_COLOR' in process.env) && stdout.isTTY === true && process.env['TERM'] !== 'dumb';
  const paint = (code: string) => (s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  return {
    json: opts.json,
    result(value, text) {
      if (opts.json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else {
        const t = text();
        const lines = Array.isArray(t) ? t : [t];
        if (lines.length > 0) stdout.write(`${lines.join('\n')}\n`);
      }
    },
    line(value, text) {
      stdout.write(`${opts.json ? JSON.stringify(value) : text()}\n`);
    },
    raw(bytes) {
      stdout.write(bytes);
    },
    note(message) {
      if (!opts.json) stderr.write(`${message}\n`);
    },
    error(message) {
      if (opts.json) stderr.write(`${JSON.stringify({ error: message })}\n`);
      else stderr.write(`jjfs: ${message}\n`);
    },
    async progress(label, work) {
      if (opts.json || stderr.isTTY !== true) return work;
      const started = Date.now();
      const draw = () => stderr.write(`\r${label} … ${((Date.now() - started) / 1000).toFixed(1)} s\u001b[K`);
      draw();
      const timer = setInterval(draw, 200);
      try {
        return await work;
      } finally {
        clearInterval(timer);
        stderr.write('\r\u001b[K');
      }
    },
    status(message) {
      stderr.write(`${message}\n`);
    },
    bold: paint('1'),
    dim: paint('2'),
    red: paint('31'),
    yellow: paint('33'),
    green: paint('32'),
  };
}
