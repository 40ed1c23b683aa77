import net from 'node:net';
import { JjfsError, messageOf } from '../errors.js';
import { kindOfCode } from './errors.js';
import { LineDecoder } from './framing.js';
import type { MethodName, MonitorEvent, ParamsOf, ResultOf } from './protocol.js';
import { MONITOR_NOTIFICATION } from './wire-constants.js';

/** Responses can be large (status of many mounts); this only guards against a runaway peer. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** A JSON-RPC 2.0 response as it comes off the wire (checked only as far as we read it). */
interface RpcResponse {
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string };
}

/**
 * The code of a failure that never reached the daemon or never came back (connection closed
 * before the answer); it maps to kind 'internal', as it did with json-rpc-2.0's client, whose
 * default code this is.
 */
const NO_ANSWER_CODE = 0;

const noAnswer = (message: string): RpcResponse => ({ error: { code: NO_ANSWER_CODE, message } });

/** A connection to the daemon. States: open → closed; pending requests are rejected on close. */
/**
 * A connection to the daemon. States: open → closed; pending requests are rejected on close.
 * The client side of JSON-RPC is written here (an id → waiter map) rather than taken from
 * json-rpc-2.0: that package is CommonJS, and loading it costs every CLI command a CommonJS loader
 * start, a large share of `jjfs list`'s time. The daemon's server still uses it.
 */
export class RpcClient {
  /** Waiters of the requests sent and not yet answered, by id. */
  private readonly pending = new Map<number, (response: RpcResponse) => void>();
  private closed = false;
  private onEvent: ((event: MonitorEvent) => void) | undefined;
  private onClose: (() => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    const decoder = new LineDecoder(
      MAX_RESPONSE_BYTES,
      (line) => {
        try {
          this.receive(JSON.parse(line) as unknown);
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
      this.rejectAllPending(`The daemon closed the connection${error ? ` (${error.message})` : ''}; see the log for why.`);
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
    const response = await this.send(method, params);
    if (response.error) {
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

  /** Sends one request and resolves with its response (never rejects: a failure is an error response). */
  private send(method: MethodName, params: unknown): Promise<RpcResponse> {
    const id = this.nextId();
    if (this.closed) return Promise.resolve(noAnswer('connection closed'));
    return new Promise((resolve) => {
      // The waiter is registered before the write: the answer cannot arrive before it exists.
      this.pending.set(id, resolve);
      this.socket.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  /** One message from the daemon: a monitor event, or the response (or batch) to a request. */
  private receive(message: unknown): void {
    if (isObject(message) && message['method'] === MONITOR_NOTIFICATION) {
      this.onEvent?.(message['params'] as MonitorEvent);
      return;
    }
    for (const response of Array.isArray(message) ? (message as unknown[]) : [message]) {
      if (!isObject(response) || typeof response['id'] !== 'number') continue;
      const waiter = this.pending.get(response['id']);
      if (!waiter) continue; // not ours, or already failed by close
      this.pending.delete(response['id']);
      waiter(response);
    }
  }

  private rejectAllPending(message: string): void {
    const waiters = [...this.pending.values()];
    this.pending.clear();
    for (const waiter of waiters) waiter(noAnswer(message));
  }

  /** Closes the connection. Its owner is done with it: requests still waiting are not answered. */
  close(): void {
    this.closed = true;
    this.socket.end();
    this.socket.destroy();
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
