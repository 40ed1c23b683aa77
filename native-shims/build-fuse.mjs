#!/usr/bin/env node
// Builds a patched copy of fuse-native into native-shims/build/fuse-native/ (gitignored).
//
// Why: fuse-native 2.2.6 hands `utimens` the access time twice, so the real mtime is lost, and
// UTIME_NOW / UTIME_OMIT are flattened to ~1073 ms (indistinguishable). The patch (see PATCHES
// below) passes the real mtime and, in four extra arguments, the raw seconds + nanoseconds of both
// times, so the JS side can recognise UTIME_NOW / UTIME_OMIT. src/fs/fuse-loader.ts prefers this
// build and falls back to the stock prebuild (reporting `mtimeFixed: false`).
//
// Rules: never downloads anything (uses local node headers only), skips the rebuild when a hash of
// (patched sources + this script + node ABI) is unchanged, and NEVER fails `npm ci`: any problem
// prints a warning and exits 0. Run: `node native-shims/build-fuse.mjs [--force]`.

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const buildRoot = path.join(here, 'build');
const target = path.join(buildRoot, 'fuse-native');
const STAMP = '.jjfs-build.json';

/**
 * Exact text replacements applied to fuse-native.c. Each `find` must occur exactly once, otherwise
 * the build is abandoned (a different fuse-native version needs a reviewed patch, not a guess).
 *
 * utimens: callbackArgs 5 -> 9. argv[3..6] keep the old (ms low/high) layout, but now carry atime
 * AND mtime; argv[7..10] are atime tv_sec (int64, signed), atime tv_nsec, mtime tv_sec, mtime
 * tv_nsec. tv_nsec is passed raw, so UTIME_NOW (2^30-1) and UTIME_OMIT (2^30-2) survive.
 * `l->buf` (unused by utimens) holds the caller's `tv`: the FUSE thread blocks on the semaphore
 * until JS has answered, so the array outlives the dispatch that reads it.
 */
