/**
 * getattr answered on the FUSE thread (src/fs/mount.ts, "getattr without the JS thread"): while
 * the mount's JS thread is blocked, a stat through the mount still answers — exactly what the JS
 * getattr would (the backing file's attributes, `.jj` absent) — and while the write gate is held
 * it does not (lookups wait for jj, as they always did).
 */
import fs from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serveMount, type ServedMount } from './helpers/serve-harness.js';

/** Resolves with how `p` settled, or 'pending' if it has not by the time `other` settles. */
async function settledBefore<T>(p: Promise<T>, other: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  const state = p.then(
    () => 'resolved' as const,
    () => 'rejected' as const,
  );
  return Promise.race([state, other.then(() => 'pending' as const)]);
}

describe('getattr off the JS thread', () => {
  let m: ServedMount;
  beforeEach(async () => {
    // No kernel caches (the serve-mount default): every stat below reaches the FUSE server.
    m = await serveMount({ setup: (b) => fs.mkdirSync(path.join(b, '.jj')) });
  });
  afterEach(async () => {
    await m?.stop();
  });
  const M = (p: string): string => path.join(m.mnt, p);
  const B = (p: string): string => path.join(m.backing, p);

  it('answers while the JS thread is blocked, with the attributes the backing file has', async () => {
    fs.mkdirSync(B('dir'));
    fs.writeFileSync(B('dir/file.txt'), 'twelve bytes');
    fs.utimesSync(B('dir/file.txt'), new Date('2021-03-04T05:06:07.123Z'), new Date('2021-03-04T05:06:07.123Z'));
    const { done } = await m.busy(5_000);
    const seen = stat(M('dir/file.txt'), { bigint: true });
    expect(await settledBefore(seen, done)).toBe('resolved');
    const st = await seen;
    const backing = fs.lstatSync(B('dir/file.txt'), { bigint: true });
    expect(st.size).toBe(12n);
    expect(st.mode).toBe(backing.mode);
    expect(st.mtimeNs).toBe(backing.mtimeNs);
    expect(st.ctimeNs).toBe(backing.ctimeNs);
    expect(st.nlink).toBe(backing.nlink);
    expect(st.uid).toBe(backing.uid);
    expect(st.ino).toBe(backing.ino % 2n ** 32n); // as the JS getattr reports it (fuse-native: 32 bits)
    // Absent and hidden names answer there too.
    await expect(stat(M('dir/none.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(M('.jj'))).rejects.toMatchObject({ code: 'ENOENT' });
    await done;
  });

  it('is not used while the write gate is held: a lookup waits for the release', async () => {
    await m.hold();
    fs.writeFileSync(B('late.txt'), 'written while jj held the gate');
    const seen = stat(M('late.txt'));
    // The JS thread is free (it answers the server's own commands) and the lookup still waits.
    const { done } = await m.busy(0);
    await done;
    expect(await settledBefore(seen, m.busy(200).then((b) => b.done))).toBe('pending');
    await m.release();
    expect((await seen).size).toBe(30);
  });
});
