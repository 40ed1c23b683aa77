/**
 * Syscall-level conformance: test/helpers/posix-walk.py runs every operation it knows (stat,
 * access, open with each flag that matters, read/write, truncate, chmod/chown, nanosecond utimes,
 * link, rename and link of every type onto every type, unlink/rmdir, mkdir/mkfifo/symlink over
 * a name, readlink, readdir, xattrs, long names, ctime updates, umask) on every file type (regular,
 * executable, empty and full directory, FIFO, socket, symlink, dangling symlink, character device)
 * once in a plain directory and once in a jjfs mount of a directory on the same file system. Every
 * outcome — errno or result, and the state left behind — must be the same.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveMount, type ServedMount } from './helpers/serve-harness.js';

const WALK = path.join(import.meta.dirname, 'helpers', 'posix-walk.py');

function walk(root: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) =>
    execFile('python3', [WALK, root], { maxBuffer: 64 * 1024 * 1024, timeout: 240_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`posix-walk.py ${root}: ${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as Record<string, unknown>),
    ),
  );
}

let served: ServedMount;
beforeAll(async () => {
  served = await serveMount();
});
afterAll(async () => {
  await served?.stop();
});

describe('POSIX conformance against a plain directory', () => {
  it('gives the same answer to every operation on every file type', async () => {
    const plain = path.join(served.dir, 'plain');
    fs.mkdirSync(plain);
    const expected = await walk(plain);
    const actual = await walk(served.mnt);
    const keys = Object.keys(expected);
    expect(keys.length).toBeGreaterThan(600);
    expect(Object.keys(actual).sort()).toEqual([...keys].sort());
    const differences = keys
      .filter((k) => JSON.stringify(actual[k]) !== JSON.stringify(expected[k]))
      .map((k) => `${k}\n  plain: ${JSON.stringify(expected[k])}\n  mount: ${JSON.stringify(actual[k])}`);
    expect(differences.length, differences.join('\n')).toBe(0);
  }, 600_000);
});