const PATCHES = [
  {
    name: 'utimens: pass the real mtime and raw timespecs',
    find: `FUSE_METHOD_VOID(utimens, 5, 0, (const char *path, const struct timespec tv[2]), {
  l->path = path;
  l->atime = timespec_to_uint64(&tv[0]);
  l->mtime = timespec_to_uint64(&tv[1]);
}, {
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)
  FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)
})`,
    replace: `FUSE_METHOD_VOID(utimens, 9, 0, (const char *path, const struct timespec tv[2]), {
  l->path = path;
  l->atime = timespec_to_uint64(&tv[0]);
  l->mtime = timespec_to_uint64(&tv[1]);
  l->buf = tv; /* jjfs: valid while this FUSE thread waits for the JS answer */
}, {
  const struct timespec *jjfs_tv = (const struct timespec *) l->buf;
  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));
  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)
  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5) /* jjfs: was l->atime */
  napi_create_int64(env, (int64_t) jjfs_tv[0].tv_sec, &(argv[7]));
  napi_create_uint32(env, (uint32_t) jjfs_tv[0].tv_nsec, &(argv[8]));
  napi_create_int64(env, (int64_t) jjfs_tv[1].tv_sec, &(argv[9]));
  napi_create_uint32(env, (uint32_t) jjfs_tv[1].tv_nsec, &(argv[10]));
})`,
  },
  {
    // Without this flag libfuse 2.9 (fuse.c, fuse_lib_setattr) only calls utimens when BOTH times
    // are being set, and fills them from the kernel's values: `touch -m` / `touch -a` (one time
    // set, the other UTIME_OMIT) never reach us at all, yet succeed. With it, libfuse calls
    // utimens for every time change and passes UTIME_NOW / UTIME_OMIT through, which the JS side
    // (src/fs/fuse-loader.ts) decodes.
    name: 'utimens: accept UTIME_NOW / UTIME_OMIT',
    find: `  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;`,
    replace: `  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;
  ops.flag_utime_omit_ok = 1; /* jjfs */`,
  },
  {
    // An open with O_TRUNC of an existing file (every editor save, every rewrite by an agent)
    // sends a SETATTR that libfuse turns into truncate, then utimens: both answered in C while the
    // gate is open ("lookups and attributes: the handlers in front"), two JS round trips fewer.
    name: 'attributes: utimens installed',
    find: `  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;
  ops.flag_utime_omit_ok = 1; /* jjfs */`,
    replace: `  if (implemented[op_utimens]) ops.utimens = jjfs_op_utimens; /* jjfs_utimens is the NAPI one */
  ops.flag_utime_omit_ok = 1; /* jjfs */`,
  },
  {
    name: 'attributes: truncate installed',
    find: `  if (implemented[op_truncate]) ops.truncate = fuse_native_truncate;`,
    replace: `  if (implemented[op_truncate]) ops.truncate = jjfs_truncate;`,
  },
  {
    // Lets the loader prove at runtime that it has the patched binary (not a stray stock build).
    name: 'export a marker',
    find: `  NAPI_EXPORT_UINT32(op_utimens)`,
    replace: `  NAPI_EXPORT_UINT32(op_utimens)
  NAPI_EXPORT_UINT32(jjfs_utimens_patch)`,
  },
  {
    // A child process that inherits the /dev/fuse descriptor keeps the FUSE connection open after
    // the daemon dies: the mount then hangs instead of failing with ENOTCONN (and cannot be
    // cleared until every such child exits). libfuse 2.9 opens it without O_CLOEXEC.
    name: 'keep /dev/fuse out of child processes',
    find: `  struct fuse *fuse = fuse_new(ch, &args, &ops, sizeof(struct fuse_operations), ft);`,
    replace: `  fcntl(fuse_chan_fd(ch), F_SETFD, FD_CLOEXEC);
  struct fuse *fuse = fuse_new(ch, &args, &ops, sizeof(struct fuse_operations), ft);`,
  },
  {
    // dup3 (src/fs/mount.ts, "Open files on the FUSE thread"): glibc declares it with _GNU_SOURCE,
    // which must come before the first system header.
    name: 'declare GNU extensions',
    find: `#define FUSE_USE_VERSION 29`,
    replace: `#define _GNU_SOURCE
#define FUSE_USE_VERSION 29`,
  },
  {
    name: 'include fcntl.h',
    find: `#include <unistd.h>`,
    replace: `#include <unistd.h>
#include <fcntl.h>`,
  },
  {
    // Caller pid (fuse_get_context()->pid) of the request being dispatched to JS: the announcer
    // (src/fs/announce.ts) tells its own notifier process apart from everyone else, so only the
    // notifier is shown the hidden/ghost paths it replays. Recorded on the FUSE thread, published
    // on the main thread right before the JS handler runs (handlers read it synchronously).
    name: 'record the caller pid per request',
    find: `  // Opcode
  uint32_t op;
  void *op_fn;`,
    replace: `  // Opcode
  uint32_t op;
  void *op_fn;
  pid_t jjfs_pid;
  uid_t jjfs_uid;
  gid_t jjfs_gid;`,
  },
  {
    name: 'capture the caller pid on the FUSE thread',
    find: `  l->op = op_##name;\\
  l->op_fn = fuse_native_dispatch_##name;\\`,
    replace: `  l->op = op_##name;\\
  l->jjfs_pid = fuse_get_context()->pid;\\
  l->jjfs_uid = fuse_get_context()->uid;\\
  l->jjfs_gid = fuse_get_context()->gid;\\
  l->op_fn = fuse_native_dispatch_##name;\\`,
  },
  {
    name: 'publish the caller pid before the JS handler runs',
    find: `      napi_create_uint32(env, l->op, &(argv[1]));\\`,
    replace: `      jjfs_current_pid = l->jjfs_pid;\\
      jjfs_current_uid = l->jjfs_uid;\\
      jjfs_current_gid = l->jjfs_gid;\\
      napi_create_uint32(env, l->op, &(argv[1]));\\`,
  },
  {
    name: 'export the caller pid',
    find: `NAPI_INIT() {`,
    replace: `NAPI_METHOD(jjfs_caller_pid) {
  NAPI_RETURN_INT32(jjfs_current_pid)
}

NAPI_INIT() {`,
  },
  {
    name: 'export the caller pid function',
    find: `  NAPI_EXPORT_FUNCTION(fuse_native_mount)`,
    replace: `  NAPI_EXPORT_FUNCTION(fuse_native_mount)
  NAPI_EXPORT_FUNCTION(jjfs_caller_pid)`,
  },
  {
    // Nanosecond times in getattr/fgetattr/readdir: fuse-native carries times as milliseconds. The
    // patched index.js (INDEX_PATCHES) appends three uint32 (the nanoseconds within the millisecond
    // of atime, mtime, ctime) to each stat array; they are added only when the array is that long,
    // so a stat array of the stock shape still reads as before. `populate_stat(ints, st)` call sites
    // all name their buffer with the `_len` napi-macros defines next to it.
    name: 'stat: nanoseconds within the millisecond',
    find: `static void populate_stat (uint32_t *ints, struct stat* stat) {`,
    replace: `#define populate_stat(ints, st) jjfs_populate_stat(ints, ints##_len, st)
static void jjfs_populate_stat (uint32_t *ints, size_t jjfs_len, struct stat* stat) {
  uint32_t *jjfs_nsec = jjfs_len >= 21 * sizeof(uint32_t) ? ints + 18 : NULL;`,
  },
  {
    name: 'stat: add the nanoseconds',
    find: `  uint32s_to_timespec(&stat->st_atim, &ints);
  uint32s_to_timespec(&stat->st_mtim, &ints);
  uint32s_to_timespec(&stat->st_ctim, &ints);
#endif
}`,
    replace: `  uint32s_to_timespec(&stat->st_atim, &ints);
  uint32s_to_timespec(&stat->st_mtim, &ints);
  uint32s_to_timespec(&stat->st_ctim, &ints);
  if (jjfs_nsec != NULL && jjfs_nsec[0] < 1000000 && jjfs_nsec[1] < 1000000 && jjfs_nsec[2] < 1000000) {
    stat->st_atim.tv_nsec += jjfs_nsec[0];
    stat->st_mtim.tv_nsec += jjfs_nsec[1];
    stat->st_ctim.tv_nsec += jjfs_nsec[2];
  }
#endif
}`,
  },
  {
    // Syscalls Node has no API for, called synchronously by the pass-through on the BACKING
    // directory (never a mount): mknod(2) for FIFOs, sockets and device nodes, and utimensat(2)
    // with exact nanoseconds and UTIME_NOW / UTIME_OMIT passed through (Node's utimes takes a
    // double of seconds: sub-microsecond digits are lost). One metadata syscall on a local file
    // system takes microseconds, less than a hop to the libuv pool. Both answer 0 or -errno.
    name: 'export mknod and utimensat',
    find: `NAPI_METHOD(jjfs_caller_pid) {`,
    replace: `NAPI_METHOD(jjfs_mknod) {
  NAPI_ARGV(3)
  NAPI_ARGV_UTF8(path, 4096, 0)
  NAPI_ARGV_UINT32(mode, 1)
  NAPI_ARGV_UINT32(dev, 2)
  int32_t result = -ENAMETOOLONG;
  if (path_len < 4095) result = mknod(path, (mode_t) mode, (dev_t) dev) == 0 ? 0 : -errno;
  NAPI_RETURN_INT32(result)
}

NAPI_METHOD(jjfs_utimens) {
  NAPI_ARGV(5)
  NAPI_ARGV_UTF8(path, 4096, 0)
  int64_t asec = 0, msec = 0;
  NAPI_STATUS_THROWS(napi_get_value_int64(env, argv[1], &asec))
  NAPI_ARGV_UINT32(ansec, 2)
  NAPI_STATUS_THROWS(napi_get_value_int64(env, argv[3], &msec))
  NAPI_ARGV_UINT32(mnsec, 4)
  struct timespec ts[2] = { { .tv_sec = (time_t) asec, .tv_nsec = (long) ansec }, { .tv_sec = (time_t) msec, .tv_nsec = (long) mnsec } };
  int32_t result = -ENAMETOOLONG;
  if (path_len < 4095) result = utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
  NAPI_RETURN_INT32(result)
}

/* Extended attributes of the backing file itself (l*: never following a symlink; the kernel has
   already resolved links on the way to us). get/list answer a Buffer, or a negative errno. */
NAPI_METHOD(jjfs_lsetxattr) {
  NAPI_ARGV(4)
  NAPI_ARGV_UTF8(path, 4096, 0)
  NAPI_ARGV_UTF8(name, 256, 1)
  NAPI_ARGV_BUFFER(value, 2)
  NAPI_ARGV_INT32(flags, 3)
  int32_t result = -ENAMETOOLONG;
  if (path_len < 4095 && name_len < 255) result = lsetxattr(path, name, value, value_len, flags) == 0 ? 0 : -errno;
  NAPI_RETURN_INT32(result)
}

NAPI_METHOD(jjfs_lremovexattr) {
  NAPI_ARGV(2)
  NAPI_ARGV_UTF8(path, 4096, 0)
  NAPI_ARGV_UTF8(name, 256, 1)
  int32_t result = -ENAMETOOLONG;
  if (path_len < 4095 && name_len < 255) result = lremovexattr(path, name) == 0 ? 0 : -errno;
  NAPI_RETURN_INT32(result)
}

/* Reads an attribute (name != NULL) or the list of names: asks the size, then reads, again if the
   value grew in between (ERANGE). */
static napi_value jjfs_xattr_read (napi_env env, const char *path, const char *name) {
  napi_value out;
  for (int attempt = 0; attempt < 4; attempt++) {
    ssize_t size = name ? lgetxattr(path, name, NULL, 0) : llistxattr(path, NULL, 0);
    if (size < 0) break;
    char *buf = malloc(size > 0 ? size : 1);
    if (buf == NULL) { errno = ENOMEM; break; }
    ssize_t got = name ? lgetxattr(path, name, buf, size) : llistxattr(path, buf, size);
    if (got >= 0) {
      napi_status st = napi_create_buffer_copy(env, got, buf, NULL, &out);
      free(buf);
      if (st != napi_ok) { errno = ENOMEM; break; }
      return out;
    }
    int saved = errno;
    free(buf);
    errno = saved;
    if (errno != ERANGE) break;
  }
  napi_create_int32(env, -errno, &out);
  return out;
}

NAPI_METHOD(jjfs_lgetxattr) {
  NAPI_ARGV(2)
  NAPI_ARGV_UTF8(path, 4096, 0)
  NAPI_ARGV_UTF8(name, 256, 1)
  if (path_len >= 4095 || name_len >= 255) {
    napi_value too_long;
    napi_create_int32(env, -ENAMETOOLONG, &too_long);
    return too_long;
  }
  return jjfs_xattr_read(env, path, name);
}

NAPI_METHOD(jjfs_llistxattr) {
  NAPI_ARGV(1)
  NAPI_ARGV_UTF8(path, 4096, 0)
  if (path_len >= 4095) {
    napi_value too_long;
    napi_create_int32(env, -ENAMETOOLONG, &too_long);
    return too_long;
  }
  return jjfs_xattr_read(env, path, NULL);
}

NAPI_METHOD(jjfs_caller_uid) {
  NAPI_RETURN_INT32((int32_t) jjfs_current_uid)
}

NAPI_METHOD(jjfs_caller_gid) {
  NAPI_RETURN_INT32((int32_t) jjfs_current_gid)
}

NAPI_METHOD(jjfs_caller_pid) {`,
  },
  {
    name: 'export the syscall functions',
    find: `  NAPI_EXPORT_FUNCTION(jjfs_caller_pid)`,
    replace: `  NAPI_EXPORT_FUNCTION(jjfs_caller_pid)
  NAPI_EXPORT_FUNCTION(jjfs_caller_uid)
  NAPI_EXPORT_FUNCTION(jjfs_caller_gid)
  NAPI_EXPORT_FUNCTION(jjfs_mknod)
  NAPI_EXPORT_FUNCTION(jjfs_utimens)
  NAPI_EXPORT_FUNCTION(jjfs_lsetxattr)
  NAPI_EXPORT_FUNCTION(jjfs_lgetxattr)
  NAPI_EXPORT_FUNCTION(jjfs_llistxattr)
  NAPI_EXPORT_FUNCTION(jjfs_lremovexattr)
  NAPI_EXPORT_UINT32(jjfs_syscalls_patch)`,
  },
  {
    name: 'include sys/stat.h and errno.h',
    find: `#include <fcntl.h>`,
    replace: `#include <fcntl.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <dirent.h>`,
  },
  {
    // The kernel reads security.capability before EVERY write(2) to a file (to drop file
    // capabilities from a written file) once a file system has getxattr: through the JS thread
    // that costs 20-30% of small-write throughput (measured: dd 8000 x 4 KiB, 2.5-2.8 s against
    // 1.7-2.4 s). Mounts are nosuid, where file capabilities have no effect, so the mount stores
    // none: reading says ENODATA right here on the FUSE thread, setting says ENOTSUP. In a handler
    // of its own in front of fuse-native's, whose first call on each libfuse worker thread sets the
    // thread up through the JS thread: a write on a fresh worker thread must not wait for JS.
    name: 'getxattr: no file capabilities, answered on the FUSE thread',
    find: `  if (implemented[op_getxattr]) ops.getxattr = fuse_native_getxattr;`,
    replace: `  if (implemented[op_getxattr]) ops.getxattr = jjfs_getxattr;`,
  },
  {
    // getattr (LOOKUP and GETATTR) answered on the FUSE thread while the JS side allows it
    // (src/fs/mount.ts, "getattr and readdir without the JS thread"): an lstat of the backing path, shaped as
    // the JS getattr shapes it (inode, device numbers to 32 bits as fuse-native's stat array
    // carries them; nlink at least 1), `.jj` at the root absent. The in-flight count is raised
    // BEFORE the flag is read and the JS side clears the flag BEFORE it reads the count (both
    // sequentially consistent): either this thread sees the flag down and asks JS, or the hold
    // waits for this lstat to finish.
    // Installed in front of fuse-native's handler, which must not run first: its first call on
    // each libfuse worker thread sets the thread up through the JS thread.
    name: 'getattr: answered on the FUSE thread when allowed',
    find: `  if (implemented[op_getattr]) ops.getattr = fuse_native_getattr;`,
    replace: `  if (implemented[op_getattr]) ops.getattr = jjfs_getattr;`,
  },
  {
    // Listings the kernel keeps (jjfs_listing_answer): an opendir handler that chooses the flags of
    // the OPENDIR answer. fuse-native installs none (the JS side implements no opendir).
    name: 'opendir: the listing decision installed',
    find: `  if (implemented[op_opendir]) ops.opendir = fuse_native_opendir;`,
    replace: `  if (implemented[op_opendir]) ops.opendir = fuse_native_opendir;
  else ops.opendir = jjfs_opendir;`,
  },
  {
    name: 'readdir: answered on the FUSE thread when allowed',
    find: `  if (implemented[op_readdir]) ops.readdir = fuse_native_readdir;`,
    replace: `  if (implemented[op_readdir]) ops.readdir = jjfs_readdir;`,
  },
  {
    // Read-only opens, their reads, fsyncs and releases answered on the FUSE thread (src/fs/mount.ts,
    // "Open files on the FUSE thread"). An open is answered there under the same flag and
    // in-flight count as getattr; its handle number has bit 31 set (the JS table's stay below it,
    // src/fs/handles.ts), so every later request on it is recognised and never reaches JS, which
    // does not know it. Everything else goes to fuse-native's handlers as before.
    name: 'open files: the handlers installed',
    find: `  if (implemented[op_open]) ops.open = fuse_native_open;`,
    replace: `  if (implemented[op_open]) ops.open = jjfs_open;`,
  },
  {
    name: 'open files: read installed',
    find: `  if (implemented[op_read]) ops.read = fuse_native_read;`,
    replace: `  if (implemented[op_read]) ops.read = jjfs_read;`,
  },
  {
    name: 'open files: release installed',
    find: `  if (implemented[op_release]) ops.release = fuse_native_release;`,
    replace: `  if (implemented[op_release]) ops.release = jjfs_release;`,
  },
  {
    // fgetattr as the JS one answers it (by path: src/fs/passthrough.ts): libfuse asks it after
    // every create and ftruncate, and for fstat.
    name: 'open files: fgetattr installed',
    find: `  if (implemented[op_fgetattr]) ops.fgetattr = fuse_native_fgetattr;`,
    replace: `  if (implemented[op_fgetattr]) ops.fgetattr = jjfs_fgetattr;`,
  },
  {
    name: 'open files: write installed',
    find: `  if (implemented[op_write]) ops.write = fuse_native_write;`,
    replace: `  if (implemented[op_write]) ops.write = jjfs_write;`,
  },
  {
    name: 'open files: ftruncate installed',
    find: `  if (implemented[op_ftruncate]) ops.ftruncate = fuse_native_ftruncate;`,
    replace: `  if (implemented[op_ftruncate]) ops.ftruncate = jjfs_ftruncate;`,
  },
  {
    name: 'open files: create installed',
    find: `  if (implemented[op_create]) ops.create = fuse_native_create;`,
    replace: `  if (implemented[op_create]) ops.create = jjfs_create;`,
  },
  {
    // unlink, rmdir and rename as the JS ones make them (src/fs/ops-names.ts): one syscall each,
    // noted first, while the gate is open and the mount writes on this thread (mount.ts, "Writes
    // on the FUSE thread"). The kernel updates its own cached names for changes made through it.
    name: 'names: unlink installed',
    find: `  if (implemented[op_unlink]) ops.unlink = fuse_native_unlink;`,
    replace: `  if (implemented[op_unlink]) ops.unlink = jjfs_unlink;`,
  },
  {
    name: 'names: rename installed',
    find: `  if (implemented[op_rename]) ops.rename = fuse_native_rename;`,
    replace: `  if (implemented[op_rename]) ops.rename = jjfs_rename;`,
  },
  {
    name: 'names: rmdir installed',
    find: `  if (implemented[op_rmdir]) ops.rmdir = fuse_native_rmdir;`,
    replace: `  if (implemented[op_rmdir]) ops.rmdir = jjfs_rmdir;`,
  },
  {
    // access (git asks it of hooks and files in .git, ~300 µs each through JS) and statfs (find and
    // grep ask it of each tree) answered on the FUSE thread as getattr is.
    name: 'lookups: access installed',
    find: `  if (implemented[op_access]) ops.access = fuse_native_access;`,
    replace: `  if (implemented[op_access]) ops.access = jjfs_access;`,
  },
  {
    name: 'lookups: statfs installed',
    find: `  if (implemented[op_statfs]) ops.statfs = fuse_native_statfs;`,
    replace: `  if (implemented[op_statfs]) ops.statfs = jjfs_statfs;`,
  },
  {
    name: 'lookups and attributes: the handlers in front',
    find: `static fuse_thread_locals_t* get_thread_locals () {`,
    replace: `static int jjfs_access (const char *path, int mode) {
  int fast = jjfs_fast_access(path, mode);
  return fast != JJFS_TO_JS ? fast : fuse_native_access(path, mode);
}

static int jjfs_statfs (const char *path, struct statvfs *st) {
  int fast = jjfs_fast_statfs(st);
  return fast != JJFS_TO_JS ? fast : fuse_native_statfs(path, st);
}

static int jjfs_truncate (const char *path, off_t size) {
  int fast = jjfs_fast_truncate(path, size);
  return fast != JJFS_TO_JS ? fast : fuse_native_truncate(path, size);
}

static int jjfs_op_utimens (const char *path, const struct timespec tv[2]) {
  int fast = jjfs_fast_utimens(path, tv);
  return fast != JJFS_TO_JS ? fast : fuse_native_utimens(path, tv);
}

static fuse_thread_locals_t* get_thread_locals () {`,
  },
  {
    name: 'open files: fsync installed',
    find: `  if (implemented[op_fsync]) ops.fsync = fuse_native_fsync;`,
    replace: `  if (implemented[op_fsync]) ops.fsync = jjfs_fsync;`,
  },
  {
    name: 'open files: the handlers in front',
    find: `static fuse_thread_locals_t* get_thread_locals () {`,
    replace: `static int jjfs_open (const char *path, struct fuse_file_info *info) {
  int fast = jjfs_fast_open(path, info);
  return fast != JJFS_TO_JS ? fast : fuse_native_open(path, info);
}

static int jjfs_getxattr (const char *path, const char *name, char *value, size_t size) {
  if (strcmp(name, "security.capability") == 0) return -ENODATA;
  return fuse_native_getxattr(path, name, value, size);
}

static int jjfs_setxattr (const char *path, const char *name, const char *value, size_t size, int flags) {
  if (strcmp(name, "security.capability") == 0) return -ENOTSUP;
  return fuse_native_setxattr(path, name, value, size, flags);
}

static int jjfs_fgetattr (const char *path, struct stat *stat, struct fuse_file_info *info) {
  int fast = path != NULL ? jjfs_fast_getattr(path, stat) : JJFS_TO_JS;
  return fast != JJFS_TO_JS ? fast : fuse_native_fgetattr(path, stat, info);
}

static int jjfs_unlink (const char *path) {
  int fast = jjfs_fast_remove(path, 0);
  return fast != JJFS_TO_JS ? fast : fuse_native_unlink(path);
}

static int jjfs_rmdir (const char *path) {
  int fast = jjfs_fast_remove(path, 1);
  return fast != JJFS_TO_JS ? fast : fuse_native_rmdir(path);
}

static int jjfs_rename (const char *path, const char *dest) {
  int fast = jjfs_fast_rename(path, dest);
  return fast != JJFS_TO_JS ? fast : fuse_native_rename(path, dest);
}

static int jjfs_create (const char *path, mode_t mode, struct fuse_file_info *info) {
  int fast = jjfs_fast_create(path, mode, info);
  return fast != JJFS_TO_JS ? fast : fuse_native_create(path, mode, info);
}

/* Reads, writes, truncations and fsyncs on a handle of the table are answered here; one that waits
   on the disk for long is replaced as reader by the request loop's lookout ("the request loop"). */
static int jjfs_write (const char *path, const char *buf, size_t len, off_t offset, struct fuse_file_info *info) {
  int fast = info != NULL && (info->fh & JJFS_FH_BIT) != 0 ? jjfs_file_write(path, buf, len, offset, info->fh) : JJFS_TO_JS;
  return fast != JJFS_TO_JS ? fast : fuse_native_write(path, buf, len, offset, info);
}

static int jjfs_ftruncate (const char *path, off_t size, struct fuse_file_info *info) {
  int fast = info != NULL && (info->fh & JJFS_FH_BIT) != 0 ? jjfs_file_ftruncate(path, size, info->fh) : JJFS_TO_JS;
  return fast != JJFS_TO_JS ? fast : fuse_native_ftruncate(path, size, info);
}

static int jjfs_read (const char *path, char *buf, size_t len, off_t offset, struct fuse_file_info *info) {
  return info != NULL && (info->fh & JJFS_FH_BIT) != 0 ? jjfs_file_read(path, buf, len, offset, info->fh) : fuse_native_read(path, buf, len, offset, info);
}

static int jjfs_fsync (const char *path, int datasync, struct fuse_file_info *info) {
  return info != NULL && (info->fh & JJFS_FH_BIT) != 0 ? jjfs_file_fsync(path, datasync, info->fh) : fuse_native_fsync(path, datasync, info);
}

static int jjfs_release (const char *path, struct fuse_file_info *info) {
  if (info != NULL && (info->fh & JJFS_FH_BIT) != 0) return jjfs_file_release(info->fh);
  return fuse_native_release(path, info);
}

static fuse_thread_locals_t* get_thread_locals () {`,
  },
  {
    name: 'readdir: the handler in front',
    find: `static fuse_thread_locals_t* get_thread_locals () {`,
    replace: `static int jjfs_readdir (const char *path, void *buf, fuse_fill_dir_t filler, off_t offset, struct fuse_file_info *info) {
  fuse_thread_t *ft = (fuse_thread_t *) fuse_get_context()->private_data;
  if (ft != NULL) __atomic_add_fetch(&ft->jjfs_listing_reads, 1, __ATOMIC_RELAXED);
  int fast = jjfs_fast_readdir(path, buf, filler);
  return fast != JJFS_TO_JS ? fast : fuse_native_readdir(path, buf, filler, offset, info);
}

static fuse_thread_locals_t* get_thread_locals () {`,
  },
  {
    name: 'getattr: the handler in front',
    find: `FUSE_METHOD(fgetattr, 2, 1,`,
    replace: `static int jjfs_getattr (const char *path, struct stat *stat) {
  int fast = jjfs_fast_getattr(path, stat);
  return fast != JJFS_TO_JS ? fast : fuse_native_getattr(path, stat);
}

FUSE_METHOD(fgetattr, 2, 1,`,
  },
  {
    name: 'getattr: the FUSE-thread answer',
    find: `#define populate_stat(ints, st) jjfs_populate_stat(ints, ints##_len, st)`,
    replace: `/* What a FUSE-thread answer returns to hand the request to fuse-native's (JS) handler: never an
   errno (negative, small) nor a byte count (a write of 1 byte answers 1). */
#define JJFS_TO_JS (-0x40000000)

/* Writes the backing path of mount path into full: 0, or -1 when it does not fit. */
static int jjfs_backing_path (const fuse_thread_t *ft, const char *path, char *full, size_t full_size) {
  size_t len = strlen(path);
  if (ft->jjfs_root_len + len >= full_size) return -1;
  memcpy(full, ft->jjfs_root, ft->jjfs_root_len);
  if (len == 1 && path[0] == '/') full[ft->jjfs_root_len] = '\\0';
  else memcpy(full + ft->jjfs_root_len, path, len + 1);
  return 0;
}

/* Enters the FUSE-thread answer for path (see the getattr patch): ft with full set to the backing
   path (unless full is NULL) and the in-flight count raised, or NULL when JS must answer.
   jjfs_fast_leave(ft) after. */
static fuse_thread_t *jjfs_fast_enter (const char *path, char *full, size_t full_size) {
  fuse_thread_t *ft = (fuse_thread_t *) fuse_get_context()->private_data;
  if (ft == NULL || ft->jjfs_root_len == 0) return NULL;
  /* Checked before entering: the path is built below, where it can no longer fail. */
  if (full != NULL && ft->jjfs_root_len + strlen(path) >= full_size) return NULL;
  __atomic_add_fetch(&ft->jjfs_inflight, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&ft->jjfs_fast, __ATOMIC_SEQ_CST) != 1) {
    __atomic_sub_fetch(&ft->jjfs_inflight, 1, __ATOMIC_SEQ_CST);
    return NULL;
  }
  if (full != NULL) jjfs_backing_path(ft, path, full, full_size); /* NULL: a request on a handle */
  return ft;
}

static void jjfs_fast_leave (fuse_thread_t *ft) {
  __atomic_sub_fetch(&ft->jjfs_inflight, 1, __ATOMIC_SEQ_CST);
}

static int jjfs_is_dotjj (const char *path) {
  return strncmp(path, "/.jj", 4) == 0 && (path[4] == '\\0' || path[4] == '/');
}

/* 0 or -errno when answered here, JJFS_TO_JS when JS must answer (see the getattr patch). */
static int jjfs_fast_getattr (const char *path, struct stat *st) {
  if (jjfs_is_dotjj(path)) return -ENOENT;
  char full[4096];
  fuse_thread_t *ft = jjfs_fast_enter(path, full, sizeof(full));
  if (ft == NULL) return JJFS_TO_JS;
  int res = lstat(full, st) == 0 ? 0 : -errno;
  jjfs_fast_leave(ft);
  if (res == 0) {
    st->st_ino = (uint32_t) st->st_ino;
    if (st->st_ino == 0) st->st_ino = 1;
    st->st_dev = (uint32_t) st->st_dev;
    st->st_rdev = (uint32_t) st->st_rdev;
    if (st->st_nlink == 0) st->st_nlink = 1;
  }
  return res;
}

/* access the same way, as the JS access answers (src/fs/ops-lookup.ts): .jj hidden; a check for
   writing only while this mount writes here (never on a read-only view, whose JS access answers
   EROFS). Never following a symlink, as lstat: the kernel resolved every link on the way here, and
   one followed from the backing directory could lead into a mount of this process, which a
   synchronous call must never reach. */
static fuse_thread_t *jjfs_write_enter (const char *path, char *full, size_t full_size, int level);

static int jjfs_fast_access (const char *path, int mode) {
  if (jjfs_is_dotjj(path)) return -ENOENT;
  char full[4096];
  fuse_thread_t *ft = (mode & W_OK) != 0 ? jjfs_write_enter(path, full, sizeof(full), 1) : jjfs_fast_enter(path, full, sizeof(full));
  if (ft == NULL) return JJFS_TO_JS;
  int res = faccessat(AT_FDCWD, full, mode, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
  jjfs_fast_leave(ft);
  return res;
}

/* statfs of the backing root whatever the path, as the JS statfs (the kernel takes the counts,
   sizes and name length; the flags come from the mount). */
static int jjfs_fast_statfs (struct statvfs *st) {
  char full[4096];
  fuse_thread_t *ft = jjfs_fast_enter("/", full, sizeof(full));
  if (ft == NULL) return JJFS_TO_JS;
  int res = statvfs(full, st) == 0 ? 0 : -errno;
  jjfs_fast_leave(ft);
  return res;
}

/* readdir the same way, as the JS readdir lists (src/fs/ops-lookup.ts): every entry with its
   32-bit inode number and type, .jj left out at the root, .. of the root being the root. An
   entry of unknown type is lstat'ed, and left out if it is gone by then. */
static int jjfs_fast_readdir (const char *path, void *buf, fuse_fill_dir_t filler) {
  if (jjfs_is_dotjj(path)) return -ENOENT;
  char full[4096];
  fuse_thread_t *ft = jjfs_fast_enter(path, full, sizeof(full));
  if (ft == NULL) return JJFS_TO_JS;
  int root = path[0] == '/' && path[1] == '\\0';
  DIR *dir = opendir(full);
  if (dir == NULL) {
    int res = -errno;
    jjfs_fast_leave(ft);
    return res;
  }
  struct stat self;
  int res = fstat(dirfd(dir), &self) == 0 ? 0 : -errno;
  struct dirent *e;
  while (res == 0) {
    errno = 0;
    e = readdir(dir);
    if (e == NULL) {
      res = -errno;
      break;
    }
    if (root && strcmp(e->d_name, ".jj") == 0) continue;
    struct stat st;
    memset(&st, 0, sizeof(st));
    if (e->d_type == DT_UNKNOWN) {
      if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    } else {
      st.st_ino = e->d_ino;
      st.st_mode = (mode_t) e->d_type << 12; /* DTTOIF */
    }
    if (root && strcmp(e->d_name, "..") == 0) st.st_ino = self.st_ino;
    st.st_ino = (uint32_t) st.st_ino;
    if (st.st_ino == 0) st.st_ino = 1;
    if (filler(buf, e->d_name, &st, 0) == 1) break;
  }
  closedir(dir);
  jjfs_fast_leave(ft);
  return res;
}

/* What a backing path was when an open last looked at it: its device, inode, size, mtime and
   ctime, and whether it had settled then (see jjfs_listing_answer; files always count as settled).
   One table per use for the process (a backing path belongs to one mount), emptied when it
   reaches JJFS_SIG_MAX paths (memory bound; an empty table only costs one more read). */
#define JJFS_SIG_BUCKETS 16384
#define JJFS_SIG_MAX 50000
typedef struct jjfs_sig {
  struct jjfs_sig *next;
  uint64_t hash;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  struct timespec ctime;
  int settled;
  char path[];
} jjfs_sig_t;
typedef struct jjfs_sig_table {
  pthread_mutex_t mut;
  jjfs_sig_t *buckets[JJFS_SIG_BUCKETS];
  size_t count;
} jjfs_sig_table_t;
/* Pages kept across opens (src/fs/ops-files.ts, "Page cache"): used by opens on the FUSE thread
   and by the JS open alike. */
static jjfs_sig_table_t jjfs_pages = { PTHREAD_MUTEX_INITIALIZER, { NULL }, 0 };
/* Listings kept across opens of a directory (jjfs_listing_answer). */
static jjfs_sig_table_t jjfs_listings = { PTHREAD_MUTEX_INITIALIZER, { NULL }, 0 };

static int jjfs_same_time (const struct timespec *a, const struct timespec *b) {
  return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* 1 when the path full is, as st describes it, what it was when this table last saw it, and had
   settled then. Records st and settled otherwise (also when only settled changed). */
static int jjfs_seen_unchanged (jjfs_sig_table_t *t, const char *full, const struct stat *st, int settled) {
  uint64_t hash = 1469598103934665603ULL; /* FNV-1a */
  for (const char *c = full; *c != '\\0'; c++) hash = (hash ^ (unsigned char) *c) * 1099511628211ULL;
  int same = 0;
  pthread_mutex_lock(&t->mut);
  jjfs_sig_t *e = t->buckets[hash % JJFS_SIG_BUCKETS];
  while (e != NULL && (e->hash != hash || strcmp(e->path, full) != 0)) e = e->next;
  if (e != NULL && e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
      jjfs_same_time(&e->mtime, &st->st_mtim) && jjfs_same_time(&e->ctime, &st->st_ctim)) {
    same = e->settled;
    e->settled = settled;
  } else {
    if (e == NULL && t->count >= JJFS_SIG_MAX) {
      for (size_t b = 0; b < JJFS_SIG_BUCKETS; b++) {
        while (t->buckets[b] != NULL) {
          jjfs_sig_t *next = t->buckets[b]->next;
          free(t->buckets[b]);
          t->buckets[b] = next;
        }
      }
      t->count = 0;
    }
    if (e == NULL) {
      size_t len = strlen(full);
      e = malloc(sizeof(jjfs_sig_t) + len + 1);
      if (e != NULL) {
        memcpy(e->path, full, len + 1);
        e->hash = hash;
        e->next = t->buckets[hash % JJFS_SIG_BUCKETS];
        t->buckets[hash % JJFS_SIG_BUCKETS] = e;
        t->count++;
      }
    }
    if (e != NULL) {
      e->dev = st->st_dev;
      e->ino = st->st_ino;
      e->size = st->st_size;
      e->mtime = st->st_mtim;
      e->ctime = st->st_ctim;
      e->settled = settled;
    }
  }
  pthread_mutex_unlock(&t->mut);
  return same;
}

/* 1 when the kernel may keep the pages cached for the file at full, now open as fd: it is the
   file, unchanged, it was at the previous open of full. */
static int jjfs_keep_pages (const char *full, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  return jjfs_seen_unchanged(&jjfs_pages, full, &st, 1);
}

/* Listings the kernel keeps (src/fs/mount.ts, "Listings"). libfuse 2.9 cannot say FOPEN_CACHE_DIR
   (kernel 4.20) nor FOPEN_KEEP_CACHE for a directory, so the request loop sends each OPENDIR
   answer through a channel of its own that adds the flags this thread's opendir handler chose
   (jjfs_listing_send). The kernel then keeps the listing it reads through such a handle, and
   serves later opens that say KEEP_CACHE from it without a READDIR.
   The rule, per backing directory, at every OPENDIR: keep when its device, inode, size, mtime and
   ctime are what the previous OPENDIR of the path saw, and its ctime was then at least
   JJFS_LISTING_SETTLE_NS old. Every change of a directory's entries (create, unlink, rename, by jj,
   through the mount or behind it) sets its ctime to the current time, so a change after that
   previous OPENDIR gives a ctime that differs from the recorded one, even on a file system whose
   timestamps only move every tick (up to a second): the recorded ctime was older than that. A
   listing read through a handle opened before a change is therefore dropped at the next open
   (no KEEP_CACHE: the kernel drops the directory's pages), and one read after it is not kept
   before the directory has settled again. The listing is the real one whatever the gate: the
   announcer's pretences are for the notifier's own requests, and it never lists directories.
   A directory whose ctime is recent gets neither flag (nothing is cached while agents write in
   it); one that settled gets CACHE_DIR without KEEP_CACHE at its first open (its listing is read
   anew and kept), then both. What the kernel does not see: a handle kept open across a change
   behind the mount that rewinds (rewinddir) gets the kept listing again until the kernel learns
   the directory's new mtime (a lookup of it, a change through the mount, the notifier's replay). */
#define JJFS_FOPEN_KEEP_CACHE (1u << 1)
#define JJFS_FOPEN_CACHE_DIR (1u << 3)
#define JJFS_LISTING_SETTLE_NS 1000000000LL
/* The flags this thread's next OPENDIR answer gets (set by jjfs_opendir, taken by jjfs_listing_send:
   libfuse answers an OPENDIR on the thread that runs its handler, before it takes another request). */
static __thread uint32_t jjfs_listing_flags = 0;

/* The open flags an OPENDIR of mount path path is answered with, by the rule above. */
static uint32_t jjfs_listing_answer (const char *path) {
  fuse_thread_t *ft = (fuse_thread_t *) fuse_get_context()->private_data;
  if (ft == NULL || __atomic_load_n(&ft->jjfs_listings, __ATOMIC_SEQ_CST) != 1 ||
      __atomic_load_n(&ft->jjfs_listing_loop, __ATOMIC_SEQ_CST) != 1 || jjfs_is_dotjj(path)) return 0;
  char full[4096];
  if (__atomic_load_n(&ft->jjfs_root_len, __ATOMIC_SEQ_CST) == 0 || jjfs_backing_path(ft, path, full, sizeof(full)) != 0) return 0;
  struct stat st;
  if (lstat(full, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t age = ((int64_t) now.tv_sec - (int64_t) st.st_ctim.tv_sec) * 1000000000LL + ((int64_t) now.tv_nsec - (int64_t) st.st_ctim.tv_nsec);
  int settled = age >= JJFS_LISTING_SETTLE_NS;
  if (jjfs_seen_unchanged(&jjfs_listings, full, &st, settled)) return JJFS_FOPEN_CACHE_DIR | JJFS_FOPEN_KEEP_CACHE;
  return settled ? JJFS_FOPEN_CACHE_DIR : 0;
}

/* opendir (fuse-native has none: the JS side implements no opendir) only chooses the answer's flags;
   it never fails, as no opendir did. */
static int jjfs_opendir (const char *path, struct fuse_file_info *info) {
  (void) info;
  jjfs_listing_flags = jjfs_listing_answer(path);
  return 0;
}

/* Open files on the FUSE thread (src/fs/mount.ts): a read-only open is answered here while getattr
   would be (same flag and in-flight count, so a hold waits for it), with the open(2) the JS open
   makes; the handle is a slot of ft->jjfs_files, numbered JJFS_FH_BIT | slot. */
#define JJFS_FH_BIT 0x80000000u
#define JJFS_FILES ((int) (sizeof(((fuse_thread_t *) 0)->jjfs_free) / sizeof(int)))

/* A free slot of the table, or -1 (the JS table takes over). */
static int jjfs_slot_alloc (fuse_thread_t *ft) {
  int slot = -1;
  uv_mutex_lock(&ft->jjfs_files_mut);
  if (ft->jjfs_nfree > 0) slot = ft->jjfs_free[--ft->jjfs_nfree];
  uv_mutex_unlock(&ft->jjfs_files_mut);
  return slot;
}

static void jjfs_slot_free (fuse_thread_t *ft, int slot) {
  uv_mutex_lock(&ft->jjfs_files_mut);
  ft->jjfs_free[ft->jjfs_nfree++] = slot;
  uv_mutex_unlock(&ft->jjfs_files_mut);
}

static void jjfs_file_take (fuse_thread_t *ft, int slot, int fd, int flags, uint32_t gen) {
  ft->jjfs_files[slot].fd = fd;
  ft->jjfs_files[slot].flags = flags;
  ft->jjfs_files[slot].noted_gen = gen - 1; /* its first write is noted */
  ft->jjfs_files[slot].noted_ms = 0;
  __atomic_store_n(&ft->jjfs_files[slot].gen, gen, __ATOMIC_SEQ_CST);
}

/* Paths written on the FUSE thread, for the JS side (src/fs/mount.ts, "Writes on the FUSE
   thread"): pushed BEFORE the change touches the backing file, so the announcer, which takes them
   before it looks at what the backing-dir watcher saw, always knows the change as the mount's own;
   JS is woken (once until it takes them) to tell the sync engine. A change that then fails is
   marked so while JS has not taken it yet: JS reports it to the announcer only, not as a
   mutation (as the JS handlers report only what succeeded). */
struct jjfs_note {
  struct jjfs_note *next;
  int failed;
  char path[];
};

/* A pushed note and the take it belongs to (ft->jjfs_notes_taken when pushed). */
typedef struct {
  struct jjfs_note *note;
  uint64_t take;
} jjfs_noted_t;

static jjfs_noted_t jjfs_note (fuse_thread_t *ft, const char *path) {
  jjfs_noted_t noted = { NULL, 0 };
  size_t len = strlen(path);
  struct jjfs_note *n = malloc(sizeof(struct jjfs_note) + len + 1);
  if (n == NULL) return noted; /* the backing-dir watcher still reports the change */
  n->failed = 0;
  memcpy(n->path, path, len + 1);
  uv_mutex_lock(&ft->jjfs_files_mut);
  n->next = ft->jjfs_notes;
  ft->jjfs_notes = n;
  noted.note = n;
  noted.take = ft->jjfs_notes_taken;
  int wake = !ft->jjfs_notes_waking;
  ft->jjfs_notes_waking = 1;
  uv_mutex_unlock(&ft->jjfs_files_mut);
  if (wake) napi_call_threadsafe_function(ft->jjfs_notes_fn, NULL, napi_tsfn_nonblocking);
  return noted;
}

/* The noted change failed. Only touches the note while it is still in the list (no take since it
   was pushed: JS frees what it takes); one taken already counted as done. */
static void jjfs_note_failed (fuse_thread_t *ft, jjfs_noted_t noted) {
  if (noted.note == NULL) return;
  uv_mutex_lock(&ft->jjfs_files_mut);
  if (noted.take == ft->jjfs_notes_taken) noted.note->failed = 1;
  uv_mutex_unlock(&ft->jjfs_files_mut);
}

/* Notes a write on handle slot: the first in each generation (a round in between has seen the
   file), then at most once a second (the announcer counts a change as the mount's own for 2 s). */
static jjfs_noted_t jjfs_note_file (fuse_thread_t *ft, uint64_t slot, const char *path) {
  jjfs_noted_t none = { NULL, 0 };
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  uint64_t ms = (uint64_t) now.tv_sec * 1000 + (uint64_t) now.tv_nsec / 1000000;
  uint32_t gen = __atomic_load_n(&ft->jjfs_gen, __ATOMIC_SEQ_CST);
  if (ft->jjfs_files[slot].noted_gen == gen && ms - ft->jjfs_files[slot].noted_ms < 1000) return none;
  ft->jjfs_files[slot].noted_gen = gen;
  ft->jjfs_files[slot].noted_ms = ms;
  return jjfs_note(ft, path);
}

/* A noted write on handle slot failed: the handle's next write is noted again. */
static void jjfs_note_file_failed (fuse_thread_t *ft, uint64_t slot, jjfs_noted_t noted) {
  if (noted.note == NULL) return;
  ft->jjfs_files[slot].noted_gen = __atomic_load_n(&ft->jjfs_gen, __ATOMIC_SEQ_CST) - 1;
  jjfs_note_failed(ft, noted);
}

/* Enters a change answered on the FUSE thread: as jjfs_fast_enter, and only while this mount lets
   the FUSE thread write (level 1) or create (level 2); NULL when the JS handler must answer. */
static fuse_thread_t *jjfs_write_enter (const char *path, char *full, size_t full_size, int level) {
  fuse_thread_t *ft = path != NULL ? jjfs_fast_enter(path, full, full_size) : NULL;
  if (ft != NULL && __atomic_load_n(&ft->jjfs_writes, __ATOMIC_SEQ_CST) < level) {
    jjfs_fast_leave(ft);
    return NULL;
  }
  return ft;
}

static int jjfs_fast_open (const char *path, struct fuse_file_info *info) {
  /* O_TRUNC reaches an open only with atomic_o_trunc, which jjfs mounts do not use: the kernel
     truncates with a SETATTR of its own, answered in JS. */
  if (info == NULL || (info->flags & O_TRUNC) != 0 || jjfs_is_dotjj(path)) return JJFS_TO_JS;
  int writing = (info->flags & O_ACCMODE) != O_RDONLY;
  char full[4096];
  fuse_thread_t *ft = writing ? jjfs_write_enter(path, full, sizeof(full), 1) : jjfs_fast_enter(path, full, sizeof(full));
  if (ft == NULL) return JJFS_TO_JS;
  int slot = jjfs_slot_alloc(ft);
  if (slot < 0) {
    jjfs_fast_leave(ft);
    return JJFS_TO_JS;
  }
  /* Read before opening, as the JS open does: a hold released in between makes the first read
     check the file rather than trust it. */
  uint32_t gen = __atomic_load_n(&ft->jjfs_gen, __ATOMIC_SEQ_CST);
  /* As the JS open passes them (src/fs/ops-files.ts, PASS_FLAGS), close-on-exec as Node opens
     every descriptor (jj runs as a child of this process), never following a symlink: the kernel
     resolved every link on the way here. */
  int flags = (info->flags & (O_ACCMODE | O_APPEND | O_SYNC | O_DSYNC | O_NOFOLLOW)) | O_NOFOLLOW;
  int fd = open(full, flags | O_CLOEXEC);
  int res = fd < 0 ? -errno : 0;
  if (fd >= 0) {
    jjfs_file_take(ft, slot, fd, flags, gen);
    info->fh = JJFS_FH_BIT | (uint32_t) slot;
    info->keep_cache = jjfs_keep_pages(full, fd);
  }
  jjfs_fast_leave(ft);
  if (fd < 0) jjfs_slot_free(ft, slot);
  return res;
}

/* create as the JS create makes it (src/fs/ops-files.ts) when the mount lets this thread create
   (not read-only, new files stay the daemon's): O_RDWR, no O_EXCL (the kernel's lookup found no
   file), the caller's mode, restored when our umask would have stripped bits of it. Noted before
   the file exists, as the JS create tells the announcer before it creates. */
static int jjfs_fast_create (const char *path, mode_t mode, struct fuse_file_info *info) {
  if (info == NULL || jjfs_is_dotjj(path)) return JJFS_TO_JS;
  char full[4096];
  fuse_thread_t *ft = jjfs_write_enter(path, full, sizeof(full), 2);
  if (ft == NULL) return JJFS_TO_JS;
  int slot = jjfs_slot_alloc(ft);
  if (slot < 0) {
    jjfs_fast_leave(ft);
    return JJFS_TO_JS;
  }
  uint32_t gen = __atomic_load_n(&ft->jjfs_gen, __ATOMIC_SEQ_CST);
  mode_t perm = mode & 07777;
  jjfs_noted_t noted = jjfs_note(ft, path);
  int fd = open(full, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, perm);
  int res = fd < 0 ? -errno : 0;
  if (fd < 0) jjfs_note_failed(ft, noted);
  if (fd >= 0) {
    if ((perm & ft->jjfs_umask) != 0) fchmod(fd, perm);
    jjfs_file_take(ft, slot, fd, O_RDWR, gen);
    info->fh = JJFS_FH_BIT | (uint32_t) slot;
  }
  jjfs_fast_leave(ft);
  if (fd < 0) jjfs_slot_free(ft, slot);
  return res;
}

/* The descriptor of handle fh, made to name the file at path again if jj replaced it since the
   handle last checked (the FUSE-thread twin of ensureCurrent in src/fs/ops-files.ts): only after
   the gate opened again; a path now missing, or not a regular file, keeps the old descriptor. The
   new file is put under the SAME descriptor number with dup2, which swaps atomically: a read
   running on another FUSE thread reads the old file or the new one, never a closed or reused
   descriptor. Returns -1 for a handle that is not ours. */
static int jjfs_file_fd (fuse_thread_t *ft, const char *path, uint64_t fh) {
  uint64_t slot = fh & ~((uint64_t) JJFS_FH_BIT);
  if (ft == NULL || slot >= (uint64_t) JJFS_FILES) return -1;
  int fd = ft->jjfs_files[slot].fd;
  uint32_t gen = __atomic_load_n(&ft->jjfs_gen, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&ft->jjfs_files[slot].gen, __ATOMIC_SEQ_CST) == gen || path == NULL) return fd;
  char full[4096];
  if (jjfs_backing_path(ft, path, full, sizeof(full)) == 0) {
    struct stat open_st, now_st;
    if (fstat(fd, &open_st) == 0 && lstat(full, &now_st) == 0 && S_ISREG(now_st.st_mode) &&
        (open_st.st_ino != now_st.st_ino || open_st.st_dev != now_st.st_dev)) {
      int fresh = open(full, ft->jjfs_files[slot].flags | O_CLOEXEC);
      if (fresh >= 0) {
        dup3(fresh, fd, O_CLOEXEC);
        close(fresh);
      }
    }
  }
  __atomic_store_n(&ft->jjfs_files[slot].gen, gen, __ATOMIC_SEQ_CST);
  return fd;
}

static fuse_thread_t *jjfs_this_mount (void) {
  return (fuse_thread_t *) fuse_get_context()->private_data;
}

/* One pread(2) (a short answer is end-of-file to the kernel). The JS read loops over short reads;
   this one need not: the kernel sends READ only for regular files, and a regular file's read stops
   short only at its end or at a signal, which the loop's workers never take (jjfs_loop_spawn
   blocks them all; libfuse's loop does the same). The second read of the loop this replaced found
   nothing in all but a race with an append, where either answer is one the file gave; it was a
   system call per small file read. */
static int jjfs_file_read (const char *path, char *buf, size_t len, off_t offset, uint64_t fh) {
  int fd = jjfs_file_fd(jjfs_this_mount(), path, fh);
  if (fd < 0) return -EBADF;
  ssize_t n;
  do n = pread(fd, buf, len, offset);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : (int) n;
}

/* A write while the gate is open (same flag and in-flight count as the open: a hold waits for it),
   noted before it lands; JJFS_TO_JS hands it to the JS write (which waits at the gate), as when
   the mount stopped writes here (closing). Short writes looped over as the JS write does. */
static int jjfs_file_write (const char *path, const char *buf, size_t len, off_t offset, uint64_t fh) {
  fuse_thread_t *ft = jjfs_write_enter(path, NULL, 0, 1);
  if (ft == NULL) return JJFS_TO_JS;
  int fd = jjfs_file_fd(ft, path, fh);
  if (fd < 0) {
    jjfs_fast_leave(ft);
    return -EBADF;
  }
  uint64_t slot = fh & ~((uint64_t) JJFS_FH_BIT);
  jjfs_noted_t noted = jjfs_note_file(ft, slot, path);
  size_t done = 0;
  int res = 0;
  while (done < len) {
    ssize_t n = pwrite(fd, buf + done, len - done, offset + (off_t) done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      res = -errno;
      break;
    }
    if (n == 0) break;
    done += (size_t) n;
  }
  if (done == 0) jjfs_note_file_failed(ft, slot, noted);
  jjfs_fast_leave(ft);
  return done > 0 ? (int) done : res;
}

/* ftruncate the same way; the notifier's replay length (src/fs/announce.ts, ANNOUNCE_SIZE) is
   never applied, as in the JS ftruncate. */
static int jjfs_file_ftruncate (const char *path, off_t size, uint64_t fh) {
  if (size == (off_t) 4503599627397738LL) return 0; /* ANNOUNCE_SIZE = 2^52 + 0x6a6a */
  fuse_thread_t *ft = jjfs_write_enter(path, NULL, 0, 1);
  if (ft == NULL) return JJFS_TO_JS;
  int fd = jjfs_file_fd(ft, path, fh);
  int res = -EBADF;
  if (fd >= 0) {
    jjfs_noted_t noted = jjfs_note(ft, path);
    res = ftruncate(fd, size) == 0 ? 0 : -errno;
    if (res != 0) jjfs_note_failed(ft, noted);
  }
  jjfs_fast_leave(ft);
  return res;
}

/* unlink (dir 0) or rmdir (dir 1) of path, noted before. */
static int jjfs_fast_remove (const char *path, int dir) {
  if (jjfs_is_dotjj(path)) return JJFS_TO_JS;
  char full[4096];
  fuse_thread_t *ft = jjfs_write_enter(path, full, sizeof(full), 1);
  if (ft == NULL) return JJFS_TO_JS;
  jjfs_noted_t noted = jjfs_note(ft, path);
  int res = (dir ? rmdir(full) : unlink(full)) == 0 ? 0 : -errno;
  if (res != 0) jjfs_note_failed(ft, noted);
  jjfs_fast_leave(ft);
  return res;
}

/* A truncation by path (the SETATTR an open with O_TRUNC sends, without a handle), noted before,
   as the JS truncate. Through a descriptor: truncate(2) would follow a symlink (see
   jjfs_fast_access), and O_NONBLOCK keeps a FIFO put there meanwhile from blocking the open. */
static int jjfs_fast_truncate (const char *path, off_t size) {
  if (size == (off_t) 4503599627397738LL) return 0; /* ANNOUNCE_SIZE: see jjfs_file_ftruncate */
  if (jjfs_is_dotjj(path)) return JJFS_TO_JS;
  char full[4096];
  fuse_thread_t *ft = jjfs_write_enter(path, full, sizeof(full), 1);
  if (ft == NULL) return JJFS_TO_JS;
  jjfs_noted_t noted = jjfs_note(ft, path);
  int fd = open(full, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  int res = fd < 0 ? -errno : ftruncate(fd, size) == 0 ? 0 : -errno;
  if (fd >= 0) close(fd);
  if (res != 0) jjfs_note_failed(ft, noted);
  jjfs_fast_leave(ft);
  return res;
}

/* utimensat of path itself, noted before, with the times as libfuse passes them (UTIME_NOW and
   UTIME_OMIT included: "utimens: accept UTIME_NOW / UTIME_OMIT"), as the JS utimens does. */
static int jjfs_fast_utimens (const char *path, const struct timespec tv[2]) {
  if (jjfs_is_dotjj(path)) return JJFS_TO_JS;
  char full[4096];
  fuse_thread_t *ft = jjfs_write_enter(path, full, sizeof(full), 1);
  if (ft == NULL) return JJFS_TO_JS;
  jjfs_noted_t noted = jjfs_note(ft, path);
  int res = utimensat(AT_FDCWD, full, tv, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
  if (res != 0) jjfs_note_failed(ft, noted);
  jjfs_fast_leave(ft);
  return res;
}

/* rename(2) of path to dest, both noted before. */
static int jjfs_fast_rename (const char *path, const char *dest) {
  if (jjfs_is_dotjj(path) || jjfs_is_dotjj(dest)) return JJFS_TO_JS;
  char full[4096], full_dest[4096];
  fuse_thread_t *ft = jjfs_write_enter(path, full, sizeof(full), 1);
  if (ft == NULL) return JJFS_TO_JS;
  if (jjfs_backing_path(ft, dest, full_dest, sizeof(full_dest)) != 0) {
    jjfs_fast_leave(ft);
    return JJFS_TO_JS;
  }
  jjfs_noted_t from = jjfs_note(ft, path);
  jjfs_noted_t to = jjfs_note(ft, dest);
  int res = rename(full, full_dest) == 0 ? 0 : -errno;
  if (res != 0) {
    jjfs_note_failed(ft, from);
    jjfs_note_failed(ft, to);
  }
  jjfs_fast_leave(ft);
  return res;
}

static int jjfs_file_fsync (const char *path, int datasync, uint64_t fh) {
  int fd = jjfs_file_fd(jjfs_this_mount(), path, fh);
  if (fd < 0) return -EBADF;
  return (datasync ? fdatasync(fd) : fsync(fd)) == 0 ? 0 : -errno;
}

/* The kernel sends RELEASE once no request on the handle is left (it holds the file until its
   reads are answered), so nothing else uses the slot while it is closed and freed. */
static int jjfs_file_release (uint64_t fh) {
  fuse_thread_t *ft = (fuse_thread_t *) fuse_get_context()->private_data;
  uint64_t slot = fh & ~((uint64_t) JJFS_FH_BIT);
  if (ft == NULL || slot >= (uint64_t) JJFS_FILES) return 0;
  close(ft->jjfs_files[slot].fd);
  jjfs_slot_free(ft, (int) slot);
  return 0;
}

#define populate_stat(ints, st) jjfs_populate_stat(ints, ints##_len, st)`,
  },
  {
    name: 'setxattr: no file capabilities',
    find: `  if (implemented[op_setxattr]) ops.setxattr = fuse_native_setxattr;`,
    replace: `  if (implemented[op_setxattr]) ops.setxattr = jjfs_setxattr;`,
  },
  {
    // See jjfs_locals_give_back ("the request loop"): a new worker takes the locals an ended one
    // left, without a trip to the JS thread.
    name: 'thread locals: a link for the spare list',
    find: `  fuse_thread_t *fuse;
  uv_sem_t sem;
  uv_async_t async;

} fuse_thread_locals_t;`,
    replace: `  fuse_thread_t *fuse;
  uv_sem_t sem;
  uv_async_t async;
  void *jjfs_next_spare; /* jjfs: next on fuse_thread_t's jjfs_spare_locals */

} fuse_thread_locals_t;`,
  },
  {
    name: "thread locals: a new worker takes an ended one's",
    find: `  // Need to lock the mutation of l->async.
  uv_mutex_lock(&(ft->mut));
  ft->async.data = ft;`,
    replace: `  // Need to lock the mutation of l->async.
  uv_mutex_lock(&(ft->mut));
  if (ft->jjfs_spare_locals != NULL) {
    fuse_thread_locals_t *spare = (fuse_thread_locals_t *) ft->jjfs_spare_locals;
    ft->jjfs_spare_locals = spare->jjfs_next_spare;
    spare->jjfs_next_spare = NULL;
    pthread_setspecific(thread_locals_key, (void *) spare);
    uv_mutex_unlock(&(ft->mut));
    return spare;
  }
  ft->async.data = ft;`,
  },
  {
    // Whole-mount invalidation (src/fs/mount.ts, "Kernel caches"): FUSE_NOTIFY_INC_EPOCH, a bare
    // 16-byte fuse_out_header (len 16, error 8, unique 0) written to the connection, makes the
    // kernel drop every cached name of the mount, negatives included (measured on 6.18 with this
    // libfuse 2.9.9 although it negotiates protocol 7.19; docs/fuse.md). It is written to a
    // descriptor of our own (a close-on-exec dup made at mount time, closed at unmount), so a FUSE
    // thread that ends and closes libfuse's descriptor can never leave us writing to a number the
    // process has reused for something else. The write takes no inode lock: safe from the JS thread.
    name: 'thread state: a descriptor for notifications',
    find: `  struct fuse_chan *ch;
  char mnt[1024];`,
    replace: `  struct fuse_chan *ch;
  int jjfs_notify_fd; /* jjfs: dup of the channel fd, > 0 while mounted */
  int jjfs_fast; /* jjfs: 1 while getattr and readdir may be answered on the FUSE thread (atomic) */
  int jjfs_inflight; /* jjfs: getattr/readdir calls being answered there now (atomic) */
  size_t jjfs_root_len; /* jjfs: length of jjfs_root; 0 = never answer there */
  char jjfs_root[4096]; /* jjfs: the backing directory */
  uint32_t jjfs_gen; /* jjfs: bumped (atomic) each time the gate opens: files may have been replaced */
  int jjfs_files_ready; /* jjfs: the open-file table below is initialised */
  uv_mutex_t jjfs_files_mut; /* jjfs: guards jjfs_free and jjfs_nfree */
  int jjfs_nfree; /* jjfs: free slots on the stack below */
  int jjfs_free[1024]; /* jjfs: stack of free slot numbers */
  struct { int fd; int flags; uint32_t gen; uint32_t noted_gen; uint64_t noted_ms; } jjfs_files[1024]; /* jjfs: files opened on the FUSE thread */
  int jjfs_writes; /* jjfs: 0 = no writes there, 1 = writes on files, 2 = creates too (atomic) */
  mode_t jjfs_umask; /* jjfs: the process umask, which the kernel already applied to create modes */
  struct jjfs_note *jjfs_notes; /* jjfs: paths written there, for JS to take (guarded by jjfs_files_mut) */
  int jjfs_notes_waking; /* jjfs: JS was woken and has not taken the notes yet (same guard) */
  uint64_t jjfs_notes_taken; /* jjfs: how many times JS took the notes (same guard) */
  int jjfs_notes_ready; /* jjfs: jjfs_notes_fn exists */
  napi_threadsafe_function jjfs_notes_fn; /* jjfs: wakes JS to take the notes */
  void *jjfs_spare_locals; /* jjfs: thread locals of ended workers, for the next new worker (guarded by mut) */
  uint32_t jjfs_handovers; /* jjfs: workers the request loop woke or started to replace a reader that stayed too long on one request (atomic) */
  uint32_t jjfs_reader_changes; /* jjfs: requests the request loop's workers took right after another worker's (atomic) */
  uint32_t jjfs_spin_catches; /* jjfs: requests the request loop's workers found while they looked for the next one after an answer (atomic) */
  int jjfs_listings; /* jjfs: 1 while OPENDIR answers may let the kernel keep listings (set by JS; atomic) */
  int jjfs_listing_loop; /* jjfs: 1 while the request loop sends OPENDIR answers through its listing channel (atomic) */
  uint32_t jjfs_listing_reads; /* jjfs: readdir calls this mount answered (atomic) */
  char mnt[1024];`,
  },
  {
    name: 'mount: dup the channel fd for notifications',
    find: `  ft->ch = ch;
  ft->mounted++;`,
    replace: `  ft->ch = ch;
  ft->jjfs_notify_fd = fcntl(fuse_chan_fd(ch), F_DUPFD_CLOEXEC, 3);
  ft->mounted++;`,
  },
  {
    name: 'unmount: close the notification descriptor',
    find: `  uv_unref((uv_handle_t *) &(ft->async));
  ft->mounted--;`,
    replace: `  uv_unref((uv_handle_t *) &(ft->async));
  if (ft->jjfs_notify_fd > 0) {
    close(ft->jjfs_notify_fd);
    ft->jjfs_notify_fd = -1;
  }
  ft->mounted--;`,
  },
  {
    name: 'export the epoch notification',
    find: `NAPI_METHOD(jjfs_caller_uid) {`,
    replace: `/* Writes one notification to the mount's connection: the bytes the kernel took, or -errno. */
static int32_t jjfs_notify (fuse_thread_t *ft, size_t ft_len, const void *out, size_t size) {
  if (ft_len < sizeof(fuse_thread_t) || ft->mounted <= 0 || ft->jjfs_notify_fd <= 0) return -ENOTCONN;
  ssize_t n = write(ft->jjfs_notify_fd, out, size);
  return n < 0 ? -errno : (int32_t) n;
}

NAPI_METHOD(jjfs_inc_epoch) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  struct { uint32_t len; int32_t error; uint64_t unique; } out = { 16, 8 /* FUSE_NOTIFY_INC_EPOCH */, 0 };
  NAPI_RETURN_INT32(jjfs_notify(ft, ft_len, &out, sizeof(out)))
}

/* How many times the request loop of the mount woke or started a worker to replace a reader that
   stayed longer than the hand-over delay on one request, or -errno. */
NAPI_METHOD(jjfs_loop_handovers) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  int32_t n = ft_len < sizeof(fuse_thread_t) ? -EINVAL : (int32_t) (__atomic_load_n(&ft->jjfs_handovers, __ATOMIC_RELAXED) & 0x7fffffff);
  NAPI_RETURN_INT32(n)
}

/* How many requests the request loop of the mount took on another worker than the one before
   (with one reader and no hand-over: none, whatever the load), or -errno. */
NAPI_METHOD(jjfs_loop_reader_changes) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  int32_t n = ft_len < sizeof(fuse_thread_t) ? -EINVAL : (int32_t) (__atomic_load_n(&ft->jjfs_reader_changes, __ATOMIC_RELAXED) & 0x7fffffff);
  NAPI_RETURN_INT32(n)
}

/* How many requests the request loop's workers found while looking for the next one after an
   answer (JJFS_FUSE_SPIN_US), rather than being woken for them in read(2), or -errno. */
NAPI_METHOD(jjfs_loop_spin_catches) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  int32_t n = ft_len < sizeof(fuse_thread_t) ? -EINVAL : (int32_t) (__atomic_load_n(&ft->jjfs_spin_catches, __ATOMIC_RELAXED) & 0x7fffffff);
  NAPI_RETURN_INT32(n)
}

/* Lets OPENDIR answers have the kernel keep listings (1) or not (0); answers 0, -ENOTSUP without
   jjfs's request loop (JJFS_FUSE_LOOP=libfuse, JJFS_LISTING_CACHE=off: nothing can add the flags),
   or -errno. */
NAPI_METHOD(jjfs_cache_listings) {
  NAPI_ARGV(2)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  NAPI_ARGV_INT32(on, 1)
  int32_t result = -EINVAL;
  if (ft_len >= sizeof(fuse_thread_t)) {
    __atomic_store_n(&ft->jjfs_listings, on == 1 ? 1 : 0, __ATOMIC_SEQ_CST);
    result = on == 1 && __atomic_load_n(&ft->jjfs_listing_loop, __ATOMIC_SEQ_CST) != 1 ? -ENOTSUP : 0;
  }
  NAPI_RETURN_INT32(result)
}

/* How many readdir calls the mount answered (the kernel serves a kept listing without one), or -errno. */
NAPI_METHOD(jjfs_listing_reads) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  int32_t n = ft_len < sizeof(fuse_thread_t) ? -EINVAL : (int32_t) (__atomic_load_n(&ft->jjfs_listing_reads, __ATOMIC_RELAXED) & 0x7fffffff);
  NAPI_RETURN_INT32(n)
}

/* Lists a directory in one call: [names, [ino0, type0, ino1, type1, ...]] (the low 32 bits of
   d_ino, which is all fuse-native passes on, and d_type as readdir(3) gives them; type 0 =
   unknown), or a negative errno. What a FUSE readdir needs with use_ino, without a stat per entry
   (src/fs/ops-lookup.ts). */
NAPI_METHOD(jjfs_list_dir) {
  NAPI_ARGV(1)
  NAPI_ARGV_UTF8(path, 4096, 0)
  napi_value out;
  if (path_len >= 4095) {
    napi_create_int32(env, -ENAMETOOLONG, &out);
    return out;
  }
  DIR *dir = opendir(path);
  if (dir == NULL) {
    napi_create_int32(env, -errno, &out);
    return out;
  }
  napi_value names, details;
  napi_create_array(env, &names);
  napi_create_array(env, &details);
  uint32_t n = 0;
  struct dirent *e;
  for (;;) {
    errno = 0;
    e = readdir(dir);
    if (e == NULL) break;
    napi_value name, ino, type;
    napi_create_string_utf8(env, e->d_name, NAPI_AUTO_LENGTH, &name);
    napi_create_uint32(env, (uint32_t) e->d_ino, &ino);
    napi_create_uint32(env, e->d_type, &type);
    napi_set_element(env, names, n, name);
    napi_set_element(env, details, 2 * n, ino);
    napi_set_element(env, details, 2 * n + 1, type);
    n++;
  }
  int failed = errno;
  closedir(dir);
  if (failed != 0) {
    napi_create_int32(env, -failed, &out);
    return out;
  }
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, names);
  napi_set_element(env, out, 1, details);
  return out;
}

/* Sets the backing directory getattr and readdir may be answered from on the FUSE thread (flag still down). */
NAPI_METHOD(jjfs_fast_root) {
  NAPI_ARGV(2)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  NAPI_ARGV_UTF8(root, 4096, 1)
  int32_t result = -EINVAL;
  if (ft_len >= sizeof(fuse_thread_t) && root_len > 0 && root_len < sizeof(ft->jjfs_root) - 1024) {
    __atomic_store_n(&ft->jjfs_fast, 0, __ATOMIC_SEQ_CST);
    if (!ft->jjfs_files_ready) {
      /* Before the flag is first raised: no open on the FUSE thread has run yet. */
      uv_mutex_init(&ft->jjfs_files_mut);
      for (int i = 0; i < JJFS_FILES; i++) ft->jjfs_free[i] = JJFS_FILES - 1 - i;
      ft->jjfs_nfree = JJFS_FILES;
      ft->jjfs_files_ready = 1;
    }
    memcpy(ft->jjfs_root, root, root_len + 1);
    __atomic_store_n(&ft->jjfs_root_len, root_len, __ATOMIC_SEQ_CST);
    result = 0;
  }
  NAPI_RETURN_INT32(result)
}

/* Raises (1) or lowers (0) the flag; answers how many FUSE-thread answers are running after it. */
NAPI_METHOD(jjfs_fast_allow) {
  NAPI_ARGV(2)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  NAPI_ARGV_INT32(on, 1)
  int32_t result = -EINVAL;
  if (ft_len >= sizeof(fuse_thread_t)) {
    __atomic_store_n(&ft->jjfs_fast, on == 1 ? 1 : 0, __ATOMIC_SEQ_CST);
    result = __atomic_load_n(&ft->jjfs_inflight, __ATOMIC_SEQ_CST);
  }
  NAPI_RETURN_INT32(result)
}

/* The gate opened: files opened on the FUSE thread check, at their next read or fsync, that they
   still name the file at their path (jj may have replaced it). Answers 0. */
NAPI_METHOD(jjfs_fast_recheck) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  int32_t result = -EINVAL;
  if (ft_len >= sizeof(fuse_thread_t)) {
    __atomic_add_fetch(&ft->jjfs_gen, 1, __ATOMIC_SEQ_CST);
    result = 0;
  }
  NAPI_RETURN_INT32(result)
}

/* Lets this mount's FUSE thread write (1) and create (2), or neither (0); umask as the process has
   it; wake: the JS function called (without arguments) when there are notes to take. */
NAPI_METHOD(jjfs_fast_writes) {
  NAPI_ARGV(4)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  NAPI_ARGV_INT32(mode, 1)
  NAPI_ARGV_UINT32(mask, 2)
  int32_t result = -EINVAL;
  if (ft_len >= sizeof(fuse_thread_t) && ft->jjfs_files_ready) {
    result = 0;
    if (mode > 0 && !ft->jjfs_notes_ready) {
      napi_value name;
      napi_create_string_utf8(env, "jjfs-notes", NAPI_AUTO_LENGTH, &name);
      if (napi_create_threadsafe_function(env, argv[3], NULL, name, 0, 1, NULL, NULL, NULL, NULL, &ft->jjfs_notes_fn) == napi_ok) {
        /* Never keeps the process alive; never released, as a FUSE thread may still call it. */
        napi_unref_threadsafe_function(env, ft->jjfs_notes_fn);
        ft->jjfs_notes_ready = 1;
      } else {
        result = -ENOMEM;
      }
    }
    if (result == 0) {
      ft->jjfs_umask = (mode_t) mask;
      __atomic_store_n(&ft->jjfs_writes, mode > 0 ? mode : 0, __ATOMIC_SEQ_CST);
    }
  }
  NAPI_RETURN_INT32(result)
}

/* Takes the paths changed on the FUSE thread since the last call (mount-relative):
   [changed or still changing, failed]. */
NAPI_METHOD(jjfs_fast_take_notes) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  napi_value out, changed, failed;
  napi_create_array_with_length(env, 2, &out);
  napi_create_array(env, &changed);
  napi_create_array(env, &failed);
  napi_set_element(env, out, 0, changed);
  napi_set_element(env, out, 1, failed);
  if (ft_len < sizeof(fuse_thread_t) || !ft->jjfs_files_ready) return out;
  uv_mutex_lock(&ft->jjfs_files_mut);
  struct jjfs_note *n = ft->jjfs_notes;
  ft->jjfs_notes = NULL;
  ft->jjfs_notes_waking = 0;
  ft->jjfs_notes_taken++;
  uv_mutex_unlock(&ft->jjfs_files_mut);
  uint32_t nc = 0, nf = 0;
  while (n != NULL) {
    struct jjfs_note *next = n->next;
    napi_value p;
    napi_create_string_utf8(env, n->path, NAPI_AUTO_LENGTH, &p);
    if (n->failed) napi_set_element(env, failed, nf++, p);
    else napi_set_element(env, changed, nc++, p);
    free(n);
    n = next;
  }
  return out;
}

/* The descriptor of FUSE-thread handle fh, checked against path as its next read would (for a JS
   write or ftruncate on it while the gate is closed), or -EBADF. */
NAPI_METHOD(jjfs_fast_file) {
  NAPI_ARGV(3)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  NAPI_ARGV_UINT32(fh, 1)
  NAPI_ARGV_UTF8(path, 4096, 2)
  int32_t fd = -EBADF;
  if (ft_len >= sizeof(fuse_thread_t) && ft->jjfs_files_ready && (fh & JJFS_FH_BIT) != 0 && path_len < 4095) {
    fd = jjfs_file_fd(ft, path, fh);
    if (fd < 0) fd = -EBADF;
  }
  NAPI_RETURN_INT32(fd)
}

/* The JS open's page decision (jjfs_keep_pages): 1 to keep the cached pages of the file at path, open as fd. */
NAPI_METHOD(jjfs_keep_pages_of) {
  NAPI_ARGV(2)
  NAPI_ARGV_UTF8(path, 4096, 0)
  NAPI_ARGV_INT32(fd, 1)
  NAPI_RETURN_INT32(path_len < 4095 ? jjfs_keep_pages(path, fd) : 0)
}

NAPI_METHOD(jjfs_inval_root_attrs) {
  NAPI_ARGV(1)
  NAPI_ARGV_BUFFER_CAST(fuse_thread_t *, ft, 0)
  /* FUSE_NOTIFY_INVAL_INODE (2) for node 1, the root (fixed in every FUSE file system), with a
     negative offset: the kernel drops the root's cached attributes and no page. Takes no lock. */
  struct { uint32_t len; int32_t error; uint64_t unique; uint64_t ino; int64_t off; int64_t len_; } out = { 40, 2, 0, 1, -1, 0 };
  NAPI_RETURN_INT32(jjfs_notify(ft, ft_len, &out, sizeof(out)))
}

NAPI_METHOD(jjfs_caller_uid) {`,
  },
  {
    name: 'export the epoch function',
    find: `  NAPI_EXPORT_FUNCTION(jjfs_mknod)`,
    replace: `  NAPI_EXPORT_FUNCTION(jjfs_mknod)
  NAPI_EXPORT_FUNCTION(jjfs_inc_epoch)
  NAPI_EXPORT_FUNCTION(jjfs_loop_handovers)
  NAPI_EXPORT_FUNCTION(jjfs_loop_reader_changes)
  NAPI_EXPORT_FUNCTION(jjfs_loop_spin_catches)
  NAPI_EXPORT_FUNCTION(jjfs_cache_listings)
  NAPI_EXPORT_FUNCTION(jjfs_listing_reads)
  NAPI_EXPORT_FUNCTION(jjfs_inval_root_attrs)
  NAPI_EXPORT_FUNCTION(jjfs_list_dir)
  NAPI_EXPORT_FUNCTION(jjfs_fast_root)
  NAPI_EXPORT_FUNCTION(jjfs_fast_allow)
  NAPI_EXPORT_FUNCTION(jjfs_fast_recheck)
  NAPI_EXPORT_FUNCTION(jjfs_fast_writes)
  NAPI_EXPORT_FUNCTION(jjfs_fast_take_notes)
  NAPI_EXPORT_FUNCTION(jjfs_fast_file)
  NAPI_EXPORT_FUNCTION(jjfs_keep_pages_of)`,
  },
  {
    // Pages kept across opens (src/fs/ops-files.ts, "Page cache"): open answers a second value,
    // 1 when the kernel may keep the file's cached pages (FOPEN_KEEP_CACHE), 0 when it must drop
    // them as usual. The JS side (INDEX_PATCHES) always sends both numbers.
    name: 'open: the handler may keep the page cache',
    find: `FUSE_METHOD(open, 2, 1, (const char *path, struct fuse_file_info *info), {`,
    replace: `FUSE_METHOD(open, 2, 2, (const char *path, struct fuse_file_info *info), {`,
  },
  {
    name: 'open: apply keep_cache',
    find: `}, {
  NAPI_ARGV_INT32(fd, 2)
  if (fd != 0) {
    l->info->fh = fd;
  }
})

FUSE_METHOD(opendir, 3, 1,`,
    replace: `}, {
  NAPI_ARGV_INT32(fd, 2)
  NAPI_ARGV_INT32(keep, 3)
  if (fd != 0) {
    l->info->fh = fd;
  }
  if (keep == 1) l->info->keep_cache = 1;
})

FUSE_METHOD(opendir, 3, 1,`,
  },
  {
    name: 'define the marker',
    find: `static const uint32_t op_utimens = 12;`,
    replace: `static const uint32_t op_utimens = 12;
static const uint32_t jjfs_utimens_patch = 1;
static const uint32_t jjfs_syscalls_patch = 4;
static pid_t jjfs_current_pid = 0;
static uid_t jjfs_current_uid = 0;
static gid_t jjfs_current_gid = 0;`,
  },
  {
    // The request loop (docs/fuse.md, "Threads and deadlocks"). libfuse's fuse_loop_mt keeps every
    // idle worker waiting in read(2) on /dev/fuse (up to ten). The kernel hands a request to the
    // worker that has waited longest, so a client whose next request follows an answer (an append's
    // FSYNC after its WRITE) never gets the worker that just answered it — still running, often
    // preempted by the very client it woke — but wakes another, sleeping one, on the other CPU:
    // an inter-processor interrupt and a wake-up per request (seen in fuse_request_send /
    // sched_switch traces; it was the whole gap to single-threaded bindfs on fsync'd appends).
    // So this loop keeps ONE worker reading (JJFS_FUSE_READERS, default 1): the kernel finds it
    // back in read(2) or about to be, and wakes nobody else. A worker that stays on one request
    // longer than the hand-over delay (JJFS_FUSE_HANDOVER_MS, default 1 ms) — waiting for the JS
    // thread, or for the disk in any handler — is replaced by the lookout, a thread of the loop
    // that looks every millisecond while requests come in (and sleeps once none has come for 50 ms):
    // a parked worker is woken or a new one started, so requests behind a slow one wait at most
    // about two milliseconds for a reader, never for the slow one, and the JS thread never waits
    // for a worker. A replaced worker, its request answered, reads again if fewer than READERS do,
    // else parks (at most JJFS_LOOP_SPARES parked; beyond that it ends). A worker that answered a
    // request then looks for the next one for up to JJFS_FUSE_SPIN_US (default 20 µs, 0: off) with
    // poll(2) before it sleeps in read(2): a client's next request (the next stat of a find, the
    // READ after an OPEN) most often comes within microseconds, and found so it costs no wake-up
    // of a sleeping worker on the other CPU, which was most of a request's time (measured
    // 2026-12-06: reading 2,000 small files back took 49.6 ms with the client and the mount pinned
    // to one CPU and 91.6 on two; bindfs 44.7 and 84.7). JJFS_FUSE_LOOP=libfuse runs fuse_loop_mt
    // instead (bench/fuse-bench.mjs --loop compares them).
    name: 'the request loop',
    find: `static void* start_fuse_thread (void *data) {
  fuse_thread_t *ft = (fuse_thread_t *) data;
  fuse_loop_mt(ft->fuse);`,
    replace: `#include <signal.h>
#include <poll.h>
#include <sched.h>

#define JJFS_LOOP_SPARES 8
/* The lookout looks this often while requests come in, and sleeps after this many looks with none. */
#define JJFS_LOOKOUT_TICK_NS 1000000LL
#define JJFS_LOOKOUT_IDLE_TICKS 50
/* jjfs_worker_t.busy of a worker the lookout replaced (a start time is never this). */
#define JJFS_REPLACED UINT64_MAX

typedef struct jjfs_loop jjfs_loop_t;

typedef struct jjfs_worker {
  struct jjfs_worker *prev, *next;
  pthread_t thread;
  jjfs_loop_t *loop;
  char *buf;
  /* 0 while reading; the CLOCK_MONOTONIC ns it took its request at while serving it; JJFS_REPLACED
     once the lookout replaced it. Atomic: the worker sets and clears it, the lookout only swaps a
     start time for JJFS_REPLACED (compare-and-swap, so exactly one of them wins the end of a
     request: the worker's exchange back to 0 sees whether it was replaced). */
  uint64_t busy;
} jjfs_worker_t;

struct jjfs_loop {
  fuse_thread_t *ft;
  struct fuse_session *se;
  struct fuse_chan *ch;
  struct fuse_chan *listing_ch; /* OPENDIR answers go out through it (jjfs_listing_send), NULL: none */
  size_t bufsize;
  int target;            /* how many workers read */
  uint64_t delay_ns;     /* how long a worker may stay on one request before it is replaced */
  uint64_t spin_ns;      /* how long a worker looks for the next request before it sleeps in read(2) */
  uint32_t starts;       /* requests taken (atomic; the lookout sleeps when it stops moving) */
  int lookout_asleep;    /* the lookout sleeps until a request comes (atomic; set under lock) */
  pthread_t lookout;
  int lookout_running;
  jjfs_worker_t *last;   /* the worker that took the previous request (atomic; for reader_changes) */
  pthread_mutex_t lock;  /* guards everything below, and the lookout's swaps */
  pthread_cond_t spare;  /* parked workers wait here for a token */
  pthread_cond_t done;   /* the loop thread waits here for the session to end */
  pthread_cond_t look;   /* the lookout waits here (CLOCK_MONOTONIC) */
  int readers;           /* workers reading or serving, not replaced, not parked */
  int parked;
  int tokens;            /* wake-ups given to parked workers and not yet taken */
  int ended;             /* a worker saw the session end */
  int exiting;
  int error;
  jjfs_worker_t workers; /* list head: every worker not yet joined */
};

static uint64_t jjfs_now_ns (void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t) t.tv_sec * 1000000000ULL + (uint64_t) t.tv_nsec;
}

/* fuse-native sets each thread up on its first request through the JS thread, which allocates the
   thread's locals (a Buffer it keeps for good) and a uv_async handle for it; nothing frees them. A
   worker that ends leaves its locals on the mount's spare list (get_thread_locals takes them from
   there), so a mount holds as many as it ever ran workers at once, however many start and end. The
   locals are idle here: the worker's request was answered, so the JS thread is done with them. */
static void jjfs_locals_give_back (void) {
  fuse_thread_locals_t *l = (fuse_thread_locals_t *) pthread_getspecific(thread_locals_key);
  if (l == NULL) return;
  fuse_thread_t *ft = l->fuse;
  pthread_setspecific(thread_locals_key, NULL);
  uv_mutex_lock(&(ft->mut));
  l->jjfs_next_spare = ft->jjfs_spare_locals;
  ft->jjfs_spare_locals = l;
  uv_mutex_unlock(&(ft->mut));
}

static void *jjfs_loop_work (void *data);

/* The listing channel's send (see jjfs_listing_answer): the answer to the OPENDIR this thread is
   serving, with the flags its opendir handler chose added, out through the connection's channel.
   libfuse answers an OPENDIR with two parts, the 16-byte out header and the 16-byte open answer
   ({ fh, open_flags, padding }, fixed by the protocol); anything else (an error) goes out as it is. */
static int jjfs_listing_send (struct fuse_chan *ch, const struct iovec iov[], size_t count) {
  struct fuse_chan *real = (struct fuse_chan *) fuse_chan_data(ch);
  uint32_t add = jjfs_listing_flags;
  jjfs_listing_flags = 0;
  struct open_out { uint64_t fh; uint32_t open_flags; uint32_t padding; };
  if (add != 0 && count == 2 && iov[0].iov_len == 16 && ((const int32_t *) iov[0].iov_base)[1] == 0 && iov[1].iov_len == sizeof(struct open_out)) {
    struct open_out out;
    memcpy(&out, iov[1].iov_base, sizeof(out));
    out.open_flags |= add;
    struct iovec with[2] = { iov[0], { .iov_base = &out, .iov_len = sizeof(out) } };
    return fuse_chan_send(real, with, 2);
  }
  return fuse_chan_send(real, iov, count);
}

/* Requests are read from the connection's channel; this one only sends. */
static int jjfs_listing_receive (struct fuse_chan **chp, char *buf, size_t size) {
  (void) chp; (void) buf; (void) size;
  return -1;
}

static void jjfs_listing_destroy (struct fuse_chan *ch) {
  (void) ch;
}

static struct fuse_chan_ops jjfs_listing_ops = { .receive = jjfs_listing_receive, .send = jjfs_listing_send, .destroy = jjfs_listing_destroy };

/* FUSE_OPENDIR in fuse_in_header.opcode (the second 32-bit field). */
#define JJFS_FUSE_OPENDIR 27

/* Starts a worker; loop->lock held. 0, or -1 when no thread could be made. */
static int jjfs_loop_spawn (jjfs_loop_t *loop) {
  jjfs_worker_t *w = calloc(1, sizeof(*w));
  if (w == NULL) return -1;
  w->loop = loop;
  w->buf = malloc(loop->bufsize);
  if (w->buf == NULL) {
    free(w);
    return -1;
  }
  /* Workers take no signals (they stay with the JS thread), as libfuse's loop does. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int res = pthread_create(&w->thread, NULL, jjfs_loop_work, w);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (res != 0) {
    free(w->buf);
    free(w);
    return -1;
  }
  w->next = loop->workers.next;
  w->prev = &loop->workers;
  loop->workers.next->prev = w;
  loop->workers.next = w;
  return 0;
}

static void jjfs_loop_unlink (jjfs_worker_t *w) {
  w->prev->next = w->next;
  w->next->prev = w->prev;
}

/* Brings readers back up to target: a parked worker is woken (counted as a reader from here, so
   two calls never both wake one) or a new one started. If no thread can be started, requests wait
   until a worker is back. loop->lock held. */
static void jjfs_loop_refill (jjfs_loop_t *loop) {
  while (loop->readers < loop->target && !loop->exiting) {
    __atomic_add_fetch(&loop->ft->jjfs_handovers, 1, __ATOMIC_RELAXED);
    if (loop->parked > loop->tokens) {
      loop->tokens++;
      pthread_cond_signal(&loop->spare);
    } else if (jjfs_loop_spawn(loop) != 0) {
      break;
    }
    loop->readers++;
  }
}

/* The lookout: while requests come in, every tick it replaces each worker that has been on one
   request for longer than the delay (it stops counting as a reader; jjfs_loop_refill brings the
   readers back up). Asleep once JJFS_LOOKOUT_IDLE_TICKS ticks saw no request taken and no worker
   busy; jjfs_loop_work wakes it. Holds loop->lock except while it waits. */
static void *jjfs_loop_lookout (void *data) {
  jjfs_loop_t *loop = (jjfs_loop_t *) data;
  uint32_t seen = __atomic_load_n(&loop->starts, __ATOMIC_RELAXED);
  int idle = 0;
  pthread_mutex_lock(&loop->lock);
  while (!loop->exiting) {
    if (__atomic_load_n(&loop->lookout_asleep, __ATOMIC_SEQ_CST)) {
      pthread_cond_wait(&loop->look, &loop->lock);
      idle = 0;
      continue;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += JJFS_LOOKOUT_TICK_NS;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&loop->look, &loop->lock, &until);
    if (loop->exiting) break;
    uint64_t now = jjfs_now_ns();
    int busy = 0;
    for (jjfs_worker_t *w = loop->workers.next; w != &loop->workers; w = w->next) {
      uint64_t since = __atomic_load_n(&w->busy, __ATOMIC_SEQ_CST);
      if (since == 0 || since == JJFS_REPLACED) continue;
      busy = 1;
      if (now - since < loop->delay_ns) continue;
      /* Fails when the worker ended the request meanwhile: it stays a reader. */
      if (__atomic_compare_exchange_n(&w->busy, &since, JJFS_REPLACED, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        loop->readers--;
        jjfs_loop_refill(loop);
      }
    }
    uint32_t starts = __atomic_load_n(&loop->starts, __ATOMIC_RELAXED);
    idle = busy || starts != seen ? 0 : idle + 1;
    seen = starts;
    if (idle >= JJFS_LOOKOUT_IDLE_TICKS) {
      /* Asleep first, then a last look (both seq_cst): a worker sets busy and then reads
         lookout_asleep, so either it sees the lookout asleep and wakes it, or the look sees it. */
      __atomic_store_n(&loop->lookout_asleep, 1, __ATOMIC_SEQ_CST);
      for (jjfs_worker_t *w = loop->workers.next; w != &loop->workers; w = w->next) {
        uint64_t since = __atomic_load_n(&w->busy, __ATOMIC_SEQ_CST);
        if (since != 0 && since != JJFS_REPLACED) __atomic_store_n(&loop->lookout_asleep, 0, __ATOMIC_SEQ_CST);
      }
    }
  }
  pthread_mutex_unlock(&loop->lock);
  return NULL;
}

/* Wakes the lookout for a request a worker took while it slept (the lock orders this after the
   lookout's last look: it waits in pthread_cond_wait by the time we get the lock). */
static void jjfs_lookout_wake (jjfs_loop_t *loop) {
  pthread_mutex_lock(&loop->lock);
  if (__atomic_load_n(&loop->lookout_asleep, __ATOMIC_SEQ_CST)) {
    __atomic_store_n(&loop->lookout_asleep, 0, __ATOMIC_SEQ_CST);
    pthread_cond_signal(&loop->look);
  }
  pthread_mutex_unlock(&loop->lock);
}

/* After a request during which the lookout replaced this worker: read again if fewer than target
   workers do, else park until a token comes, or end when enough are parked. 0: read on; 1: leave
   the loop (the session is ending); 2: this worker is already freed and detached, return at once. */
static int jjfs_loop_return (jjfs_worker_t *w) {
  jjfs_loop_t *loop = w->loop;
  int end = 0;
  pthread_mutex_lock(&loop->lock);
  if (loop->exiting) {
    end = 1;
  } else if (loop->readers < loop->target) {
    loop->readers++;
  } else if (loop->parked - loop->tokens >= JJFS_LOOP_SPARES) {
    /* Enough spares: this one ends. Its thread locals go back first, with loop->lock released
       (jjfs_locals_give_back waits for the mount's mutex, which a worker setting up holds while it
       waits for the JS thread) and while the worker is still listed, so that a session ending
       meanwhile joins it before the mount's state can go away. */
    pthread_mutex_unlock(&loop->lock);
    jjfs_locals_give_back();
    pthread_mutex_lock(&loop->lock);
    if (loop->exiting) {
      pthread_mutex_unlock(&loop->lock);
      return 1;
    }
    /* Nobody joins it from here. */
    jjfs_loop_unlink(w);
    pthread_detach(w->thread);
    pthread_mutex_unlock(&loop->lock);
    free(w->buf);
    free(w);
    return 2;
  } else {
    loop->parked++;
    while (loop->tokens == 0 && !loop->exiting) pthread_cond_wait(&loop->spare, &loop->lock);
    loop->parked--;
    /* A token was given with the reader already counted (jjfs_loop_refill). */
    if (loop->tokens > 0) loop->tokens--;
    else end = 1;
  }
  pthread_mutex_unlock(&loop->lock);
  return end;
}

/* 1 when a request (or the connection's end) shows on fd within loop->spin_ns: poll(2) without a
   timeout registers no waiter, so the kernel's wake-up finds nobody to wake and nothing crosses to
   another CPU. sched_yield lets whatever else waits for this CPU (the JS thread, jj, the client
   itself) run first: the look costs only CPU nobody else wanted. */
static int jjfs_spin (jjfs_loop_t *loop, int fd) {
  uint64_t until = jjfs_now_ns() + loop->spin_ns;
  struct pollfd p = { .fd = fd, .events = POLLIN };
  for (;;) {
    p.revents = 0;
    if (poll(&p, 1, 0) != 0) return 1;
    if (jjfs_now_ns() >= until) return 0;
    sched_yield();
  }
}

static void *jjfs_loop_work (void *data) {
  jjfs_worker_t *w = (jjfs_worker_t *) data;
  jjfs_loop_t *loop = w->loop;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
  int answered = 0;
  while (!fuse_session_exited(loop->se)) {
    struct fuse_chan *ch = loop->ch;
    struct fuse_buf fbuf = { .mem = w->buf, .size = loop->bufsize };
    /* After an answer, look for the client's next request for up to spin_ns before sleeping in
       read(2) (see "the request loop" above): one that comes meanwhile is read without the
       wake-up. Cancel stays disabled here; the wait is bounded, and the read below is where a
       session's end cancels a worker. */
    if (answered && loop->spin_ns > 0 && jjfs_spin(loop, fuse_chan_fd(ch))) __atomic_add_fetch(&loop->ft->jjfs_spin_catches, 1, __ATOMIC_RELAXED);
    answered = 1;
    /* Cancellable only while waiting for a request, so a worker is never cancelled half-way
       through one (the loop thread cancels readers when the session ends, as libfuse's does). */
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    int res = fuse_session_receive_buf(loop->se, &fbuf, &ch);
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    if (res == -EINTR) continue;
    if (res <= 0) {
      if (res < 0) {
        fuse_session_exit(loop->se);
        loop->error = -1;
      }
      break;
    }
    /* Busy from here (never 0: a start time of 0 would read as "reading"), then a look at the
       lookout (after the store: see jjfs_loop_lookout). */
    __atomic_store_n(&w->busy, jjfs_now_ns() | 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&loop->starts, 1, __ATOMIC_RELAXED);
    if (__atomic_exchange_n(&loop->last, w, __ATOMIC_RELAXED) != w) __atomic_add_fetch(&loop->ft->jjfs_reader_changes, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&loop->lookout_asleep, __ATOMIC_SEQ_CST)) jjfs_lookout_wake(loop);
    /* An OPENDIR is answered through the listing channel (a request read into memory: the loop
       never asks for splice reads). */
    struct fuse_chan *reply = ch;
    if (loop->listing_ch != NULL && (fbuf.flags & FUSE_BUF_IS_FD) == 0 && res >= 8 && ((const uint32_t *) fbuf.mem)[1] == JJFS_FUSE_OPENDIR) reply = loop->listing_ch;
    jjfs_listing_flags = 0;
    fuse_session_process_buf(loop->se, &fbuf, reply);
    if (__atomic_exchange_n(&w->busy, 0, __ATOMIC_SEQ_CST) == JJFS_REPLACED) {
      int end = jjfs_loop_return(w);
      if (end == 2) return NULL;
      if (end) break;
    }
  }
  pthread_mutex_lock(&loop->lock);
  loop->ended = 1;
  pthread_cond_signal(&loop->done);
  pthread_mutex_unlock(&loop->lock);
  return NULL;
}

/* fuse_loop_mt, with the workers above (the high-level fuse_loop_mt only adds the cleanup thread of
   the "remember" option, which jjfs mounts do not use). */
static int jjfs_loop_run (fuse_thread_t *ft) {
  struct fuse *f = ft->fuse;
  jjfs_loop_t loop;
  memset(&loop, 0, sizeof(loop));
  loop.ft = ft;
  loop.se = fuse_get_session(f);
  loop.ch = fuse_session_next_chan(loop.se, NULL);
  loop.bufsize = fuse_chan_bufsize(loop.ch);
  const char *listings = getenv("JJFS_LISTING_CACHE");
  if (listings == NULL || strcmp(listings, "off") != 0) {
    loop.listing_ch = fuse_chan_new(&jjfs_listing_ops, fuse_chan_fd(loop.ch), loop.bufsize, loop.ch);
    if (loop.listing_ch != NULL) __atomic_store_n(&ft->jjfs_listing_loop, 1, __ATOMIC_SEQ_CST);
  }
  const char *env = getenv("JJFS_FUSE_READERS");
  loop.target = env != NULL && atoi(env) > 0 && atoi(env) <= 64 ? atoi(env) : 1;
  env = getenv("JJFS_FUSE_HANDOVER_MS");
  loop.delay_ns = (uint64_t) (env != NULL && atoi(env) > 0 && atoi(env) <= 60000 ? atoi(env) : 1) * 1000000ULL;
  env = getenv("JJFS_FUSE_SPIN_US");
  loop.spin_ns = (uint64_t) (env != NULL && atoi(env) >= 0 && atoi(env) <= 1000 && (atoi(env) > 0 || strcmp(env, "0") == 0) ? atoi(env) : 20) * 1000ULL;
  loop.workers.next = loop.workers.prev = &loop.workers;
  pthread_mutex_init(&loop.lock, NULL);
  pthread_cond_init(&loop.spare, NULL);
  pthread_cond_init(&loop.done, NULL);
  pthread_condattr_t look_attr;
  pthread_condattr_init(&look_attr);
  pthread_condattr_setclock(&look_attr, CLOCK_MONOTONIC);
  pthread_cond_init(&loop.look, &look_attr);
  pthread_condattr_destroy(&look_attr);
  pthread_mutex_lock(&loop.lock);
  for (int i = 0; i < loop.target; i++) {
    if (jjfs_loop_spawn(&loop) == 0) loop.readers++;
  }
  /* Without a lookout a slow request would hold up every one behind it: no loop then. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  loop.lookout_running = loop.readers > 0 && pthread_create(&loop.lookout, NULL, jjfs_loop_lookout, &loop) == 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (!loop.lookout_running) {
    loop.error = -1;
    fuse_session_exit(loop.se);
  } else {
    while (!loop.ended) pthread_cond_wait(&loop.done, &loop.lock);
  }
  loop.exiting = 1;
  pthread_cond_broadcast(&loop.spare);
  pthread_cond_signal(&loop.look);
  /* The lookout first, with the lock released (it takes it to see exiting): it walks the list. */
  if (loop.lookout_running) {
    pthread_mutex_unlock(&loop.lock);
    pthread_join(loop.lookout, NULL);
    pthread_mutex_lock(&loop.lock);
  }
  for (jjfs_worker_t *w = loop.workers.next; w != &loop.workers; w = w->next) pthread_cancel(w->thread);
  /* Joined one by one with the lock released: a replaced worker back from JS takes it to see exiting. */
  while (loop.workers.next != &loop.workers) {
    jjfs_worker_t *w = loop.workers.next;
    jjfs_loop_unlink(w);
    pthread_mutex_unlock(&loop.lock);
    pthread_join(w->thread, NULL);
    free(w->buf);
    free(w);
    pthread_mutex_lock(&loop.lock);
  }
  pthread_mutex_unlock(&loop.lock);
  /* Every worker is joined or gone: nothing sends through the listing channel any more. */
  __atomic_store_n(&ft->jjfs_listing_loop, 0, __ATOMIC_SEQ_CST);
  if (loop.listing_ch != NULL) fuse_chan_destroy(loop.listing_ch);
  pthread_cond_destroy(&loop.look);
  pthread_cond_destroy(&loop.done);
  pthread_cond_destroy(&loop.spare);
  pthread_mutex_destroy(&loop.lock);
  fuse_session_reset(loop.se);
  return loop.error;
}

static void* start_fuse_thread (void *data) {
  fuse_thread_t *ft = (fuse_thread_t *) data;
  const char *loop = getenv("JJFS_FUSE_LOOP");
  if (loop != NULL && strcmp(loop, "libfuse") == 0) fuse_loop_mt(ft->fuse);
  else jjfs_loop_run(ft);`,
  },
];

