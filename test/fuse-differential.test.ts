/**
 * Randomized differential test: the same seeded sequence of file-system operations runs on a
 * native temp dir and through a jjfs mount; every result (value or error code) and the final trees
 * (type, content, mode bits, owners, link counts, symlink targets) must match. The operations
 * include FIFOs, sockets, device nodes, hard links, chmod/chown and nanosecond times.
 *
 * CI form: a few seeds × a few thousand ops (well under 60 s). Longer runs:
 *   JJFS_DIFF_SEEDS=20 JJFS_DIFF_OPS=20000 npx vitest run test/fuse-differential.test.ts
 * Reproduce one failure: JJFS_DIFF_SEED=<seed> (printed with the op index on mismatch).
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveMount, type ServedMount } from './helpers/serve-harness.js';

/** mulberry32: small, fast, good enough to pick operations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Op = { kind: string; args: (string | number)[]; data?: Buffer };
type Outcome = string;

const DIRS = ['', 'd0', 'd1', 'd0/e0', 'd1/e1'];
const LEAVES = ['f0', 'f1', 'f2', 'f3', 'd0', 'd1', 'e0', 'e1', 'l0'];
const MODES = [0o600, 0o644, 0o755, 0o700, 0o444, 0o640];
const OWNERS = [0, 1000, 65534];

/** The type of what `p` names (following symlinks when `follow`): f d l p s c b, or - when missing. */
function typeOf(p: string, follow = true): string {
  try {
    const st = follow ? fs.statSync(p) : fs.lstatSync(p);
    return st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFIFO() ? 'p' : st.isSocket() ? 's' : st.isCharacterDevice() ? 'c' : 'b';
  } catch {
    return '-';
  }
}

/** Runs a tool; its failure becomes E:<errno name> from its message (same on both sides). */
function tool(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status === 0) return 'ok';
  const m = /(File exists|No such file or directory|Not a directory|Operation not permitted|Permission denied|Is a directory|Too many levels)/.exec(r.stderr);
  return `E:${m ? m[1] : `exit ${r.status}`}`;
}

function genOp(rnd: () => number): Op {
  const pick = <T,>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const p = (): string => {
    const d = pick(DIRS);
    const leaf = pick(LEAVES);
    return d ? `${d}/${leaf}` : leaf;
  };
  const bytes = (n: number): Buffer => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
    return b;
  };
  const size = (): number => (rnd() < 0.8 ? Math.floor(rnd() * 5000) : Math.floor(rnd() * 300_000));
  const r = rnd();
  // Renames and rmdirs dismantle the directory skeleton; rebuild it now and then so that most
  // operations act on existing paths instead of failing with ENOENT.
  if (r < 0.04) return { kind: 'skeleton', args: [] };
  if (r < 0.12) return { kind: 'create', args: [p(), pick(['w', 'wx', 'a'])], data: bytes(Math.floor(rnd() * 3000)) };
  if (r < 0.24) return { kind: 'pwrite', args: [p(), size()], data: bytes(1 + Math.floor(rnd() * (rnd() < 0.9 ? 2000 : 200_000))) };
  if (r < 0.32) return { kind: 'append', args: [p()], data: bytes(Math.floor(rnd() * 4000)) };
  if (r < 0.38) return { kind: 'truncate', args: [p(), size()] };
  if (r < 0.46) return { kind: 'rename', args: [p(), p()] };
  if (r < 0.52) return { kind: 'unlink', args: [p()] };
  if (r < 0.6) return { kind: 'mkdir', args: [p(), pick(MODES) | 0o700] };
  if (r < 0.65) return { kind: 'rmdir', args: [p()] };
  if (r < 0.69) return { kind: 'symlink', args: [pick(LEAVES), p()] };
  if (r < 0.72) return { kind: 'link', args: [p(), p()] };
  if (r < 0.77) return { kind: 'chmod', args: [p(), pick(MODES)] };
  if (r < 0.8) return { kind: 'readdir', args: [pick(DIRS)] };
  if (r < 0.86) return { kind: 'stat', args: [p()] };
  if (r < 0.9) return { kind: 'read', args: [p()] };
  // Issue 13: special files, ownership, nanosecond times.
  if (r < 0.92) return { kind: 'mkfifo', args: [p()] };
  if (r < 0.93) return { kind: 'socket', args: [p()] };
  if (r < 0.94) return { kind: 'mknod', args: [p()] };
  if (r < 0.96) return { kind: 'chown', args: [p(), pick(OWNERS), pick(OWNERS)] };
  return { kind: 'utimes', args: [p(), 1_000_000_000 + Math.floor(rnd() * 1e9), Math.floor(rnd() * 1e9), rnd() < 0.5 ? 1 : 0] };
}

