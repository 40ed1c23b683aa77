import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from './harness.test-support.js';
import type { WorkspaceSpec } from './repo-sync.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function measure(n: number, samples: number): Promise<number[]> {
  h = await makeHarness(n, { options: { debounceMs: 20, maxWaitMs: 200 } });
  const ws = h.ws;
  const out: number[] = [];
  for (let s = 0; s < samples; s++) {
    const src = ws[s % n] as WorkspaceSpec;
    const dst = ws[(s + 1) % n] as WorkspaceSpec;
    const content = `sample ${s}\n`;
    const t0 = performance.now();
    await writeFile(join(src.dir, 'lat.txt'), content);
    h.engine.markDirty(src.id);
    for (;;) {
      const got = await readFile(join(dst.dir, 'lat.txt'), 'utf8').catch(() => '');
      if (got === content) break;
      if (performance.now() - t0 > 10_000) throw new Error('latency sample timed out');
      await new Promise((r) => setTimeout(r, 2));
    }
    out.push(performance.now() - t0);
    await h.engine.syncNow();
  }
  await h.close();
  h = undefined;
  return out.sort((a, b) => a - b);
}

describe('latency: write → visible in another workspace (debounce 20 ms)', () => {
  for (const n of [2, 5]) {
    it(`${n} workspaces`, async () => {
      const v = await measure(n, 10);
      const med = v[Math.floor(v.length / 2)] ?? 0;
      console.log(`latency ${n} ws: median ${med.toFixed(0)} ms, min ${v[0]?.toFixed(0)}, max ${v.at(-1)?.toFixed(0)}`);
      expect(med).toBeLessThan(2000);
    }, 120_000);
  }
});