/**
 * Exact text replacements applied to fuse-native's index.js (same rules as PATCHES). The stat
 * array gains three uint32 (nanoseconds within the millisecond of atime, mtime, ctime), filled
 * from the bigint `atimeNs` / `mtimeNs` / `ctimeNs` a stat may carry (src/fs/ops-errno.ts); the
 * patched C code (PATCHES, "stat: …") adds them. Times before 1970 keep fuse-native's behaviour.
 */
const INDEX_PATCHES = [
  {
    name: 'stat array: room for nanoseconds',
    find: `function getStatArray (stat) {
  const ints = new Uint32Array(18)`,
    replace: `function jjfsSetNs (ints, msIdx, nsIdx, ns) {
  if (typeof ns !== 'bigint' || ns < 0n) return
  const ms = ns / 1000000n
  setDoubleInt(ints, msIdx, Number(ms))
  ints[nsIdx] = Number(ns - ms * 1000000n)
}

function getStatArray (stat) {
  const ints = new Uint32Array(21) /* jjfs: was 18; [18..20] nanoseconds within the ms */`,
  },
  {
    name: 'stat array: fill the nanoseconds',
    find: `  setDoubleInt(ints, 16, toDateMS(stat && stat.ctime))

  return ints`,
    replace: `  setDoubleInt(ints, 16, toDateMS(stat && stat.ctime))
  if (stat) {
    jjfsSetNs(ints, 12, 18, stat.atimeNs)
    jjfsSetNs(ints, 14, 19, stat.mtimeNs)
    jjfsSetNs(ints, 16, 20, stat.ctimeNs)
  }

  return ints`,
  },
  {
    // Both numbers always (a missing one would make the C side throw instead of answering).
    name: 'open: pass keep_cache',
    find: `  _op_open (signal, path, flags) {
    this.ops.open(path, flags, (err, fd) => {
      return signal(err, fd)
    })
  }`,
    replace: `  _op_open (signal, path, flags) {
    this.ops.open(path, flags, (err, fd, keep) => {
      return signal(err, fd || 0, keep === true ? 1 : 0)
    })
  }`,
  },
  {
    name: 'open: defaults for both numbers',
    find: `  ['open', {
    op: binding.op_open,
    defaults: [0]
  }],`,
    replace: `  ['open', {
    op: binding.op_open,
    defaults: [0, 0]
  }],`,
  },
];

