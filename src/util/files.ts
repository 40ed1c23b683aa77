import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

/** Size of `file` in bytes, 0 when it is missing or unreadable. */
export function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * What `file` holds from byte `offset` to its end, decoded as UTF-8; '' when it is missing.
 * The offset counts bytes (it comes from {@link sizeOf}), so the bytes are read from there and
 * only then decoded: slicing the decoded text at a byte offset goes wrong once the file holds
 * non-ASCII characters.
 */
export function readFrom(file: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    // The file may grow while we read (a daemon still writing): we take what is there at fstat time.
    const length = Math.max(0, fstatSync(fd).size - offset);
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buffer, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return buffer.subarray(0, done).toString('utf8');
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}
