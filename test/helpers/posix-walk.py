#!/usr/bin/env python3
"""Syscall-level walk for test/posix-conformance.test.ts: every operation on every file type.

Usage: posix-walk.py ROOT  -> prints one JSON object {case: outcome} on stdout.

Run once in a plain directory and once in a jjfs mount; the test compares the two outputs and
expects no difference. Each case gets a fresh directory with the fixture in it, so cases do not
depend on each other. An outcome is the errno name of a failed call, or a summary of what the call
returned and of the state it left (file type, permission bits, link count, size, content, the
times set) — never inode numbers or the current time, which differ between two directories.

Python, not Node: Node has no mknod, mkfifo, xattr calls, nanosecond utimes or raw open flags.
"""
import errno
import json
import os
import socket
import stat
import sys
import time

ROOT = sys.argv[1]
TYPES = ['file', 'exec', 'emptydir', 'fulldir', 'fifo', 'socket', 'symlink', 'dangling', 'chardev']
NS = (1_600_000_000_123_456_789, 1_500_000_000_987_654_321)


def make(path, kind):
    if kind == 'file':
        with open(path, 'wb') as f:
            f.write(b'hello world\n')
        os.chmod(path, 0o644)
    elif kind == 'exec':
        with open(path, 'wb') as f:
            f.write(b'#!/bin/sh\n')
        os.chmod(path, 0o755)
    elif kind == 'emptydir':
        os.mkdir(path, 0o755)
    elif kind == 'fulldir':
        os.mkdir(path, 0o755)
        with open(os.path.join(path, 'inner'), 'wb') as f:
            f.write(b'inner\n')
    elif kind == 'fifo':
        os.mkfifo(path, 0o644)
    elif kind == 'socket':
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()
        os.chmod(path, 0o755)
    elif kind == 'symlink':
        with open(path + '.target', 'wb') as f:
            f.write(b'target\n')
        os.symlink(os.path.basename(path) + '.target', path)
    elif kind == 'dangling':
        os.symlink('nowhere', path)
    elif kind == 'chardev':
        os.mknod(path, 0o644 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers
    else:
        raise ValueError(kind)


def kind_of(mode):
    for name, test in (('reg', stat.S_ISREG), ('dir', stat.S_ISDIR), ('fifo', stat.S_ISFIFO), ('sock', stat.S_ISSOCK),
                       ('lnk', stat.S_ISLNK), ('chr', stat.S_ISCHR), ('blk', stat.S_ISBLK)):
        if test(mode):
            return name
    return '?'


def describe(st):
    d = {'type': kind_of(st.st_mode), 'perm': oct(stat.S_IMODE(st.st_mode)), 'nlink': st.st_nlink,
         'uid': st.st_uid, 'gid': st.st_gid}
    if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
        d['size'] = st.st_size
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        d['rdev'] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
    return d


def state(path):
    try:
        st = os.lstat(path)
    except OSError as e:
        return errno.errorcode[e.errno]
    d = describe(st)
    if stat.S_ISREG(st.st_mode):
        with open(path, 'rb') as f:
            d['content'] = f.read().decode('latin-1')
    if stat.S_ISDIR(st.st_mode):
        d['entries'] = sorted(os.listdir(path))
    if stat.S_ISLNK(st.st_mode):
        d['target'] = os.readlink(path)
    return d


def attempt(fn):
    try:
        r = fn()
        return {'ok': r}
    except OSError as e:
        return {'err': errno.errorcode.get(e.errno, str(e.errno))}


def open_and(path, flags, then=None):
    def run():
        fd = os.open(path, flags, 0o600)
        try:
            st = os.fstat(fd)
            out = {'fstat': describe(st)}
            if then:
                out['then'] = then(fd)
            return out
        finally:
            os.close(fd)
    return run


def ctime_moves(path, op, follow=False):
    """Whether `op` changed the ctime (for link/rename/chmod/...: POSIX says it must)."""
    def run():
        before = (os.stat if follow else os.lstat)(path).st_ctime_ns
        # ctime comes from the kernel's coarse clock (a tick of a few ms): wait until the clock has
        # moved past the fixture's ctime, however long a busy machine takes for that.
        while time.time_ns() < before + 20_000_000:
            time.sleep(0.005)
        op()
        return (os.stat if follow else os.lstat)(path).st_ctime_ns != before
    return run


def utimes(path, follow):
    def run():
        os.utime(path, ns=NS, follow_symlinks=follow)
        st = os.stat(path) if follow else os.lstat(path)
        return [st.st_atime_ns, st.st_mtime_ns]
    return run


def xattrs(path, follow):
    def run():
        os.setxattr(path, 'user.jjfs', b'value', follow_symlinks=follow)
        got = os.getxattr(path, 'user.jjfs', follow_symlinks=follow)
        names = sorted(n for n in os.listxattr(path, follow_symlinks=follow) if n.startswith('user.'))
        os.removexattr(path, 'user.jjfs', follow_symlinks=follow)
        after = sorted(n for n in os.listxattr(path, follow_symlinks=follow) if n.startswith('user.'))
        return [got.decode(), names, after]
    return run


def single_cases(x, d):
    """Operations on one name `x` (in directory `d`)."""
    other = os.path.join(d, 'fresh')
    return {
        'lstat': lambda: describe(os.lstat(x)),
        'stat': lambda: describe(os.stat(x)),
        'access-r': lambda: os.access(x, os.R_OK),
        'access-w': lambda: os.access(x, os.W_OK),
        'access-x': lambda: os.access(x, os.X_OK),
        'open-r': open_and(x, os.O_RDONLY | os.O_NONBLOCK),
        'open-w': open_and(x, os.O_WRONLY | os.O_NONBLOCK),
        'open-rw': open_and(x, os.O_RDWR | os.O_NONBLOCK),
        'open-excl': open_and(x, os.O_WRONLY | os.O_CREAT | os.O_EXCL),
        'open-creat': open_and(x, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK),
        'open-trunc': open_and(x, os.O_WRONLY | os.O_TRUNC | os.O_NONBLOCK),
        'open-append': open_and(x, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK, lambda fd: os.write(fd, b'zz')),
        'open-directory': open_and(x, os.O_RDONLY | os.O_DIRECTORY),
        'open-nofollow': open_and(x, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK),
        'open-path-nofollow': open_and(x, os.O_PATH | os.O_NOFOLLOW),
        'read': open_and(x, os.O_RDONLY | os.O_NONBLOCK, lambda fd: os.read(fd, 100).decode('latin-1')),
        'pwrite-read': open_and(x, os.O_RDWR | os.O_NONBLOCK, lambda fd: [os.pwrite(fd, b'XY', 3), os.pread(fd, 100, 0).decode('latin-1')]),
        'truncate': lambda: os.truncate(x, 2),
        'chmod': lambda: os.chmod(x, 0o640),
        'chmod-setuid': lambda: os.chmod(x, 0o4755),
        'chmod-sticky': lambda: os.chmod(x, 0o1777),
        'chown': lambda: os.chown(x, 1234, 4321),
        'lchown': lambda: os.lchown(x, 1234, 4321),
        'chown-keep': lambda: os.chown(x, -1, -1),
        'utimes': utimes(x, True),
        'lutimes': utimes(x, False),
        'utimes-now': lambda: os.utime(x, None),
        'link': lambda: os.link(x, other, follow_symlinks=False),
        'link-follow': lambda: os.link(x, other, follow_symlinks=True),
        'rename-fresh': lambda: os.rename(x, other),
        'rename-self': lambda: os.rename(x, x),
        'rename-into-self': lambda: os.rename(x, os.path.join(x, 'sub')),
        'unlink': lambda: os.unlink(x),
        'rmdir': lambda: os.rmdir(x),
        'mkdir-over': lambda: os.mkdir(x),
        'mkfifo-over': lambda: os.mkfifo(x),
        'symlink-over': lambda: os.symlink('t', x),
        'link-over': lambda: os.link(os.path.join(d, 'spare'), x),
        'readlink': lambda: os.readlink(x),
        'listdir': lambda: sorted(os.listdir(x)),
        'rmdir-child': lambda: os.rmdir(os.path.join(x, 'inner')),
        'unlink-child': lambda: os.unlink(os.path.join(x, 'inner')),
        'create-child': lambda: os.close(os.open(os.path.join(x, 'new'), os.O_CREAT | os.O_WRONLY, 0o644)),
        'xattr': xattrs(x, True),
        'lxattr': xattrs(x, False),
        'getxattr-missing': lambda: os.getxattr(x, 'user.none', follow_symlinks=False),
        'ctime-chmod': ctime_moves(x, lambda: os.chmod(x, 0o600, follow_symlinks=True), follow=True),
        'ctime-chown': ctime_moves(x, lambda: os.lchown(x, 0, 0)),
        'ctime-link': ctime_moves(x, lambda: os.link(x, other, follow_symlinks=False)),
        'ctime-rename': ctime_moves(x, lambda: (os.rename(x, x + '2'), os.rename(x + '2', x))),
        'ctime-truncate': ctime_moves(x, lambda: os.truncate(x, 1), follow=True),
    }


def run_case(name, fn, d, names):
    outcome = attempt(fn)
    outcome['after'] = {n: state(os.path.join(d, n)) for n in names}
    return outcome


def main():
    results = {}
    n = 0

    def fresh():
        nonlocal n
        n += 1
        d = os.path.join(ROOT, f'c{n}')
        os.mkdir(d, 0o755)
        with open(os.path.join(d, 'spare'), 'wb') as f:
            f.write(b'spare\n')
        return d

    for kind in TYPES:
        probe = single_cases('', '')
        for op in probe:
            d = fresh()
            x = os.path.join(d, 'x')
            make(x, kind)
            results[f'{op} {kind}'] = run_case(op, single_cases(x, d)[op], d, sorted(os.listdir(d)) + ['fresh'])
    # rename and link of every type onto every type
    for src in TYPES:
        for dst in TYPES:
            for op, fn in (('rename', os.rename), ('link', lambda a, b: os.link(a, b, follow_symlinks=False))):
                d = fresh()
                a, b = os.path.join(d, 'a'), os.path.join(d, 'b')
                make(a, src)
                make(b, dst)
                results[f'{op} {src} onto {dst}'] = run_case(op, lambda: fn(a, b), d, sorted(os.listdir(d)))
    # names
    d = fresh()
    results['create name of 255'] = attempt(lambda: os.close(os.open(os.path.join(d, 'n' * 255), os.O_CREAT | os.O_WRONLY, 0o644)))
    results['create name of 256'] = attempt(lambda: os.close(os.open(os.path.join(d, 'n' * 256), os.O_CREAT | os.O_WRONLY, 0o644)))
    results['mkdir name of 256'] = attempt(lambda: os.mkdir(os.path.join(d, 'm' * 256)))
    results['stat missing'] = attempt(lambda: os.stat(os.path.join(d, 'missing')))
    results['stat through file'] = attempt(lambda: os.stat(os.path.join(d, 'spare', 'x')))
    results['mknod block'] = attempt(lambda: os.mknod(os.path.join(d, 'blk'), 0o600 | stat.S_IFBLK, os.makedev(7, 200)))
    results['mknod block state'] = state(os.path.join(d, 'blk'))
    results['umask'] = attempt(lambda: (os.umask(0o027), os.close(os.open(os.path.join(d, 'masked'), os.O_CREAT | os.O_WRONLY, 0o777)), os.mkdir(os.path.join(d, 'maskdir'), 0o777), os.mkfifo(os.path.join(d, 'maskfifo'), 0o777), os.umask(0o022))[-1])
    results['umask state'] = {n: state(os.path.join(d, n)) for n in ('masked', 'maskdir', 'maskfifo')}
    json.dump(results, sys.stdout, sort_keys=True)


main()