function warn(message) {
  process.stderr.write(
    `[jjfs] WARNING: patched fuse-native not built: ${message}\n` +
      `[jjfs]   jjfs will use the stock fuse-native prebuild: file mtimes set through a mount ` +
      `(touch -m, cp -p, tar, rsync -t) will be WRONG. Fix the cause and run ` +
      `\`node native-shims/build-fuse.mjs\`.\n`,
  );
}

function log(message) {
  process.stdout.write(`[jjfs] ${message}\n`);
}

/** node-gyp: the one npm passes to scripts, else the one bundled with npm, else a local one. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) {
    candidates.push(path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  candidates.push(
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  );
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally; fine
  }
  return candidates.find((c) => fs.existsSync(c));
}

/** A directory with include/node/node_api.h, so node-gyp never downloads headers. */
function findNodeDir() {
  const candidates = [process.env.npm_config_nodedir, path.join(path.dirname(process.execPath), '..')];
  return candidates
    .filter((c) => typeof c === 'string' && c.length > 0)
    .map((c) => path.resolve(c))
    .find((c) => fs.existsSync(path.join(c, 'include', 'node', 'node_api.h')) && fs.existsSync(path.join(c, 'include', 'node', 'common.gypi')));
}

function applyPatches(source, patches = PATCHES, file = 'fuse-native.c') {
  let out = source;
  for (const p of patches) {
    const count = out.split(p.find).length - 1;
    if (count !== 1) throw new Error(`patch "${p.name}": expected the original text exactly once in ${file}, found ${count} (different fuse-native version?)`);
    out = out.replace(p.find, () => p.replace);
  }
  return out;
}

