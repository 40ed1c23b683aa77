// Child process for src/fs/fuse-loader.test.ts. A process must never access a FUSE mount it
// serves itself (it deadlocks), so the tests mount here and poke the mount from the outside.
//
//   node fuse-passthrough-child.mjs load          -> prints {"source","mtimeFixed"} via loadFuse()
//   node fuse-passthrough-child.mjs load-stock    -> require('fuse-native') directly (needs the env)
//   node fuse-passthrough-child.mjs serve <backing> <mountpoint> '<MountOptions JSON>'
//        (forked with IPC) sends {type:'mounted', source, mtimeFixed} once mounted; answers
//        {type:'stats'} with {type:'stats', maxWrite, utimens}; {type:'unmount'} unmounts and exits.
//        JJFS_TEST_FUSE_SOURCE=prebuild forces the stock prebuild.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const loader = await import(path.join(root, 'dist', 'fs', 'fuse-loader.js'));
const { fuseTimeToSeconds } = await import(path.join(root, 'dist', 'fs', 'utimens.js'));
const [mode, backing, mnt, optsJson] = process.argv.slice(2);

if (mode === 'load') {
  const b = loader.loadFuse();
  process.stdout.write(JSON.stringify({ source: b.source, mtimeFixed: b.mtimeFixed }) + '\n');
  process.exit(0);
}
if (mode === 'load-stock') {
  createRequire(import.meta.url)('fuse-native');
  process.stdout.write('{"loaded":true}\n');
  process.exit(0);
}
if (mode !== 'serve') {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}

const send = (m) => process.send?.(m);
const b = (p) => path.join(backing, p);
const errno = (err) => (err && typeof err.errno === 'number' ? err.errno : -5);
let maxWrite = 0;
const utimensLog = [];

const ops = {
  getattr: (p, cb) => fs.lstat(b(p), (err, st) => (err ? cb(errno(err)) : cb(0, st))),
  readdir: (p, cb) => fs.readdir(b(p), (err, names) => (err ? cb(errno(err)) : cb(0, names))),
  open: (p, flags, cb) => fs.open(b(p), flags, (err, fd) => (err ? cb(errno(err)) : cb(0, fd))),
  create: (p, mode, cb) => fs.open(b(p), fs.constants.O_CREAT | fs.constants.O_RDWR, mode, (err, fd) => (err ? cb(errno(err)) : cb(0, fd))),
  release: (p, fd, cb) => fs.close(fd, (err) => cb(err ? errno(err) : 0)),
  read: (p, fd, buf, len, pos, cb) => fs.read(fd, buf, 0, len, pos, (err, n) => cb(err ? errno(err) : n)),
  write: (p, fd, buf, len, pos, cb) => {
    maxWrite = Math.max(maxWrite, len);
    fs.write(fd, buf, 0, len, pos, (err, n) => cb(err ? errno(err) : n));
  },
  truncate: (p, size, cb) => fs.truncate(b(p), size, (err) => cb(err ? errno(err) : 0)),
  ftruncate: (p, fd, size, cb) => fs.ftruncate(fd, size, (err) => cb(err ? errno(err) : 0)),
  unlink: (p, cb) => fs.unlink(b(p), (err) => cb(err ? errno(err) : 0)),
  utimens: (p, atime, mtime, cb) => {
    utimensLog.push({ path: p, atime, mtime });
    fs.lstat(b(p), (err, st) => {
      if (err) return cb(errno(err));
      const a = fuseTimeToSeconds(atime, st.atimeMs / 1000);
      const m = fuseTimeToSeconds(mtime, st.mtimeMs / 1000);
      fs.utimes(b(p), a, m, (e) => cb(e ? errno(e) : 0));
    });
  },
};

const binding = loader.loadFuse({ allowPatched: process.env.JJFS_TEST_FUSE_SOURCE !== 'prebuild' });
const fuse = loader.createFuse(mnt, ops, JSON.parse(optsJson || '{}'), binding);

function stop(code) {
  fuse.unmount((err) => {
    if (err) process.stderr.write(`unmount failed: ${err.message}\n`);
    process.exit(err ? 1 : code);
  });
}

process.on('message', (m) => {
  if (m?.type === 'stats') send({ type: 'stats', maxWrite, utimens: utimensLog });
  if (m?.type === 'unmount') stop(0);
});
process.on('SIGTERM', () => stop(0));

fuse.mount((err) => {
  if (err) {
    send({ type: 'error', message: err.message });
    process.stderr.write(`mount failed: ${err.message}\n`);
    process.exit(1);
  }
  send({ type: 'mounted', source: binding.source, mtimeFixed: binding.mtimeFixed });
});
