import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JjfsEnv } from './helpers/jjfs-env.js';

let env: JjfsEnv;
let socketPath: string;
beforeAll(async () => {
  env = await JjfsEnv.create();
  const r = await env.run(['start']);
  if (r.code !== 0) throw new Error(r.stderr);
  socketPath = path.join(env.home, 'daemon.sock');
});
afterAll(async () => {
  await env.cleanup();
});

/** Sends raw bytes and collects newline-delimited responses until `count` arrive or the socket closes. */
function exchange(payload: string | Buffer, count = 1, timeoutMs = 10_000): Promise<{ lines: unknown[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    const lines: unknown[] = [];
    let buffer = '';
    let closed = false;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ lines, closed });
    }, timeoutMs);
    socket.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        lines.push(JSON.parse(buffer.slice(0, nl)));
        buffer = buffer.slice(nl + 1);
      }
      if (lines.length >= count) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ lines, closed });
      }
    });
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ lines, closed });
    });
    socket.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'EPIPE' && (e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e);
    });
    socket.write(payload);
  });
}

const req = (method: string, params: unknown, id = 1) => `${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`;
const errorCode = (line: unknown) => (line as { error?: { code: number } }).error?.code;

async function stillServes(): Promise<void> {
  const { lines } = await exchange(req('hello', { client: 'test', protocol: 1 }));
  expect((lines[0] as { result: { pid: number } }).result.pid).toBeGreaterThan(0);
}

describe('daemon robustness against bad clients', () => {
  it('answers malformed JSON with a parse error', async () => {
    const { lines } = await exchange('{"jsonrpc": "2.0", "id": 1, "method": \n');
    expect(errorCode(lines[0])).toBe(-32700);
    await stillServes();
  });

  it('answers an unknown method with MethodNotFound', async () => {
    const { lines } = await exchange(req('no.such.method', {}));
    expect(errorCode(lines[0])).toBe(-32601);
  });

  it('answers wrong params with InvalidParams naming the field', async () => {
    const { lines } = await exchange(req('init', { name: 42 }) + req('init', { nmae: 'x' }, 2), 2);
    expect(errorCode(lines[0])).toBe(-32602);
    expect(JSON.stringify(lines[0])).toMatch(/Parameter .*name.* must be a string/);
    expect(errorCode(lines[1])).toBe(-32602);
    expect(JSON.stringify(lines[1])).toContain('Unknown parameter');
  });

  it('refuses a 100 MB request, closes that connection, keeps serving others', async () => {
    const huge = Buffer.alloc(100 * 1024 * 1024, 0x61);
    const { lines, closed } = await exchange(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"'), huge]), 1, 30_000);
    expect(errorCode(lines[0])).toBe(-32600);
    expect(JSON.stringify(lines[0])).toMatch(/larger than/);
    expect(closed || lines.length === 1).toBe(true);
    await stillServes();
  }, 60_000);

  it('serves others while a client connects and never sends', async () => {
    const silent = net.createConnection(socketPath);
    await new Promise((r) => silent.once('connect', r));
    try {
      await stillServes();
    } finally {
      silent.destroy();
    }
  });

  it('answers 200 concurrent clients', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => exchange(req('status', {}, i))));
    for (const { lines } of results) {
      expect((lines[0] as { result?: { pid: number } }).result?.pid).toBeGreaterThan(0);
    }
  }, 60_000);

  it('answers a batch and ignores notifications', async () => {
    const batch = `${JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'hello', params: { client: 't', protocol: 1 } },
      { jsonrpc: '2.0', method: 'list', params: {} },
    ])}\n`;
    const { lines } = await exchange(batch);
    expect(Array.isArray(lines[0])).toBe(true);
    expect((lines[0] as unknown[]).length).toBe(1);
  });

  it('survives garbage bytes and binary noise', async () => {
    const { lines } = await exchange(Buffer.concat([Buffer.from([0, 255, 254, 10]), Buffer.from('[]\n'), Buffer.from('null\n')]), 3);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    await stillServes();
  });
});