function main() {
  const force = process.argv.includes('--force');
  if (process.platform !== 'linux') {
    warn(`platform ${process.platform} is not supported by this build script (linux only)`);
    return;
  }
  const t0 = Date.now();
  const req = createRequire(import.meta.url);
  const fnPkgJson = req.resolve('fuse-native/package.json');
  const fnDir = path.dirname(fnPkgJson);
  const fnReq = createRequire(fnPkgJson);
  const napiMacrosDir = path.dirname(fnReq.resolve('napi-macros/package.json'));
  const fuseShared = fnReq('fuse-shared-library');
  const fuseInclude = fuseShared.include;
  const fuseLib = fuseShared.lib;
  for (const [what, p] of [['napi-macros', napiMacrosDir], ['libfuse headers', path.join(fuseInclude, 'fuse.h')], ['libfuse library', fuseLib]]) {
    if (!fs.existsSync(p)) throw new Error(`${what} not found at ${p}`);
  }

  const original = fs.readFileSync(path.join(fnDir, 'fuse-native.c'), 'utf8');
  const patched = applyPatches(original);
  const semaphore = fs.readFileSync(path.join(fnDir, 'semaphore.h'), 'utf8');
  const indexJs = applyPatches(fs.readFileSync(path.join(fnDir, 'index.js'), 'utf8'), INDEX_PATCHES, 'index.js');
  const hash = createHash('sha256')
    .update(patched)
    .update(semaphore)
    .update(indexJs)
    .update(fs.readFileSync(fileURLToPath(import.meta.url)))
    .update(`${process.versions.modules}|${process.versions.napi}|${process.arch}|${fuseLib}`)
    .digest('hex');

  const stampPath = path.join(target, STAMP);
  if (!force && fs.existsSync(stampPath) && fs.existsSync(path.join(target, 'build', 'Release', 'fuse.node'))) {
    try {
      if (JSON.parse(fs.readFileSync(stampPath, 'utf8')).hash === hash) {
        log(`patched fuse-native is up to date (${path.relative(process.cwd(), target) || target})`);
        return;
      }
    } catch {
      // unreadable stamp: rebuild
    }
  }

  const nodeGyp = findNodeGyp();
  if (!nodeGyp) throw new Error('node-gyp not found (neither $npm_config_node_gyp nor the copy bundled with npm)');
  const nodeDir = findNodeDir();
  if (!nodeDir) throw new Error(`no local Node headers (include/node/node_api.h) next to ${process.execPath}; refusing to download them`);

  // Build in a staging directory and rename at the end, so a half-built tree is never loaded.
  fs.mkdirSync(buildRoot, { recursive: true });
  const staging = fs.mkdtempSync(path.join(buildRoot, '.staging-'));
  try {
    const stage = path.join(staging, 'fuse-native');
    // No prebuilds/ in the copy: if our build is missing, node-gyp-build must fail, not silently
    // load the stock binary from here.
    fs.cpSync(fnDir, stage, {
      recursive: true,
      filter: (src) => !['prebuilds', 'test', 'build', 'node_modules'].includes(path.relative(fnDir, src).split(path.sep)[0] ?? ''),
    });
    fs.writeFileSync(path.join(stage, 'fuse-native.c'), patched);
    fs.writeFileSync(path.join(stage, 'index.js'), indexJs);
    // Our own binding.gyp: absolute include/library paths (no `node -e require(...)` resolution from
    // a directory outside node_modules) and an rpath of $ORIGIN, next to which we put libfuse.so.2,
    // so the patched addon loads even without LD_LIBRARY_PATH.
    const gyp = {
      targets: [
        {
          target_name: 'fuse',
          include_dirs: [napiMacrosDir, fuseInclude],
          libraries: [fuseLib],
          sources: ['fuse-native.c'],
          cflags: ['-g', '-O2', '-Wall', '-Wno-unused-result'],
          ldflags: ["-Wl,-rpath,'$$ORIGIN'"],
        },
      ],
    };
    fs.writeFileSync(path.join(stage, 'binding.gyp'), JSON.stringify(gyp, null, 2));

    const env = { ...process.env, npm_config_nodedir: nodeDir };
    const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodeDir}`, '--jobs=2', '--loglevel=warn'], {
      cwd: stage,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) {
      const tail = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-25).join('\n');
      throw new Error(`node-gyp rebuild failed (${r.error ? r.error.message : `exit ${r.status}`}):\n${tail}`);
    }
    // The compiler's warnings (-Wall) are shown, not swallowed with the rest of node-gyp's output:
    // in a patch of C that the addon runs on every request, a warning is usually a bug.
    const warnings = `${r.stderr ?? ''}${r.stdout ?? ''}`.split('\n').filter((l) => /\bwarning:/.test(l));
    for (const w of warnings) process.stderr.write(`[jjfs] compiler warning in the patched fuse-native: ${w.trim()}\n`);
    const release = path.join(stage, 'build', 'Release');
    fs.copyFileSync(fuseLib, path.join(release, 'libfuse.so.2'));
    // Drop intermediate objects; keep only what is loaded.
    for (const entry of fs.readdirSync(release)) {
      if (!['fuse.node', 'libfuse.so.2'].includes(entry)) fs.rmSync(path.join(release, entry), { recursive: true, force: true });
    }

    // Prove it loads (in a child, with no LD_LIBRARY_PATH: the rpath must suffice) and is ours.
    const probe = spawnSync(
      process.execPath,
      ['-e', `const b = require(${JSON.stringify(path.join(release, 'fuse.node'))}); if (b.jjfs_utimens_patch !== 1) process.exit(3)`],
      { env: { ...process.env, LD_LIBRARY_PATH: '' }, encoding: 'utf8', timeout: 30_000 },
    );
    if (probe.status !== 0) throw new Error(`built addon does not load: ${(probe.stderr ?? '').trim() || `exit ${probe.status}`}`);

    fs.writeFileSync(
      path.join(stage, STAMP),
      JSON.stringify({ hash, fuseNative: JSON.parse(fs.readFileSync(fnPkgJson, 'utf8')).version, node: process.version, builtAt: new Date().toISOString() }, null, 2) + '\n',
    );
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(stage, target);
    log(`built patched fuse-native (utimens mtime fix) in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${target}`);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  // Leave no older patched build behind: the loader must fall back to the stock prebuild
  // predictably (and say so via mtimeFixed: false) rather than load something out of date.
  fs.rmSync(target, { recursive: true, force: true });
  warn(err instanceof Error ? err.message : String(err));
}
process.exitCode = 0;
