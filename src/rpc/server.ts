import net from 'node:net';
import { createJSONRPCErrorResponse, JSONRPCServer, type JSONRPCResponse } from 'json-rpc-2.0';
import { JjfsError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { codeOfKind, StandardCode } from './errors.js';
import { LineDecoder } from './framing.js';
import { MAX_REQUEST_BYTES, MONITOR_NOTIFICATION, type MethodName, type MonitorEvent, paramReaders, type ParamsOf, type ResultOf } from './protocol.js';

/** The daemon side of every request/response method (`monitor` is a subscription, see below). */
export type Handlers = { [M in Exclude<MethodName, 'monitor'>]: (params: ParamsOf<M>) => Promise<ResultOf<M>> };

/** Subscribes a `monitor` connection: `push` sends one event; the returned function unsubscribes. */
export type Subscribe = (params: ParamsOf<'monitor'>, push: (event: MonitorEvent) => void) => () => void;

export interface RpcServerOptions {
  handlers: Handlers;
  /** Serves `monitor`; without it the method answers MethodNotFound. */
  subscribe?: Subscribe;
  log: Logger;
  /** A connection with no complete request for this long is closed (ms). */
  idleTimeoutMs?: number;
}

/**
 * JSON-RPC 2.0 over a Unix socket, one JSON message per line. Robust to bad clients: malformed
 * JSON gets a parse error, unknown methods MethodNotFound, bad params InvalidParams, oversized
 * lines an InvalidRequest and a closed connection, silent clients a timeout. A handler that throws
 * a JjfsError answers with its kind's code; anything else becomes InternalError and is logged.
 */
export class RpcServer {
  private readonly rpc = new JSONRPCServer();
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private inFlight = 0;
  private accepting = true;

  constructor(private readonly options: RpcServerOptions) {
    this.rpc.mapErrorToJSONRPCErrorResponse = (id, error: unknown) => {
      if (error instanceof JjfsError) return createJSONRPCErrorResponse(id, codeOfKind(error.kind), error.message);
      options.log.error('handler failed', { error: messageOf(error), stack: (error as Error)?.stack });
      return createJSONRPCErrorResponse(id, StandardCode.InternalError, `Internal error: ${messageOf(error)}`);
    };
    for (const name of Object.keys(paramReaders) as MethodName[]) if (name !== 'monitor') this.register(name);
    this.server = net.createServer((socket) => this.accept(socket));
  }

  private register<M extends Exclude<MethodName, 'monitor'>>(name: M): void {
    const read = paramReaders[name];
    const handler = this.options.handlers[name];
    this.rpc.addMethodAdvanced(name, async (request) => {
      let params: ParamsOf<M>;
      try {
        params = read(request.params);
      } catch (error) {
        return request.id === undefined
          ? null
          : createJSONRPCErrorResponse(request.id, StandardCode.InvalidParams, messageOf(error));
      }
      try {
        const result = await handler(params);
        return request.id === undefined ? null : { jsonrpc: '2.0', id: request.id, result };
      } catch (error) {
        return request.id === undefined ? null : this.rpc.mapErrorToJSONRPCErrorResponse(request.id, error);
      }
    });
  }

  /** Starts listening on `socketPath` (which must not exist). */
  listen(socketPath: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(socketPath, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  private accept(socket: net.Socket): void {
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setTimeout(this.options.idleTimeoutMs ?? 60_000, () => socket.destroy());
    const send = (response: JSONRPCResponse | JSONRPCResponse[] | null, batch = false): void => {
      if (response === null || socket.destroyed) return;
      // JSON-RPC 2.0: a batch is answered with an array even when only one call needed an answer
      // (json-rpc-2.0 unwraps single answers).
      const body = batch && !Array.isArray(response) ? [response] : response;
      socket.write(`${JSON.stringify(body)}\n`);
    };
    const decoder = new LineDecoder(
      MAX_REQUEST_BYTES,
      (line) => {
        if (this.monitorRequest(line, socket, send)) return;
        this.inFlight += 1;
        this.rpc
          .receiveJSON(line)
          .then((response) => send(response, line.trimStart().startsWith('[')), (error: unknown) => {
            this.options.log.error('request failed', { error: messageOf(error) });
          })
          .then(() => {
            this.inFlight -= 1;
          });
      },
      () => {
        send(
          createJSONRPCErrorResponse(
            null,
            StandardCode.InvalidRequest,
            `Request larger than ${MAX_REQUEST_BYTES} bytes; closing the connection.`,
          ),
        );
        socket.end();
      },
    );
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  /**
   * A `monitor` request turns its connection into an event stream: answered at once, then one
   * `event` notification per line until the client closes it (no idle timeout from then on).
   * Returns false for any other line (the normal request path handles it).
   */
  private monitorRequest(line: string, socket: net.Socket, send: (r: JSONRPCResponse | null) => void): boolean {
    if (!line.includes('"monitor"')) return false;
    let request: { id?: unknown; method?: unknown; params?: unknown };
    try {
      request = JSON.parse(line) as typeof request;
    } catch {
      return false;
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request) || request.method !== 'monitor') return false;
    const id = typeof request.id === 'number' || typeof request.id === 'string' ? request.id : null;
    const subscribe = this.options.subscribe;
    if (!subscribe) {
      send(createJSONRPCErrorResponse(id, StandardCode.MethodNotFound, 'Method not found: monitor'));
      return true;
    }
    let params: ParamsOf<'monitor'>;
    try {
      params = paramReaders.monitor(request.params ?? {});
    } catch (error) {
      send(createJSONRPCErrorResponse(id, StandardCode.InvalidParams, messageOf(error)));
      return true;
    }
    let unsubscribe: () => void;
    try {
      unsubscribe = subscribe(params, (event) => {
        if (!socket.destroyed) socket.write(`${JSON.stringify({ jsonrpc: '2.0', method: MONITOR_NOTIFICATION, params: event })}\n`);
      });
    } catch (error) {
      send(this.rpc.mapErrorToJSONRPCErrorResponse(id, error));
      return true;
    }
    socket.setTimeout(0);
    socket.once('close', unsubscribe);
    send({ jsonrpc: '2.0', id, result: { subscribed: true } });
    return true;
  }

  /**
   * Stops accepting connections and waits (bounded) for requests in flight to be answered, then
   * closes every connection. Safe to call twice.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.accepting = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const deadline = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const socket of this.sockets) socket.end();
    setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, 200).unref();
    await closed;
  }
}
