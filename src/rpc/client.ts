import net from 'node:net';
import { JSONRPCClient, type JSONRPCResponse } from 'json-rpc-2.0';
import { JjfsError, messageOf } from '../errors.js';
import { kindOfCode } from './errors.js';
import { LineDecoder } from './framing.js';
import { MONITOR_NOTIFICATION, type MethodName, type MonitorEvent, type ParamsOf, type ResultOf } from './protocol.js';

/** Responses can be large (status of many mounts); this only guards against a runaway peer. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** A connection to the daemon. States: open → closed; pending requests are rejected on close. */
export class RpcClient {
  private readonly rpc: JSONRPCClient;
  private closed = false;
  private onEvent: ((event: MonitorEvent) => void) | undefined;
  private onClose: (() => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    this.rpc = new JSONRPCClient((request) => {
      if (this.closed) return Promise.reject(new Error('connection closed'));
      socket.write(`${JSON.stringify(request)}\n`);
      return Promise.resolve();
    });
    const decoder = new LineDecoder(
      MAX_RESPONSE_BYTES,
      (line) => {
        try {
          const message = JSON.parse(line) as JSONRPCResponse | { method?: unknown; params?: unknown };
          if ('method' in message && message.method === MONITOR_NOTIFICATION) this.onEvent?.(message.params as MonitorEvent);
          else this.rpc.receive(message as JSONRPCResponse);
        } catch {
          // a malformed response fails only its own request, by timeout or close below
        }
      },
      () => socket.destroy(new Error('response too large')),
    );
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    const onGone = (error?: Error): void => {
      if (this.closed) return;
      this.closed = true;
      this.onClose?.();
      this.rpc.rejectAllPendingRequests(
        `The daemon closed the connection${error ? ` (${error.message})` : ''}; see the log for why.`,
      );
    };
    socket.on('error', onGone);
    socket.on('close', () => onGone());
  }

  /** Connects to the socket; rejects with a daemon-unavailable JjfsError when nobody listens. */
  static connect(socketPath: string, timeoutMs = 2_000): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new JjfsError('daemon-unavailable', `Timed out connecting to the daemon at ${socketPath}.`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RpcClient(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new JjfsError('daemon-unavailable', `No daemon answers at ${socketPath} (${messageOf(error)}).`));
      });
    });
  }

  /** Calls `method`; a JSON-RPC error becomes a JjfsError of the matching kind. */
  async request<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    const response = await this.rpc.requestAdvanced({ jsonrpc: '2.0', id: this.nextId(), method, params });
    if ('error' in response && response.error) {
      throw new JjfsError(kindOfCode(response.error.code), response.error.message, { code: response.error.code });
    }
    return (response as { result: ResultOf<M> }).result;
  }

  /**
   * Turns this connection into a `monitor` stream: `onEvent` gets each event, `onClose` runs when
   * the daemon goes away. Resolves once subscribed.
   */
  async monitor(params: ParamsOf<'monitor'>, onEvent: (event: MonitorEvent) => void, onClose: () => void): Promise<void> {
    this.onEvent = onEvent;
    this.onClose = onClose;
    await this.request('monitor', params);
  }

  private id = 0;
  private nextId(): number {
    this.id += 1;
    return this.id;
  }

  close(): void {
    this.closed = true;
    this.socket.end();
    this.socket.destroy();
  }
}
