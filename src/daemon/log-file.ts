import { appendFileSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { LogSink } from '../log.js';
import { sizeOf } from '../util/files.js';

/**
 * A size-bounded log: when the file passes `maxBytes` it becomes `.1` (older ones shift up to
 * `.keep`), so the log never takes more than (keep + 1) × maxBytes. Lines are appended
 * synchronously: the log is on local disk (never a mount) and a crash must not lose the last lines.
 */
export function createFileSink(file: string, maxBytes = 5 * 1024 * 1024, keep = 3): LogSink {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let size = sizeOf(file);
  return (line) => {
    const data = `${line}\n`;
    const bytes = Buffer.byteLength(data);
    if (size + bytes > maxBytes) {
      rotate(file, keep);
      size = 0;
    }
    try {
      appendFileSync(file, data, { mode: 0o600 });
      size += bytes;
    } catch {
      // Logging must never take the daemon down (disk full, file removed): drop the line.
    }
  };
}

function rotate(file: string, keep: number): void {
  for (let i = keep - 1; i >= 1; i -= 1) tryRename(`${file}.${i}`, `${file}.${i + 1}`);
  tryRename(file, `${file}.1`);
}

function tryRename(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch {
    // nothing to rotate yet
  }
}
