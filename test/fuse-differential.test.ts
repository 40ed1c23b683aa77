/**
 * Randomized differential test: the same seeded sequence of file-system operations runs on a
 * native temp dir and through a jjfs mount; every result (value or error code) and the final trees
 * (type, content, mode bits, symlink targets) must match.
 *
 * CI form: a few seeds × a few thousand ops (well under 60 s). Longer runs:
 *   JJFS_DIFF_SEEDS=20 JJFS_DIFF_OPS=20000 npx vitest run test/fuse-differential.test.ts
 * Reproduce one failure: JJFS_DIFF_SEED=<seed> (printed with the op index on mismatch).
 */
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
  if (r < 0.85) return { kind: 'readdir', args: [pick(DIRS)] };
  if (r < 0.93) return { kind: 'stat', args: [p()] };
  return { kind: 'read', args: [p()] };
}

function sha(b: Buffer): string {
  return crypto.createHash('sha1').update(b).digest('hex').slice(0, 12);
}

/** Applies an op under `root`; returns a comparable description of the result. */
function apply(root: string, op: Op): Outcome {
  const P = (i: number): string => path.join(root, String(op.args[i]));
  try {
    switch (op.kind) {
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
        const type = st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : '?';
        // Directory sizes are the backing fs's business; same fs kind on both sides anyway.
        return `${type} ${(st.mode & 0o7777).toString(8)} ${type === 'd' ? '-' : st.size} nlink=${type === 'd' ? '-' : st.nlink}`;
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
      if (st.isSymbolicLink()) out.push(`${r} l ${fs.readlinkSync(full)}`);
      else if (st.isDirectory()) {
        out.push(`${r} d ${mode}`);
        walk(r);
      } else out.push(`${r} f ${mode} ${st.size} ${sha(fs.readFileSync(full))}`);
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
        if (!want.startsWith('E:')) succeeded++;
      }
      // Guard against a degenerate generator that only produces errors.
      expect(succeeded).toBeGreaterThan(opsPerSeed * 0.25);
      expect(snapshot(mroot)).toEqual(snapshot(nroot));
      expect(snapshot(path.join(m.backing, work))).toEqual(snapshot(nroot));
      expect(fs.readdirSync(m.mnt)).not.toContain('.jj');
      fs.rmSync(mroot, { recursive: true, force: true });
      fs.rmSync(nroot, { recursive: true, force: true });
    });
  }
});
