/**
 * Mount lifecycle through real mounts: "Mountpoint in use" is reported clearly, a stale mount left
 * by a killed server is cleared before mounting again, and unmounting is lazy (a shell inside the
 * mount keeps working while the mount disappears from the namespace).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serveMount, type ServedMount } from './helpers/serve-harness.js';

const isMounted = (mnt: string): boolean =>
  fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mnt);

describe('jjfs mount: lifecycle', () => {
  const servers: ServedMount[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0).reverse()) await s.stop();
    for (const d of dirs.splice(0)) {
      if (isMounted(d)) spawnSync('umount', ['-l', d]);
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
  const sharedMountPoint = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'jjfs-fuse-mnt-'));
    dirs.push(d);
    return d;
  };

  it('reports "Mountpoint in use" when the mount point is already mounted', async () => {
    const mnt = sharedMountPoint();
    servers.push(await serveMount({ mnt }));
    const err = await serveMount({ mnt }).then(
      (s) => (servers.push(s), null),
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/Mountpoint in use: .* is already a mount point\. Unmount it first/);
  });

  it('clears a stale mount left by a killed server and mounts again', async () => {
    const mnt = sharedMountPoint();
    const first = await serveMount({ mnt, setup: (b) => fs.writeFileSync(path.join(b, 'one'), '1') });
    servers.push(first);
    await first.crash();
    expect(isMounted(mnt)).toBe(true);
    expect(spawnSync('stat', [mnt], { encoding: 'utf8' }).stderr).toMatch(/Transport endpoint is not connected/);
    const second = await serveMount({ mnt, setup: (b) => fs.writeFileSync(path.join(b, 'two'), '2') });
    servers.push(second);
    expect(fs.readdirSync(mnt)).toEqual(['two']);
  });

  it('unmounts lazily: a shell inside keeps working, the mount leaves the namespace', async () => {
    const m = await serveMount({ setup: (b) => fs.writeFileSync(path.join(b, 'f.txt'), 'inside\n') });
    servers.push(m);
    // A shell whose cwd is in the mount; it reads a file after the unmount.
    const shell = spawn('bash', ['-c', 'read line; cat f.txt; echo more > g.txt; cat g.txt'], {
      cwd: m.mnt,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    shell.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise((r) => setTimeout(r, 200));
    await m.unmountOnly();
    expect(isMounted(m.mnt)).toBe(false);
    shell.stdin.write('go\n');
    const code = await new Promise<number | null>((r) => shell.on('exit', r));
    expect(code).toBe(0);
    expect(out).toBe('inside\nmore\n');
    expect(fs.readFileSync(path.join(m.backing, 'g.txt'), 'utf8')).toBe('more\n');
  });
});
