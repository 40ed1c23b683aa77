import net from 'node:net';
import { createJSONRPCErrorResponse, JSONRPCServer, type JSONRPCResponse } from 'json-rpc-2.0';
import { JjfsError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { codeOfKind, StandardCode } from './errors.js';
import { LineDecoder } from './framing.js';
import { MAX_REQUEST_BYTES, type MethodName, paramReaders, type ParamsOf, type ResultOf } from './protocol.js';

/** The daemon side of every method. */
export type Handlers = { [M in MethodName]: (params: ParamsOf<M>) => Promise<ResultOf<M>> };

export interface RpcServerOptions {
  handlers: Handlers;
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
    for (const name of Object.keys(paramReaders) as MethodName[]) this.register(name);
    this.server = net.createServer((socket) => this.accept(socket));
  }

  private register<M extends MethodName>(name: M): void {
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
