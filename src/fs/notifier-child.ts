/**
 * The notifier process: replays announcements (announce.ts) through a mount. It must be a separate
 * process: the daemon serves the mount on its own main thread, so it can never make these calls
 * itself. Reads one JSON request per line on stdin, `{ seq, mount, ops }`, performs the operations
 * synchronously (this process has nothing else to do), and answers `{ seq, failed }` on stdout.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { ANNOUNCE_SIZE, type AnnounceOp } from './announce.js';

interface Request {
  seq: number;
  mount: string;
  ops: AnnounceOp[];
}

function replay(mount: string, op: AnnounceOp): void {
  const target = mount + op.path;
  switch (op.kind) {
    case 'create':
      // No O_EXCL and no O_TRUNC: the pass-through opens jj's file as it is.
      fs.closeSync(fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644));
      return;
    case 'mkdir':
      fs.mkdirSync(target);
      return;
    case 'modify': {
      const fd = fs.openSync(target, fs.constants.O_WRONLY);
      try {
        fs.ftruncateSync(fd, ANNOUNCE_SIZE);
      } finally {
        fs.closeSync(fd);
      }
      return;
    }
    case 'unlink':
      fs.unlinkSync(target);
      return;
    case 'rmdir':
      fs.rmdirSync(target);
      return;
  }
}

/**
 * Closes any /dev/fuse descriptor inherited from the daemon. While a process holds one, the FUSE
 * connection outlives the daemon: after a crash the mount would hang instead of failing with
 * ENOTCONN. (The patched fuse-native marks it close-on-exec; the stock build does not.)
 */
function dropInheritedFuseDescriptors(): void {
  for (const name of fs.readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (!(fd > 2)) continue;
    try {
      if (fs.readlinkSync(`/proc/self/fd/${name}`) === '/dev/fuse') fs.closeSync(fd);
    } catch {
      // gone already (readdir's own descriptor)
    }
  }
}

if (process.platform === 'linux') dropInheritedFuseDescriptors();

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let req: Request;
  try {
    req = JSON.parse(line) as Request;
  } catch {
    return;
  }
  const failed: Array<{ path: string; kind: string; code: string }> = [];
  for (const op of req.ops) {
    try {
      replay(req.mount, op);
    } catch (error) {
      failed.push({ path: op.path, kind: op.kind, code: (error as NodeJS.ErrnoException).code ?? String(error) });
    }
  }
  process.stdout.write(`${JSON.stringify({ seq: req.seq, failed })}\n`);
});
lines.on('close', () => process.exit(0));
