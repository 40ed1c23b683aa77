import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitRunner } from './git.js';

/**
 * Reading and writing objects of jj's git store with git plumbing. jj's commit ids are git commit
 * ids (git backend), so the sides of a conflict can be read here in three or four short git
 * processes instead of a jj process per side and path. Nothing here touches a working copy or a ref.
 */

/** One entry of a git tree. */
export interface TreeEntry {
  /** `100644`, `100755` (executable), `120000` (symlink), `040000` (tree), `160000` (submodule) */
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  oid: string;
}

/** Git's mode of an executable file. */
export const EXECUTABLE = '100755';
/** Git's mode of a symlink (the blob holds the target). */
export const SYMLINK = '120000';

/** True for a regular file (executable or not): the only entries a text merge may touch. */
export function isRegularFile(e: TreeEntry | undefined): e is TreeEntry {
  return e !== undefined && e.type === 'blob' && e.mode !== SYMLINK;
}

// Paths are literal: a file named `*.md` or `:x` must not be read as a pathspec pattern.
const LITERAL = { GIT_LITERAL_PATHSPECS: '1' };

function parseLsTree(out: string, prefix = ''): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  for (const record of out.split('\0')) {
    if (record === '') continue;
    const tab = record.indexOf('\t');
    const [mode = '', type = '', oid = ''] = record.slice(0, tab).split(' ');
    if (type !== 'blob' && type !== 'tree' && type !== 'commit') continue;
    entries.set(prefix + record.slice(tab + 1), { mode, type, oid });
  }
  return entries;
}

/** The entries of `paths` in commit (or tree) `rev`; a path absent there is absent from the map. */
export async function readEntries(git: GitRunner, gitDir: string, rev: string, paths: readonly string[]): Promise<Map<string, TreeEntry>> {
  if (paths.length === 0) return new Map();
  const r = await git.run(['ls-tree', '-z', '--full-tree', rev, '--', ...paths], { gitDir, env: LITERAL, summary: 'git ls-tree' });
  return parseLsTree(r.stdout);
}

/** Every blob (and submodule) below tree `oid`, keyed by path under `prefix`. */
export async function readSubtree(git: GitRunner, gitDir: string, oid: string, prefix: string): Promise<Map<string, TreeEntry>> {
  const r = await git.run(['ls-tree', '-z', '-r', oid], { gitDir, summary: 'git ls-tree' });
  return parseLsTree(r.stdout, `${prefix}/`);
}

/** The contents of blobs `oids`, read in one `git cat-file --batch`. */
export async function readBlobs(git: GitRunner, gitDir: string, oids: Iterable<string>): Promise<Map<string, Buffer>> {
  const wanted = [...new Set(oids)];
  const blobs = new Map<string, Buffer>();
  if (wanted.length === 0) return blobs;
  const r = await git.run(['cat-file', '--batch'], { gitDir, input: `${wanted.join('\n')}\n`, binary: true, summary: 'git cat-file' });
  const out = r.bytes ?? Buffer.alloc(0);
  let at = 0;
  while (at < out.length) {
    const nl = out.indexOf(0x0a, at);
    if (nl < 0) break;
    const [oid = '', type = '', size = ''] = out.subarray(at, nl).toString('latin1').split(' ');
    if (type === 'missing' || size === '') throw new Error(`object ${oid} is missing from ${gitDir}`);
    const length = Number(size);
    blobs.set(oid, out.subarray(nl + 1, nl + 1 + length));
    at = nl + 1 + length + 1; // contents, then a newline
  }
  for (const oid of wanted) if (!blobs.has(oid)) throw new Error(`git cat-file did not return object ${oid}`);
  return blobs;
}

/** Stores `bytes` as a blob and returns its id. */
export async function writeBlob(git: GitRunner, gitDir: string, bytes: Buffer): Promise<string> {
  return (await git.run(['hash-object', '-w', '--stdin'], { gitDir, input: bytes, summary: 'git hash-object' })).stdout.trim();
}

/** A path of a tree set to an entry as stored, to new file bytes, or (undefined) removed. */
export interface TreeChange {
  path: string;
  put: { entry: TreeEntry } | { bytes: Buffer; mode: string } | undefined;
}

/** Writes `tree` with `changes` applied (blobs only), through a private index; returns the new tree. */
export async function rewriteTree(git: GitRunner, gitDir: string, tree: string, changes: readonly TreeChange[]): Promise<string> {
  const indexFile = join(gitDir, `jjfs-${randomUUID()}.index`);
  const env = { GIT_INDEX_FILE: indexFile };
  try {
    await git.run(['read-tree', tree], { gitDir, env });
    const records: string[] = [];
    for (const { path, put } of changes) {
      if (put === undefined) records.push(`0 ${'0'.repeat(40)}\t${path}\0`);
      else if ('bytes' in put) records.push(`${put.mode} ${await writeBlob(git, gitDir, put.bytes)}\t${path}\0`);
      else records.push(`${put.entry.mode} ${put.entry.oid}\t${path}\0`);
    }
    // -z: paths may hold any byte but NUL.
    await git.run(['update-index', '-z', '--index-info'], { gitDir, env, input: records.join('') });
    return (await git.run(['write-tree'], { gitDir, env })).stdout.trim();
  } finally {
    await rm(indexFile, { force: true });
  }
}
