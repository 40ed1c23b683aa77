import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JjfsError } from '../errors.js';
import { RpcClient } from './client.js';
import { JjfsCode } from './errors.js';
import { MONITOR_NOTIFICATION } from './wire-constants.js';

let dir: string | undefined;
let server: net.Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A fake daemon: `answer` gets each request line and the socket. */
async function fakeDaemon(answer: (request: { id: number; method: string }, socket: net.Socket) => void): Promise<string> {
  dir = mkdtempSync(path.join(os.tmpdir(), 'jjfs-rpc-'));
  const socketPath = path.join(dir, 's');
  server = net.createServer((socket) => {
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        answer(JSON.parse(line) as { id: number; method: string }, socket);
      }
    });
  });
  await new Promise((r) => server!.listen(socketPath, () => r(undefined)));
  return socketPath;
}

describe('RpcClient', () => {
  it('matches answers to requests by id, even out of order, and passes monitor events on', async () => {
    const held: { id: number }[] = [];
    const socketPath = await fakeDaemon((request, socket) => {
      if (request.method === 'monitor') {
        socket.write(`${JSON.stringify({ jsonrpc: '2.0', method: MONITOR_NOTIFICATION, params: { time: 't', repo: 'r', type: 'x' } })}\n`);
        socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: request.id, result: {} })}\n`);
        return;
      }
      held.push(request);
      if (held.length === 2) for (const r of held.reverse()) socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: r.id, result: { mounts: [`m${r.id}`] } })}\n`);
    });
    const client = await RpcClient.connect(socketPath);
    const [a, b] = await Promise.all([client.request('list', {}), client.request('list', {})]);
    expect([a, b]).toEqual([{ mounts: ['m1'] }, { mounts: ['m2'] }]);
    const events: unknown[] = [];
    await client.monitor({}, (e) => events.push(e), () => undefined);
    expect(events).toEqual([{ time: 't', repo: 'r', type: 'x' }]);
    client.close();
  });

  it('turns an error response into a JjfsError of its kind, and a closed connection into internal', async () => {
    const socketPath = await fakeDaemon((request, socket) => {
      if (request.method === 'list') socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: request.id, error: { code: JjfsCode['not-found'], message: 'no such repo' } })}\n`);
      else socket.destroy();
    });
    const client = await RpcClient.connect(socketPath);
    await expect(client.request('list', {})).rejects.toMatchObject({ kind: 'not-found', message: 'no such repo' });
    const gone = await client.request('status', {}).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(JjfsError);
    expect(gone).toMatchObject({ kind: 'internal' });
    expect((gone as Error).message).toMatch(/^The daemon closed the connection/);
    await expect(client.request('list', {})).rejects.toMatchObject({ kind: 'internal', message: 'connection closed' });
  });
});