function sha(b: Buffer): string {
  return crypto.createHash('sha1').update(b).digest('hex').slice(0, 12);
}

/** Applies an op under `root`; returns a comparable description of the result. */
function apply(root: string, op: Op): Outcome {
  const P = (i: number): string => path.join(root, String(op.args[i]));
  // Opening a FIFO for data blocks until the other end opens it: the file ops leave FIFOs alone
  // (the same on both sides, as the type is the same). The kernel's FIFO itself is tested elsewhere.
  if (['create', 'pwrite', 'append', 'truncate', 'read'].includes(op.kind) && typeOf(P(0)) === 'p') return 'fifo';
  try {
    switch (op.kind) {
      case 'mkfifo':
        return tool('mkfifo', ['-m', '644', P(0)]);
      case 'socket':
        return tool('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', P(0)]);
      case 'mknod':
        return tool('mknod', ['-m', '600', P(0), 'c', '1', '3']);
      case 'chown':
        fs.lchownSync(P(0), Number(op.args[1]), Number(op.args[2]));
        return 'ok';
      case 'utimes': {
        // Nanoseconds set (through the symlink or on it) and read back exactly.
        const follow = op.args[3] === 1;
        const outcome = tool('touch', [...(follow ? [] : ['-h']), '-c', '-d', `@${op.args[1]}.${String(op.args[2]).padStart(9, '0')}`, P(0)]);
        if (outcome !== 'ok') return outcome;
        const st = follow ? fs.statSync(P(0), { bigint: true }) : fs.lstatSync(P(0), { bigint: true });
        return `${st.atimeNs} ${st.mtimeNs}`;
      }
      case 'create':
        fs.writeFileSync(P(0), op.data!, { flag: String(op.args[1]) });
        return 'ok';
      case 'pwrite': {
        const fd = fs.openSync(P(0), 'r+');
        try {
          return `wrote ${fs.writeSync(fd, op.data!, 0, op.data!.length, Number(op.args[1]))}`;
        } finally {
          fs.closeSync(fd);
        }
      }
      case 'append':
        fs.appendFileSync(P(0), op.data!);
        return 'ok';
      case 'truncate':
        fs.truncateSync(P(0), Number(op.args[1]));
        return 'ok';
      case 'rename':
        fs.renameSync(P(0), P(1));
        return 'ok';
      case 'unlink':
        fs.unlinkSync(P(0));
        return 'ok';
      case 'mkdir':
        fs.mkdirSync(P(0), { mode: Number(op.args[1]) });
        return 'ok';
      case 'rmdir':
        fs.rmdirSync(P(0));
        return 'ok';
      case 'symlink':
        fs.symlinkSync(String(op.args[0]), P(1));
        return 'ok';
      case 'link':
        fs.linkSync(P(0), P(1));
        return 'ok';
      case 'chmod':
        fs.chmodSync(P(0), Number(op.args[1]));
        return 'ok';
      case 'skeleton':
        fs.mkdirSync(path.join(root, 'd0/e0'), { recursive: true });
        fs.mkdirSync(path.join(root, 'd1/e1'), { recursive: true });
        return 'ok';
      case 'readdir':
        return fs.readdirSync(P(0)).sort().join(',');
      case 'stat': {
        const st = fs.lstatSync(P(0));
        const type = typeOf(P(0), false);
        // Directory sizes are the backing fs's business; same fs kind on both sides anyway.
        return `${type} ${(st.mode & 0o7777).toString(8)} ${type === 'd' ? '-' : st.size} nlink=${type === 'd' ? '-' : st.nlink} ${st.uid}:${st.gid} rdev=${st.rdev}`;
      }
      case 'read':
        return sha(fs.readFileSync(P(0)));
    }
    return 'unknown op';
  } catch (e) {
    return `E:${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
}

/** Type, mode, size, content hash and link target of every entry, sorted. */
function snapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const full = path.join(root, r);
      const st = fs.lstatSync(full);
      const mode = (st.mode & 0o7777).toString(8);
      const owner = `${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out.push(`${r} l ${fs.readlinkSync(full)} ${owner}`);
      else if (st.isDirectory()) {
        out.push(`${r} d ${mode} ${owner}`);
        walk(r);
      } else if (st.isFile()) out.push(`${r} f ${mode} ${st.size} ${sha(fs.readFileSync(full))} nlink=${st.nlink} ${owner}`);
      else out.push(`${r} ${typeOf(full, false)} ${mode} ${owner} rdev=${st.rdev}`);
    }
  };
  walk('');
  return out;
}

const seeds = process.env.JJFS_DIFF_SEED
  ? [Number(process.env.JJFS_DIFF_SEED)]
  : Array.from({ length: Number(process.env.JJFS_DIFF_SEEDS ?? 4) }, (_, i) => 0x1234 + i * 7919);
const opsPerSeed = Number(process.env.JJFS_DIFF_OPS ?? 2500);

describe('jjfs mount: randomized differential test against a native directory', () => {
  let m: ServedMount;
  let native: string;
  beforeAll(async () => {
    m = await serveMount({
      setup: (b) => fs.mkdirSync(path.join(b, '.jj', 'store'), { recursive: true }),
    });
    native = fs.mkdtempSync(path.join(os.tmpdir(), 'jjfs-fuse-diff-'));
  });
  afterAll(async () => {
    await m?.stop();
    if (native) fs.rmSync(native, { recursive: true, force: true });
  });

  for (const seed of seeds) {
    it(`seed ${seed}: ${opsPerSeed} ops give the same results and the same tree`, async () => {
      const work = `s${seed}`;
      const nroot = path.join(native, work);
      const mroot = path.join(m.mnt, work);
      fs.mkdirSync(nroot);
      fs.mkdirSync(mroot);
      const rnd = prng(seed);
      let succeeded = 0;
      const okByKind = new Map<string, number>();
      for (let i = 0; i < opsPerSeed; i++) {
        // Yield now and then: a long synchronous stretch starves vitest's worker RPC.
        if (i % 500 === 499) await new Promise((r) => setImmediate(r));
        const op = genOp(rnd);
        const want = apply(nroot, op);
        const got = apply(mroot, op);
        if (want !== got) {
          throw new Error(
            `mismatch at seed ${seed} op #${i} ${op.kind}(${op.args.join(', ')}${op.data ? `, ${op.data.length} bytes` : ''}): ` +
              `native=${want} mount=${got}\nreproduce: JJFS_DIFF_SEED=${seed} JJFS_DIFF_OPS=${i + 1}`,
          );
        }
        if (!want.startsWith('E:')) {
          succeeded++;
          okByKind.set(op.kind, (okByKind.get(op.kind) ?? 0) + 1);
        }
      }
      // Guard against a degenerate generator that only produces errors.
      expect(succeeded).toBeGreaterThan(opsPerSeed * 0.25);
      if (opsPerSeed >= 1000) {
        for (const kind of ['mkfifo', 'socket', 'mknod', 'chown', 'utimes', 'link', 'chmod']) expect(okByKind.get(kind) ?? 0, kind).toBeGreaterThan(0);
      }
      expect(snapshot(mroot)).toEqual(snapshot(nroot));
      expect(snapshot(path.join(m.backing, work))).toEqual(snapshot(nroot));
      expect(fs.readdirSync(m.mnt)).not.toContain('.jj');
      fs.rmSync(mroot, { recursive: true, force: true });
      fs.rmSync(nroot, { recursive: true, force: true });
    });
  }
});
